import Foundation
import Hashing
import LocalFS
import MediaSync
import SystemPackage
import TestSupport
import Testing

@Suite struct StateStoreTests {
    /// A fresh store in memory (tmpfs where there is one).
    static func store() throws -> (TemporaryDirectory, StateStore) {
        let dir = try TemporaryDirectory(in: TemporaryDirectory.memoryParent)
        return (dir, try StateStore(directory: dir.filePath))
    }

    /// One file in two versions (a `touch` between them).
    static let twoVersions: (path: FilePath, v1: FileIdentity, v2: FileIdentity) = (
        "/media/DJI_1.JPG", FileIdentity(size: 1, mtimeNanoseconds: 1, inode: 1, device: 1),
        FileIdentity(size: 1, mtimeNanoseconds: 2, inode: 1, device: 1)
    )

    static func item(_ path: FilePath, _ identity: FileIdentity) -> TransferItem {
        TransferItem(id: 0, localPath: path, identity: identity, remoteDirectory: "2025/01/01", remoteName: Array(path.lastComponent!.string.utf8))
    }

    @Test func ledgerSurvivesReopeningAndQueuesOnlyWhenEveryDestinationHoldsTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let odd = FilePath(bytes: Array("/media/a'b\n".utf8) + [0xfe] + Array(".JPG".utf8))
        let identity = FileIdentity(size: 10, mtimeNanoseconds: 123, inode: 9, device: 1)
        let sha = SHA256Hasher.hash([1, 2, 3])
        do {
            let store = try StateStore(directory: dir.filePath)
            try store.recordPlacements(
                [.init(item: Self.item(odd, identity), remotePath: "/nas/2025/01/01/x", sha256: sha, alreadyPresent: false)],
                destination: "nas", allDestinations: ["nas", "s3"], cycleID: nil, deleteDelaySeconds: 60)
            #expect(try store.counts().queuePending == 0) // s3 does not hold it yet
        }
        let store = try StateStore(directory: dir.filePath) // reopened: nothing lost
        #expect(try store.destinationsHolding(odd, identity: identity, among: ["nas", "s3"]) == ["nas"])
        var other = identity
        other.mtimeNanoseconds += 1
        #expect(try store.destinationsHolding(odd, identity: other, among: ["nas"]).isEmpty) // another version
        let queued = try store.recordPlacements(
            [.init(item: Self.item(odd, identity), remotePath: "s3://b/x", sha256: sha, alreadyPresent: false)],
            destination: "s3", allDestinations: ["nas", "s3"], cycleID: nil, deleteDelaySeconds: 60)
        #expect(queued == 1)
        let now = Date().timeIntervalSince1970
        #expect(try store.dueDeletes(now: now).isEmpty)
        let due = try store.dueDeletes(now: now + 61)
        #expect(due.count == 1)
        #expect(due.first?.localPath == odd)
        #expect(try store.copies(of: due[0]).map(\.destination).sorted() == ["nas", "s3"])
    }

    @Test func aLostCopyTakesTheSourceOffTheQueueAndMakesItEligibleAgain() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        let path: FilePath = "/media/DJI_1.JPG"
        let identity = FileIdentity(size: 1, mtimeNanoseconds: 1, inode: 1, device: 1)
        try store.recordPlacements(
            [.init(item: Self.item(path, identity), remotePath: "/nas/a", sha256: SHA256Hasher.hash([1]), alreadyPresent: false)],
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 0)
        let entry = try #require(try store.dueDeletes().first)
        let copy = try #require(try store.copies(of: entry).first)
        try store.markCopyLost(copy.id, reason: "missing")
        #expect(try store.dueDeletes().isEmpty)
        #expect(try store.destinationsHolding(path, identity: identity, among: ["nas"]).isEmpty)
        // Copied again: queued again.
        try store.recordPlacements(
            [.init(item: Self.item(path, identity), remotePath: "/nas/a_1", sha256: SHA256Hasher.hash([1]), alreadyPresent: false)],
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 0)
        #expect(try store.dueDeletes().count == 1)
    }

    /// A new copy published under a name the ledger says another version's copy holds: that copy
    /// was gone (a publish never replaces a file), so its row is lost and its source is not deleted
    /// on it. Checked for a batch of many copies at once (one query per 500), with the stale row's
    /// copy among them and copies of the same version recorded again left alone.
    @Test func aNameReusedByAnotherVersionMarksTheOldRowLostInABatchOfMany() throws {
        let (dir, store) = try Self.store()
        defer { try? dir.remove() }
        let (path, v1, v2) = Self.twoVersions
        func others(_ range: Range<Int>) -> [StateStore.Placement] {
            range.map { i in
                .init(
                    item: Self.item(FilePath("/media/f\(i).JPG"), FileIdentity(size: 5, mtimeNanoseconds: Int64(i), inode: UInt64(100 + i), device: 1)),
                    remotePath: FilePath("/nas/f\(i).JPG"), sha256: SHA256Hasher.hash([UInt8(i % 256)]), alreadyPresent: false)
            }
        }
        try store.recordPlacements(
            [.init(item: Self.item(path, v1), remotePath: "/nas/a", sha256: SHA256Hasher.hash([1]), alreadyPresent: false)] + others(0..<700),
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 600, now: 1000)
        // The next batch: v2 under v1's name, between hundreds of others, some recorded again.
        try store.recordPlacements(
            others(600..<900) + [.init(item: Self.item(path, v2), remotePath: "/nas/a", sha256: SHA256Hasher.hash([2]), alreadyPresent: false)]
                + others(900..<1300),
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 600, now: 2000)
        #expect(try store.destinationsHolding(path, identity: v1, among: ["nas"]).isEmpty)
        #expect(try store.destinationsHolding(path, identity: v2, among: ["nas"]) == ["nas"])
        #expect(try store.destinationsHolding("/media/f650.JPG", identity: FileIdentity(size: 5, mtimeNanoseconds: 650, inode: 750, device: 1), among: ["nas"]) == ["nas"])
        let due = try store.dueDeletes(now: 10_000, limit: 5000)
        #expect(due.count == 1300 + 1)
        #expect(!due.contains { $0.localPath == path && $0.identity == v1 }, "v1's source is not deleted on a copy that is gone")
    }

    /// Found by the fault simulation: two versions of a file (a `touch`) found "already there"
    /// share one remote copy; when re-verification found it damaged, only one row was marked lost
    /// and the other still said "present" for a copy the destination no longer held.
    @Test func aLostCopyIsLostForEveryVersionThatSharesIt() throws {
        let (dir, store) = try Self.store()
        defer { try? dir.remove() }
        let (path, v1, v2) = Self.twoVersions
        for (identity, present) in [(v1, false), (v2, true)] {
            try store.recordPlacements(
                [.init(item: Self.item(path, identity), remotePath: "/nas/a", sha256: SHA256Hasher.hash([1]), alreadyPresent: present)],
                destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 0)
        }
        #expect(try store.dueDeletes().count == 2)
        let entry = try #require(try store.dueDeletes().first)
        let copy = try #require(try store.copies(of: entry).first)
        try store.markCopyLost(copy.id, reason: "missing")
        #expect(try store.destinationsHolding(path, identity: v1, among: ["nas"]).isEmpty)
        #expect(try store.destinationsHolding(path, identity: v2, among: ["nas"]).isEmpty)
        #expect(try store.dueDeletes().isEmpty) // neither version's source may go on that copy
    }

    /// Found by the fault simulation: after the clock stepped back two days, deletions queued
    /// before the step waited those two days (for ever after a reset to 1970). Now a step back
    /// reschedules each from now with its full delay: never earlier, at most one delay later.
    @Test func aClockSteppedBackReschedulesPendingDeletionsWithTheirFullDelay() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        let identity = FileIdentity(size: 1, mtimeNanoseconds: 1, inode: 1, device: 1)
        try store.recordPlacements(
            [.init(item: Self.item("/media/DJI_1.JPG", identity), remotePath: "/nas/a", sha256: SHA256Hasher.hash([1]), alreadyPresent: false)],
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 600, now: 1_000_000)
        #expect(try store.rescheduleAfterClockStep(now: 1_000_100) == 0) // time went on: nothing moves
        #expect(try store.dueDeletes(now: 1_000_599).isEmpty)
        #expect(try store.rescheduleAfterClockStep(now: 800_000) == 1) // stepped back ~2 days
        #expect(try store.dueDeletes(now: 800_599).isEmpty) // the full delay still holds
        #expect(try store.dueDeletes(now: 800_600).count == 1) // and no more than that
        #expect(try store.rescheduleAfterClockStep(now: 800_000) == 0)
        // Queued again (the file came back after it was gone): the new queue time counts, so a
        // later step back still keeps the full delay (seed 241 deleted it 849 s after its return).
        let entry = try #require(try store.dueDeletes(now: 800_600).first)
        try store.finishDelete(entry.id, state: .gone, now: 800_600)
        try store.recordPlacements(
            [.init(item: Self.item("/media/DJI_1.JPG", identity), remotePath: "/nas/a", sha256: SHA256Hasher.hash([1]), alreadyPresent: true)],
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 600, now: 900_000)
        #expect(try store.rescheduleAfterClockStep(now: 850_000) == 1)
        #expect(try store.dueDeletes(now: 850_599).isEmpty)
        #expect(try store.dueDeletes(now: 850_600).count == 1)
    }

    @Test func tempJournalAndInterruptedCycles() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        try store.record(destination: "nas", paths: ["/nas/2025/.dms-1.part", "/nas/2025/.dms-2.part"])
        try store.forget(destination: "nas", paths: ["/nas/2025/.dms-1.part"])
        #expect(try store.pending(destination: "nas") == ["/nas/2025/.dms-2.part"])
        #expect(try store.pending(destination: "other").isEmpty)
        let first = try store.beginCycle()
        _ = try store.beginCycle() // the first never finished (crash): marked aborted
        #expect(try store.recentCycles().first(where: { $0.id == first })?.status == "aborted")
        #expect(try store.instanceID() == (try StateStore(directory: dir.filePath).instanceID()))
    }
}
