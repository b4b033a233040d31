import Configuration
import Foundation
import Glibc
import LocalFS
import SSHTransport
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

@Suite struct SoftDeleteTests {
    @Test func verifiedSourcesGoToTheTrashAndArePurgedAfterTheRetention() async throws {
        var f = try await NASFixture("trash")
        defer { f.cleanUp() }
        f.config.deletePolicy.enableSoftDelete = true
        f.config.deletePolicy.trashRetentionDays = 7
        f.config.deletePolicy.minLocalFreeGB = 0
        let source = try f.add("DCIM/DJI_20250101000000_0001_D.JPG", size: 5000)
        let identity = try LocalFS.status(source).identity
        #expect(try await f.cycle().filesCopied == 1)
        let second = try await f.cycle()
        #expect(second.deleted == 1)
        let trashed = f.source.appending(".dms-trash/DCIM/DJI_20250101000000_0001_D.JPG")
        #expect(!LocalFS.exists(source))
        #expect(try LocalFS.status(trashed).identity.inode == identity.inode, "moved, not copied")
        // The trash is not synced again, even when hidden folders are scanned.
        f.config.local.skipHidden = false
        let third = try await f.cycle()
        #expect(third.filesCopied == 0 && third.purged == 0)
        #expect(LocalFS.exists(trashed))
        // Past the retention, it is purged.
        f.config.deletePolicy.trashRetentionDays = 0
        let fourth = try await f.cycle()
        #expect(fourth.purged == 1)
        #expect(!LocalFS.exists(trashed))
        #expect(try f.remoteFiles().count == 1, "the NAS copy stays")
    }

    @Test func theTrashIsPurgedEarlyOldestFirstWhenTheEdgeDiskRunsLow() async throws {
        var f = try await NASFixture("trashfull")
        // The media root is a small disk: 8 MiB.
        let disk = try SmallVolume(at: f.source.path, megabytes: 8, owner: "root")
        defer {
            disk.unmount()
            f.cleanUp()
        }
        f.config.deletePolicy.enableSoftDelete = true
        f.config.deletePolicy.trashRetentionDays = 30
        f.config.deletePolicy.minLocalFreeGB = 0.006 // keep 6 MB free
        for i in 0..<3 { try f.add("DJI_2025010100000\(i)_000\(i)_D.JPG", size: 1_000_000, seed: UInt64(i)) }
        #expect(try await f.cycle().filesCopied == 3)
        let second = try await f.cycle()
        #expect(second.deleted == 3) // all three in the trash now: ~5.4 MB free
        let third = try await f.cycle()
        #expect(third.purged == 1, "purge stops as soon as the floor is met")
        let trash = f.source.appending(".dms-trash")
        #expect(!LocalFS.exists(trash.appending("DJI_20250101000000_0000_D.JPG")), "the oldest goes first")
        #expect(LocalFS.exists(trash.appending("DJI_20250101000001_0001_D.JPG")))
        #expect(LocalFS.exists(trash.appending("DJI_20250101000002_0002_D.JPG")))
        #expect(try LocalFS.space(f.source.filePath).free >= 6_000_000)
    }
}
