import Foundation
import Hashing
import LocalFS
@testable import MediaSync
import SystemPackage
import Testing
import TestSupport

@Suite struct SafeDeleterTests {
    struct Setup {
        let dir: TemporaryDirectory
        let path: FilePath
        let entry: StateStore.DeleteEntry
        let copy: StateStore.LedgerEntry
    }

    static func setup() throws -> Setup {
        let dir = try TemporaryDirectory()
        let path = try dir.writeFile("DJI_1.JPG", bytes: [1, 2, 3], modified: .secondsAgo(100))
        let identity = try LocalFS.status(path).identity
        let sha = SHA256Hasher.hash([1, 2, 3])
        let entry = StateStore.DeleteEntry(id: 1, localPath: path, identity: identity, sha256: sha, dueAt: 0, state: "pending", attempts: 0, lastError: nil)
        let copy = StateStore.LedgerEntry(id: 1, destination: "nas", localPath: path, identity: identity, sha256: sha,
                                          remotePath: "/nas/DJI_1.JPG", outcome: "copied", state: "present", syncedAt: 0)
        return Setup(dir: dir, path: path, entry: entry, copy: copy)
    }

    @Test func deletesOnlyWhenDueVerifiedEverywhereAndUnchanged() throws {
        let s = try Self.setup()
        defer { try? s.dir.remove() }
        let verified = [SafeDeleter.Check(copy: s.copy, result: .verified)]
        var notDue = s.entry
        notDue.dueAt = Date().timeIntervalSince1970 + 60
        if case .refused = SafeDeleter.deleteSource(notDue, checks: verified, requiredDestinations: ["nas"], deleteEnabled: true) {} else { Issue.record("deleted before due") }
        if case .refused = SafeDeleter.deleteSource(s.entry, checks: [.init(copy: s.copy, result: .missing)], requiredDestinations: ["nas"], deleteEnabled: true) {} else { Issue.record("deleted without a verified copy") }
        if case .refused = SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas", "s3"], deleteEnabled: true) {} else { Issue.record("deleted without the second destination") }
        if case .refused = SafeDeleter.deleteSource(s.entry, checks: [], requiredDestinations: [], deleteEnabled: true) {} else { Issue.record("deleted with no destination at all") }
        var otherHash = s.copy
        otherHash.sha256 = SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))
        if case .refused = SafeDeleter.deleteSource(s.entry, checks: [.init(copy: otherHash, result: .verified)], requiredDestinations: ["nas"], deleteEnabled: true) {} else { Issue.record("deleted although the copy's hash differs from the source's") }
        #expect(LocalFS.exists(s.path))
        #expect(SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas"], deleteEnabled: false) == .kept)
        #expect(LocalFS.exists(s.path))
        #expect(SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas"], deleteEnabled: true) == .deleted)
        #expect(!LocalFS.exists(s.path))
        #expect(SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas"], deleteEnabled: true) == .gone)
    }

    @Test func aChangedLocalFileIsNeverDeleted() throws {
        let s = try Self.setup()
        defer { try? s.dir.remove() }
        try TestFiles.write([9, 9, 9, 9], to: s.path)
        if case .changed = SafeDeleter.deleteSource(s.entry, checks: [.init(copy: s.copy, result: .verified)], requiredDestinations: ["nas"], deleteEnabled: true) {} else {
            Issue.record("a changed file was not reported as changed")
        }
        #expect(LocalFS.exists(s.path))
    }
}
