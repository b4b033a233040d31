import Configuration
import Foundation
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// Issue 13, 3, the engine side: the dry run asks every destination through `lookUp` on a
/// read-only session, reports per destination, and writes nothing.
@Suite struct DryRunEngineTests {
    @Test func theDryRunReportsPerDestinationAndAnUnreachableOneWithoutWritingAnything() async throws {
        let f = try ScriptedFixture(destinations: ["nas", "away"])
        defer { f.cleanUp() }
        let nas = f.remote("nas")
        let same = TestFiles.pseudoRandomBytes(count: 500, seed: 1)
        try f.add("DJI_20250101000000_0001_D.JPG", bytes: same)
        try f.add("DJI_20250101000001_0002_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 500, seed: 2))
        try f.add("DJI_20250101000002_0003_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 300, seed: 3))
        let quarantined = try f.add("DJI_20250101000003_0004_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 10, seed: 4))
        nas.put(nas.path("2025/01/01/DJI_20250101000000_0001_D.JPG"), bytes: same)
        nas.put(nas.path("2025/01/01/DJI_20250101000001_0002_D.JPG"), bytes: TestFiles.pseudoRandomBytes(count: 500, seed: 9))
        let identity = try LocalFS.status(quarantined).identity
        let item = TransferItem(
            id: 0, localPath: quarantined, identity: identity, remoteDirectory: "2025/01/01",
            remoteName: Array("DJI_20250101000003_0004_D.JPG".utf8))
        _ = try f.store.recordFailure(
            destination: "nas", item: item, permanent: true, kind: "permanent", message: "refused",
            policy: f.config.retryPolicy, fingerprint: "sim")
        f.remote("away").on(.connect, .fail(DestinationError(.unreachable, "connection refused")))
        let filesBefore = nas.files()
        let failuresBefore = try f.store.failures().count

        let summary = await f.engine().runCycle(dryRun: true)
        let report = try #require(summary.dryRun)
        #expect(report.destinations.map(\.name) == ["nas", "away"])
        let first = report.destinations[0]
        #expect(first.unavailable == nil && first.asked)
        #expect(first.alreadyThere == 1 && first.alreadyThereBytes == 500)
        #expect(first.wouldRename == 1 && first.wouldRenameBytes == 500)
        #expect(first.wouldCopy == 1 && first.wouldCopyBytes == 300)
        #expect(first.quarantined == 1 && first.waitingForRetry == 0)
        #expect(first.compared != nil)
        let away = report.destinations[1]
        #expect(away.unavailable?.kind == .unreachable && !away.asked)
        #expect(away.wouldCopy == 0 && away.compared == nil)
        #expect(summary.unavailableDestinations == ["away"])
        #expect(summary.cycleID == 0)

        #expect(nas.files() == filesBefore, "nothing written on the destination")
        #expect(nas.callCount(.transfer) == 0)
        #expect(nas.callCount(.lookUp) == 1)
        #expect(try f.store.failures().count == failuresBefore)
        #expect(try f.store.recentCycles(limit: 5).isEmpty, "no cycle recorded")
        #expect(try f.store.destinationsHolding([(quarantined, identity)], among: ["nas"]) == [[]], "nothing recorded in the ledger")
    }

    /// Two files of one run that want the same free name: the real cycle stores the second as
    /// `_1`, and the dry run says so.
    @Test func theSecondOfTwoFilesWantingOneNameWouldGetAnIndexedName() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        try f.add("A/DJI_20250101000000_0001_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 100, seed: 1))
        try f.add("B/DJI_20250101000000_0001_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 200, seed: 2))
        let dry = try #require(await f.engine().runCycle(dryRun: true).dryRun?.destinations.first)
        #expect(dry.wouldCopy == 1 && dry.wouldRename == 1)
        #expect(dry.bytesToCopy == 300)
        let real = await f.cycle()
        #expect(real.filesCopied == 2)
        #expect(f.remote("nas").file(f.remote("nas").path("2025/01/01/DJI_20250101000000_0001_D_1.JPG")) != nil)
    }

    @Test func filesBeyondTheFreeSpaceAreCountedAsWaitingNotAsked() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        f.config.storageManagement.enableSpaceCheck = true
        f.config.storageManagement.enableRetention = false
        let nas = f.remote("nas")
        nas.capacity = 1000
        try f.add("DJI_20250101000000_0001_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 700, seed: 1))
        try f.add("DJI_20250101000001_0002_D.JPG", bytes: TestFiles.pseudoRandomBytes(count: 700, seed: 2))
        let summary = await f.engine().runCycle(dryRun: true)
        let d = try #require(summary.dryRun?.destinations.first)
        #expect(d.wouldCopy == 1)
        #expect(d.waitingForSpace == 1)
        #expect(nas.files().isEmpty)
    }
}
