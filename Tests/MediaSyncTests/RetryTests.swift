import Configuration
import Foundation
import Hashing
import LocalFS
import MediaSync
import SystemPackage
import TestSupport
import Testing

@Suite struct RetryTests {
    @Test func backoffDoublesFromTheBaseUpToTheCapWithBoundedJitter() {
        var p = MediaSyncConfig.RetryPolicy()
        p.baseDelaySeconds = 10
        p.maxDelaySeconds = 100
        p.jitterFraction = 0.2
        #expect(p.delay(afterAttempts: 1, random: 0) == 10)
        #expect(p.delay(afterAttempts: 2, random: 0) == 20)
        #expect(p.delay(afterAttempts: 4, random: 0) == 80)
        #expect(p.delay(afterAttempts: 5, random: 0) == 100)
        #expect(p.delay(afterAttempts: 500, random: 0) == 100)
        #expect(p.delay(afterAttempts: 1, random: 1) == 12)
        #expect(p.delay(afterAttempts: 1, random: -1) == 8)
        for _ in 0..<100 { #expect((8...12).contains(p.delay(afterAttempts: 1))) }
    }

    static func item(_ name: String) -> TransferItem {
        TransferItem(
            id: 0, localPath: FilePath("/media/\(name)"), identity: FileIdentity(size: 5, mtimeNanoseconds: 7, inode: 3, device: 1),
            remoteDirectory: "2025/01/01", remoteName: Array(name.utf8))
    }

    @Test func failuresWaitForTheirTurnAreQuarantinedAndReleased() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        var policy = MediaSyncConfig.RetryPolicy()
        policy.baseDelaySeconds = 100
        policy.jitterFraction = 0
        policy.maxAttempts = 3
        let a = Self.item("a.JPG"), b = Self.item("b.JPG")
        let files = [(a.localPath, a.identity), (b.localPath, b.identity)]
        let now = Date().timeIntervalSince1970
        let first = try store.recordFailure(destination: "nas", item: a, permanent: false, kind: "transient", message: "x", policy: policy, fingerprint: "f1", now: now)
        #expect(first.attempts == 1 && !first.quarantined && first.nextAttemptAt == now + 100)
        #expect(try store.isDeferred(files, destination: "nas", fingerprint: "f1", now: now + 50) == [true, false])
        #expect(try store.isDeferred(files, destination: "nas", fingerprint: "f1", now: now + 101) == [false, false])
        #expect(try store.isDeferred(files, destination: "other", fingerprint: "f1", now: now + 50) == [false, false])
        _ = try store.recordFailure(destination: "nas", item: a, permanent: false, kind: "transient", message: "x", policy: policy, fingerprint: "f1", now: now + 101)
        let third = try store.recordFailure(destination: "nas", item: a, permanent: false, kind: "transient", message: "x", policy: policy, fingerprint: "f1", now: now + 400)
        #expect(third.attempts == 3 && third.quarantined)
        #expect(try store.isDeferred(files, destination: "nas", fingerprint: "f1", now: now + 1_000_000) == [true, false])
        // A changed destination config lifts the quarantine.
        #expect(try store.isDeferred(files, destination: "nas", fingerprint: "f2", now: now + 1_000_000) == [false, false])
        // A permanent error quarantines at once; `queue retry` releases it.
        let permanent = try store.recordFailure(
            destination: "nas", item: b, permanent: true, kind: "permanent", message: "Permission denied", policy: policy, fingerprint: "f1", now: now)
        #expect(permanent.quarantined && permanent.attempts == 1)
        #expect(try store.failures(quarantinedOnly: true).count == 2)
        #expect(try store.releaseFailures(paths: [b.localPath]) == 1)
        #expect(try store.isDeferred(files, destination: "nas", fingerprint: "f1", now: now) == [true, false])
        // Success clears the record.
        try store.recordPlacements(
            [.init(item: a, remotePath: "/nas/a.JPG", sha256: SHA256Hasher.hash([1]), alreadyPresent: false)],
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 60)
        #expect(try store.failures().isEmpty)
    }
}
