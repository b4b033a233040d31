import Configuration
import Foundation
import Glibc
import LocalFS
import SSHTransport
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// A NAS base on a size-limited tmpfs the test mounts (the tests run as root).
struct SmallVolume {
    let path: String
    init(at path: String, megabytes: Int, owner: String) throws {
        self.path = path
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(megabytes)m,mode=0755") == 0 else {
            throw LocalFSError("mount tmpfs (tests need root)", path: path, errno: errno)
        }
        guard let pw = getpwnam(owner) else { throw LocalFSError("getpwnam \(owner)", path: path, errno: ENOENT) }
        _ = chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid)
    }
    func unmount() { _ = umount2(path, Int32(MNT_DETACH)) }
}

@Suite struct StorageTests {
    /// Two flights of 60 days ago (2024/02/01/DJI_20240201000000_000{0,1}_V.MP4), copied and then
    /// deleted locally: with their sources gone, their copies are what retention may remove.
    static func copyAndDeleteTwoOldFlights(_ f: NASFixture, size: Int) async throws {
        for i in 0..<2 {
            let path = f.source.appending("DJI_20240201000000_000\(i)_V.MP4")
            try TestFiles.write(size: size, seed: UInt64(i), to: path, modified: .secondsAgo(60 * 86_400))
        }
        #expect(try await f.cycle().filesCopied == 2)
        #expect(try await f.cycle().deleted == 2)
    }

    /// One retention pass on its own connection, outside a cycle.
    static func retention(_ f: NASFixture, bytesNeeded: Int64, dryRun: Bool) async throws -> SyncEngine.RetentionReport {
        let engine = try f.engine()
        let session = try await engine.destinations[0].connect(journal: try f.store(), progress: SilentObserver(), logger: engine.logger)
        var scratch = CycleSummary(cycleID: 0, startedAt: 0)
        let report = await engine.runRetention(
            destination: engine.destinations[0], session: session, bytesNeeded: bytesNeeded, dryRun: dryRun, summary: &scratch, log: engine.logger)
        await session.close()
        return report
    }

    @Test func aFullNASIsClassifiedTheTempIsRemovedAndSourcesAreKeptWithoutARetryStorm() async throws {
        var f = try await NASFixture("enospc")
        let volume = try SmallVolume(at: f.remoteBase, megabytes: 8, owner: f.server.user)
        defer {
            volume.unmount()
            f.cleanUp()
        }
        f.config.storageManagement.enableSpaceCheck = false // let the transfer hit ENOSPC itself
        let big = try f.add("DJI_20250101000000_0001_V.MP4", size: 12_000_000, seed: 1)
        let small = try f.add("DJI_20250101000001_0002_D.JPG", size: 1000, seed: 2)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 0)
        #expect(summary.waitingForSpace == 2, "\(summary.messages)")
        #expect(summary.failed == 0)
        #expect(f.logs.contains(.destinationLowSpace))
        #expect(try f.remoteFiles().isEmpty, "no temp or partial file stays on the full NAS")
        #expect(try f.store().failures().isEmpty, "a full NAS does not count against the files")
        #expect(try f.store().pending(destination: "nas").isEmpty)
        #expect(LocalFS.exists(big) && LocalFS.exists(small))
    }

    /// Issue 11, 2: a NAS that fills up in the middle of a large file is "full", not a corrupt
    /// copy (with hash_while_writing the partial file hashes differently) nor the file's fault.
    @Test(arguments: [true, false])
    func aNASThatFillsUpDuringALargeFileIsFullNotACorruptCopy(hashWhileWriting: Bool) async throws {
        var f = try await NASFixture("enospc-large-\(hashWhileWriting ? "overlapped" : "after")")
        let volume = try SmallVolume(at: f.remoteBase, megabytes: 24, owner: f.server.user)
        defer {
            volume.unmount()
            f.cleanUp()
        }
        f.config.storageManagement.enableSpaceCheck = false // let the transfer hit ENOSPC itself
        f.config.integrity.hashWhileWriting = hashWhileWriting
        f.config.retryPolicy.baseDelaySeconds = 0
        // Large enough for the overlapped hash (≥ 64 MiB, alone in its batch).
        let big = try f.add("DJI_20250101000000_0001_V.MP4", size: 70 << 20, seed: 3)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 0)
        #expect(summary.waitingForSpace == 1, "\(summary.messages)")
        #expect(summary.failed == 0, "\(summary.messages)")
        #expect(f.logs.contains(.destinationLowSpace))
        #expect(!f.logs.lines.withLock { $0.contains { $0.message.contains("SHA-256 differs") } }, "no false corruption alarm")
        #expect(try f.remoteFiles().isEmpty, "no temp or partial file stays on the full NAS")
        #expect(try f.store().failures().isEmpty, "a full NAS does not count against the file")
        #expect(try f.store().pending(destination: "nas").isEmpty)
        #expect(LocalFS.exists(big))
    }

    @Test func theSpaceCheckRunsRetentionOnOldCopiesOfDeletedSourcesOnlyAndNeverTouchesForeignFiles() async throws {
        var f = try await NASFixture("retention")
        let volume = try SmallVolume(at: f.remoteBase, megabytes: 20, owner: f.server.user)
        defer {
            volume.unmount()
            f.cleanUp()
        }
        f.config.storageManagement.minFreeSpaceGB = 0.005 // keep 5 MB free
        f.config.storageManagement.enableRetention = true
        f.config.storageManagement.preserveRecentDays = 30
        f.config.deletePolicy.delayMinutes = 0
        // A file the daemon did not write.
        try f.putRemote("2024/01/01/FOREIGN.MP4", TestFiles.pseudoRandomBytes(count: 2_000_000, seed: 9))
        try await Self.copyAndDeleteTwoOldFlights(f, size: 3_000_000)
        // A recent copy whose source is still here must never be removed either.
        try f.add("DJI_20250301000000_0009_D.JPG", size: 1_000_000, seed: 7)
        #expect(try await f.cycle().filesCopied == 1)
        // New footage that does not fit beside the 5 MB reserve: 20 − 2 − 6 − 1 = 11 MB free,
        // 6 MB usable, 10 MB wanted.
        try f.add("DJI_20250401000000_0010_V.MP4", size: 5_000_000, seed: 10)
        try f.add("DJI_20250401000001_0011_V.MP4", size: 5_000_000, seed: 11)
        // Dry run first: it lists the two old copies and removes nothing.
        let preview = try await Self.retention(f, bytesNeeded: 4_000_000, dryRun: true)
        #expect(preview.removed.map { $0.remotePath.lastComponent?.string } == ["DJI_20240201000000_0000_V.MP4", "DJI_20240201000000_0001_V.MP4"])
        #expect(try f.remoteNames().contains("2024/02/01/DJI_20240201000000_0000_V.MP4"))

        let summary = try await f.cycle()
        #expect(summary.retentionRemoved == 2, "\(summary.messages)")
        #expect(summary.filesCopied == 2)
        #expect(summary.waitingForSpace == 0)
        let names = try f.remoteNames()
        #expect(names.contains("2024/01/01/FOREIGN.MP4"), "a file the daemon did not write is never deleted")
        #expect(names.contains("2025/03/01/DJI_20250301000000_0009_D.JPG"), "a copy whose source is still here is kept")
        #expect(!names.contains("2024/02/01/DJI_20240201000000_0000_V.MP4"))
        #expect(f.logs.messages(.retentionDeleted).count == 2)
    }

    /// Retention removes only what it placed: a copy that someone replaced on the NAS with a file of
    /// another size is left alone, and the ledger no longer counts it as ours.
    /// Someone wrote another file over one of two old copies: of another size, or of the same size
    /// (then told apart by its modification time, which the copy had from its source).
    @Test(arguments: [123_456, 300_000])
    func retentionLeavesACopyReplacedByAnotherFileAlone(replacementSize: Int) async throws {
        var f = try await NASFixture("retention-replaced")
        defer { f.cleanUp() }
        f.config.storageManagement.enableRetention = true
        f.config.storageManagement.preserveRecentDays = 30
        f.config.deletePolicy.delayMinutes = 0
        try await Self.copyAndDeleteTwoOldFlights(f, size: 300_000)
        let replaced = "2024/02/01/DJI_20240201000000_0001_V.MP4"
        try f.putRemote(replaced, TestFiles.pseudoRandomBytes(count: replacementSize, seed: 5))

        let report = try await Self.retention(f, bytesNeeded: 1 << 30, dryRun: false)
        #expect(report.removed.map { $0.remotePath.lastComponent?.string } == ["DJI_20240201000000_0000_V.MP4"])
        let names = try f.remoteNames()
        #expect(names.contains(replaced), "a file the daemon did not write is never deleted")
        #expect(!names.contains("2024/02/01/DJI_20240201000000_0000_V.MP4"))
        let states = Dictionary(uniqueKeysWithValues: try f.store().ledgerEntries(destination: "nas").map { ($0.remotePath.lastComponent?.string ?? "", $0.state) })
        #expect(states == ["DJI_20240201000000_0000_V.MP4": .expired, "DJI_20240201000000_0001_V.MP4": .foreign])
        // The journal says why, in terms of what differs.
        let why = replacementSize == 300_000 ? "has the size we placed but was modified at" : "now has \(replacementSize) bytes"
        #expect(f.logs.any { $0.contains("retention: ") && $0.contains(why) && $0.contains("left alone") })
        #expect(!f.logs.any { $0.contains("the installed dms-receive is older") }, "this receiver checks the time")
    }

    /// A receiver installed before the time check (no `rmvm` in its greeting; `rmv` takes three
    /// fields) is sent the size alone: retention still works through it, nothing is refused.
    @Test func retentionThroughAReceiverOlderThanTheTimeCheckGoesBySizeAlone() async throws {
        var f = try await NASFixture("retention-old-receiver")
        defer { f.cleanUp() }
        let old = ReceiverTests.variant(" dx rmvm%s", " dx%s")
            .replacingOccurrences(of: #"[ $# -eq 3 ] || [ $# -eq 4 ] || refuse "rmv needs 3 or 4 fields""#, with: #"[ $# -eq 3 ] || refuse "rmv needs 3 fields""#)
        #expect(old.contains("rmv needs 3 fields"))
        try await f.useInstalledReceiver(allowRemove: true, script: old)
        f.config.storageManagement.enableRetention = true
        f.config.storageManagement.preserveRecentDays = 30
        f.config.deletePolicy.delayMinutes = 0
        try await Self.copyAndDeleteTwoOldFlights(f, size: 300_000)
        let report = try await Self.retention(f, bytesNeeded: 1 << 30, dryRun: false)
        #expect(report.removed.count == 2)
        #expect(try f.remoteNames().isEmpty)
        #expect(f.receiverLogLines().isEmpty, "nothing refused: \(f.receiverLogLines())")
        #expect(f.logs.any { $0.contains("the installed dms-receive is older") && $0.contains("by its size alone") }, "the journal says to reinstall it")
    }

    @Test func withoutRetentionFilesWaitAndSourcesAreKept() async throws {
        var f = try await NASFixture("lowspace")
        let volume = try SmallVolume(at: f.remoteBase, megabytes: 8, owner: f.server.user)
        defer {
            volume.unmount()
            f.cleanUp()
        }
        f.config.storageManagement.minFreeSpaceGB = 0.004
        try f.add("DJI_20250101000000_0001_D.JPG", size: 2_000_000, seed: 1)
        try f.add("DJI_20250101000001_0002_D.JPG", size: 3_000_000, seed: 2)
        let summary = try await f.cycle()
        // 8 MB − 4 MB reserve: the first (oldest) fits, the second waits.
        #expect(summary.filesCopied == 1)
        #expect(summary.waitingForSpace == 1)
        #expect(f.logs.contains(.destinationLowSpace))
    }
}
