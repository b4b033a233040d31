import Configuration
import Foundation
import GRDB
import Hashing
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// The real cycle and ledger (SQLite in a temp folder, real local files) against a scripted
/// destination: each scenario of the sync contract in milliseconds, without an sshd.
@Suite struct ScriptedEngineTests {
    static func bytes(_ n: Int, _ seed: UInt64) -> [UInt8] { TestFiles.pseudoRandomBytes(count: n, seed: seed) }

    func present(_ f: ScriptedFixture, _ destination: String) throws -> [StateStore.LedgerEntry] {
        try f.store.ledgerEntries(destination: destination, limit: 100_000).filter { $0.state == .present }
    }

    @Test func copiesRecordsThenDeletesOnlyAfterReVerification() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let paths = try (0..<4).map { try f.add("DJI_20250101120000_000\($0)_V.MP4", bytes: Self.bytes(3000 + $0, UInt64($0))) }
        let first = await f.cycle()
        #expect(first.filesCopied == 4)
        #expect(first.deleted == 0)
        #expect(paths.allSatisfy { LocalFS.exists($0) }) // not before the delay and a second look
        let copies = try present(f, "nas")
        #expect(copies.count == 4)
        for copy in copies {
            let remote = try #require(nas.file(copy.remotePath))
            #expect(!remote.isTemp && remote.sha256 == copy.sha256)
            #expect(copy.remotePath.string.hasPrefix("/nas/2025/01/01/"))
        }
        #expect(nas.tempFiles().isEmpty)
        #expect(try f.store.pending(destination: "nas").isEmpty)
        #expect(try f.store.counts().queuePending == 4)

        let second = await f.cycle()
        #expect(second.deleted == 4)
        #expect(paths.allSatisfy { !LocalFS.exists($0) })
        // Each was verified (SHA-256) in the cycle that deleted it.
        let verified = Set(nas.verifications(epoch: f.epoch).filter { $0.result == .verified && $0.mode == .sha256 }.map(\.copy.remotePath))
        #expect(verified == Set(copies.map(\.remotePath)))
        #expect(nas.callCount(.file, epoch: f.epoch) == 0)
    }

    @Test func aCopyMissingAtDeleteTimeKeepsTheSourceAndIsCopiedAgain() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let content = Self.bytes(5000, 7)
        let path = try f.add("a/IMG_1.JPG", bytes: content)
        await f.cycle()
        let copy = try #require(try present(f, "nas").first)
        nas.remove(copy.remotePath) // someone deleted it on the NAS

        let second = await f.cycle()
        #expect(second.deleted == 0)
        #expect(second.deleteChecksFailed == 1)
        #expect(LocalFS.exists(path))
        #expect(second.filesCopied == 1) // copied again in the same cycle
        #expect(nas.file(copy.remotePath)?.bytes == content)
        #expect(try f.store.ledgerEntries(destination: "nas").map(\.state.rawValue).sorted() == ["present"])

        let third = await f.cycle()
        #expect(third.deleted == 1)
        #expect(!LocalFS.exists(path))
    }

    @Test func aConnectionLostMidBatchReconnectsAndLosesNothing() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        f.batchSize = 2
        let nas = f.remote("nas")
        for i in 0..<7 { try f.add("IMG_\(i).JPG", bytes: Self.bytes(1000 + i, UInt64(i))) }
        nas.on(.file, .proceed)
        nas.on(.file, .proceed)
        nas.on(.file, .proceed)
        nas.on(.file, .fail(DestinationError(.unreachable, "connection reset"))) // 4th file: mid-batch
        let summary = await f.cycle()
        #expect(summary.filesCopied == 7)
        #expect(summary.failed == 0)
        #expect(summary.unavailableDestinations.isEmpty)
        #expect(nas.callCount(.connect) == 2)
        #expect(try present(f, "nas").count == 7)
        #expect(nas.finalFiles().count == 7)
        #expect(nas.tempFiles().isEmpty)
        #expect(try f.store.failures().isEmpty) // a lost link is not the files' fault
    }

    @Test func aFullDestinationKeepsSourcesAndChargesNoRetry() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let paths = try (0..<4).map { try f.add("IMG_\($0).JPG", bytes: Self.bytes(2000, UInt64($0))) }
        nas.on(.file, .proceed)
        nas.on(.file, .fail(DestinationError(.destinationFull, "No space left on device")))
        let first = await f.cycle()
        #expect(first.filesCopied == 1)
        // Found by the simulation: the files copied before the destination filled up do not wait.
        #expect(first.waitingForSpace == 3)
        #expect(try f.store.failures().isEmpty)
        #expect(nas.callCount(.connect) == 1) // no reconnect storm
        #expect(paths.allSatisfy { LocalFS.exists($0) })

        // Full by its free space: what does not fit waits (checked before sending).
        nas.capacity = nas.usedBytes + 2000
        let second = await f.cycle()
        #expect(second.deleted == 1) // the one copy made in the first cycle
        #expect(second.filesCopied == 1)
        #expect(second.waitingForSpace == 2)
        #expect(try f.store.failures().isEmpty)
        #expect(paths[1...].allSatisfy { LocalFS.exists($0) })

        nas.capacity = nil
        let third = await f.cycle()
        #expect(third.filesCopied == 2)
        #expect(third.deleted == 1)
        let fourth = await f.cycle()
        #expect(fourth.deleted == 2)
        #expect(paths.allSatisfy { !LocalFS.exists($0) })
    }

    @Test func aFailingFileIsRetriedWithBackoffThenQuarantined() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        f.config.retryPolicy.maxAttempts = 3
        let nas = f.remote("nas")
        let bad = try f.add("IMG_BAD.JPG", bytes: Self.bytes(100, 1))
        try f.add("IMG_OK.JPG", bytes: Self.bytes(100, 2))
        nas.on(.file, path: bad, times: 100, .fail(DestinationError(.transient, "Input/output error")))
        for attempt in 1...3 {
            let s = await f.cycle()
            #expect(s.failed == 1)
            let failure = try #require(try f.store.failures().first)
            #expect(failure.attempts == attempt)
            #expect(failure.quarantined == (attempt == 3))
        }
        let after = await f.cycle()
        #expect(after.deferred == 1)
        #expect(nas.calls.filter { $0.epoch == f.epoch && $0.call.item?.localPath == bad }.count == 0)
        #expect(LocalFS.exists(bad))
        // `queue retry` releases it.
        try f.store.releaseFailures()
        nas.clearScript()
        #expect(await f.cycle().filesCopied == 1)

        // With a real backoff the next cycle does not even try.
        var g = try ScriptedFixture()
        defer { g.cleanUp() }
        g.config.retryPolicy.baseDelaySeconds = 3600
        let flaky = try g.add("IMG_2.JPG", bytes: Self.bytes(100, 3))
        g.remote("nas").on(.file, path: flaky, .fail(DestinationError(.verificationFailed, "SHA-256 differs")))
        #expect(await g.cycle().failed == 1)
        let waiting = await g.cycle()
        #expect(waiting.deferred == 1)
        #expect(g.remote("nas").callCount(.file, epoch: g.epoch) == 0)
    }

    @Test func withTwoDestinationsASourceIsDeletedOnlyWhenBothVerified() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "s3"])
        defer { f.cleanUp() }
        let nas = f.remote("nas"), s3 = f.remote("s3")
        let path = try f.add("IMG_1.JPG", bytes: Self.bytes(4000, 9))
        s3.on(.connect, .fail(DestinationError(.unreachable, "no route to host")))
        let first = await f.cycle()
        #expect(first.unavailableDestinations == ["s3"])
        #expect(try f.store.counts().queuePending == 0) // only one copy: not queued
        await f.cycle() // s3 catches up; now queued
        #expect(try f.store.counts().queuePending == 1)
        s3.on(.verify, .fail(DestinationError(.timeout, "no answer in 300 s")))
        let third = await f.cycle()
        #expect(third.deleted == 0)
        #expect(LocalFS.exists(path))
        let fourth = await f.cycle()
        #expect(fourth.deleted == 1)
        #expect(!LocalFS.exists(path))
        for r in [nas, s3] {
            #expect(r.verifications(epoch: f.epoch).contains { $0.result == .verified })
        }
    }

    @Test func aSourceChangedBetweenCopyAndDeleteIsNotDeleted() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let noon = FileTime.epoch(seconds: 1_735_732_800) // 2025-01-01 12:00 UTC
        let path = try f.add("IMG_1.JPG", bytes: Self.bytes(3000, 1), mtime: noon)
        await f.cycle()
        let grown = Self.bytes(3000, 1) + Self.bytes(500, 2)
        try TestFiles.write(grown, to: path, modified: .epoch(seconds: 1_735_732_860)) // appended to after the copy
        let second = await f.cycle()
        #expect(second.deleted == 0)
        #expect(LocalFS.exists(path))
        #expect(second.filesCopied == 1) // the new version, beside the old one (no clobber)
        #expect(Set(nas.finalFiles().map { $0.key.string }) == ["/nas/2025/01/01/IMG_1.JPG", "/nas/2025/01/01/IMG_1_1.JPG"])
        #expect(try f.store.deleteQueue(states: [.changed]).count == 1)
        await f.cycle()
        #expect(!LocalFS.exists(path))
        #expect(nas.finalFiles().values.contains { $0.bytes == grown })
    }

    @Test func aSourceAwayAtItsDeletionAndBackIsStillFreed() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let path = try f.add("IMG_1.JPG", bytes: Self.bytes(900, 1))
        await f.cycle() // copied, queued
        let parked = f.state.appending("IMG_1.JPG")
        try LocalFS.rename(path, to: parked) // the media volume is unmounted...
        #expect(await f.cycle().deleted == 0) // ...when the deletion is due: "gone"
        try LocalFS.rename(parked, to: path) // ...and mounted again: same inode, size, mtime
        await f.cycle()
        await f.cycle()
        // Found by the simulation: the "gone" entry took the version out of the planner's index,
        // so it is planned, found already there, and queued again.
        #expect(!LocalFS.exists(path))
    }

    @Test func aSourceChangingWhileReadIsNotPublished() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let path = try f.add("IMG_1.JPG", bytes: Self.bytes(10_000, 1))
        nas.on(
            .file,
            .changeSourceDuringRead({ p in
                try? TestFiles.write(TestFiles.pseudoRandomBytes(count: 12_000, seed: 5), to: p, modified: .secondsAgo(1800))
            }))
        let first = await f.cycle()
        #expect(first.filesCopied == 0)
        #expect(first.skipped == 1)
        #expect(nas.files().isEmpty)
        #expect(try f.store.pending(destination: "nas").isEmpty)
        #expect(try f.store.failures().isEmpty)
        let second = await f.cycle()
        #expect(second.filesCopied == 1)
        #expect(nas.finalFiles().values.first?.bytes == TestFiles.pseudoRandomBytes(count: 12_000, seed: 5))
        _ = path
    }

    @Test func sameContentUnderTheNameIsRecordedNotCopied() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let content = Self.bytes(700, 4)
        try f.add("DJI_20250102030405_0001_V.MP4", bytes: content)
        try f.add("DJI_20250102030405_0002_V.MP4", bytes: Self.bytes(700, 5))
        nas.put(nas.path("2025/01/02/DJI_20250102030405_0001_V.MP4"), bytes: content)
        nas.put(nas.path("2025/01/02/DJI_20250102030405_0002_V.MP4"), bytes: Self.bytes(700, 6)) // another file, same size
        let s = await f.cycle()
        #expect(s.filesAlreadyPresent == 1)
        #expect(s.filesCopied == 1)
        #expect(nas.file(nas.path("2025/01/02/DJI_20250102030405_0002_V_1.MP4"))?.bytes == Self.bytes(700, 5))
        #expect(nas.file(nas.path("2025/01/02/DJI_20250102030405_0002_V.MP4"))?.bytes == Self.bytes(700, 6))
    }

    @Test func tempsOfACrashedRunAreReclaimedAtTheNextConnect() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        try f.add("IMG_1.JPG", bytes: Self.bytes(100, 1))
        nas.on(.publish, .fail(DestinationError(.unreachable, "reset")))
        nas.on(.connect, times: 1, .proceed)
        nas.on(.connect, times: 1, .fail(DestinationError(.unreachable, "down")))
        await f.cycle()
        #expect(nas.tempFiles().count == 1)
        #expect(try f.store.pending(destination: "nas") == nas.tempFiles())
        try f.reopenStore()
        let s = await f.cycle()
        #expect(s.filesCopied == 1)
        #expect(nas.tempFiles().isEmpty)
        #expect(try f.store.pending(destination: "nas").isEmpty)
    }
    /// The state database refuses to record a batch (a full disk): its copies stay on the NAS but
    /// nothing is queued for deletion, the cycle says so, and the next cycle records them as
    /// already there. No source is deleted on the strength of a copy the ledger does not hold.
    @Test func copiesTheDatabaseCouldNotRecordAreRecordedByTheNextCycle() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let paths = try (0..<2).map { try f.add("DJI_20250101120000_000\($0)_V.MP4", bytes: Self.bytes(2000 + $0, UInt64($0))) }
        try await f.store.db.write { db in
            try db.execute(sql: "CREATE TRIGGER test_full BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END")
        }
        let first = await f.cycle()
        #expect(first.filesCopied == 0 && first.failed == 2)
        #expect(first.failuresByKind["state_database"] == 2)
        #expect(first.messages.contains { $0.contains("disk full (test)") }, "\(first.messages)")
        #expect(try f.store.counts().queuePending == 0)
        #expect(nas.tempFiles().isEmpty)
        #expect(try f.store.pending(destination: "nas").isEmpty)

        try await f.store.db.write { db in try db.execute(sql: "DROP TRIGGER test_full") }
        let second = await f.cycle()
        #expect(second.filesAlreadyPresent == 2 && second.filesCopied == 0 && second.failed == 0)
        #expect(try present(f, "nas").count == 2)
        #expect(paths.allSatisfy { LocalFS.exists($0) })
        let third = await f.cycle()
        #expect(third.deleted == 2)
        #expect(paths.allSatisfy { !LocalFS.exists($0) })
    }
}
