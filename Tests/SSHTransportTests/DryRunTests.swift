import Configuration
import Foundation
import Glibc
import LocalFS
import SSHTransport
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// Issue 13, 3: `sync --once --dry-run` asks the NAS (the receiver's own probe, read-only) what it
/// holds under each planned name, and writes nothing anywhere.
@Suite struct DryRunTests {
    /// Everything below `path` (folders too, with file contents), to prove nothing changed.
    static func snapshot(_ path: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for sub in try FileManager.default.subpathsOfDirectory(atPath: path) {
            let full = FilePath(path + "/" + sub)
            let status = try LocalFS.status(full)
            out[sub] = status.kind == .regular ? try FileIO.readWholeFile(full, limit: 1 << 30) : Array("<\(status.kind)>".utf8)
        }
        return out
    }

    /// The state database file's bytes and modification time.
    static func database(_ f: NASFixture) throws -> (bytes: [UInt8], mtime: Int64, files: [String]) {
        let path = f.state.filePath.appending("state.sqlite")
        let files = try FileManager.default.contentsOfDirectory(atPath: f.state.path).filter { $0.hasPrefix("state.sqlite") }.sorted()
        return (try FileIO.readWholeFile(path, limit: 1 << 30), try LocalFS.status(path).identity.mtimeNanoseconds, files)
    }

    @Test(arguments: [false, true])
    func theDryRunCountsWhatTheNASHoldsAndWritesNothing(installedReceiver: Bool) async throws {
        var f = try await NASFixture("dry-run-\(installedReceiver ? "installed" : "inline")")
        defer { f.cleanUp() }
        if installedReceiver { try await f.useInstalledReceiver() }
        let layout = try f.engine().layout
        func remote(_ name: String) -> String {
            let place = layout.place(name: Array(name.utf8), mtimeNanoseconds: 0)
            return "\(place.directory)/\(String(decoding: place.name, as: UTF8.self))"
        }
        // There already, byte for byte.
        let same = "DJI_20250101000000_0001_D.JPG"
        try f.add(same, size: 5000, seed: 1)
        try f.putRemote(remote(same), TestFiles.pseudoRandomBytes(count: 5000, seed: 1))
        // A different file of the same size holds the name (only the SHA-256 tells them apart),
        // and one of another size.
        let sameSize = "DJI_20250101000001_0002_D.JPG"
        try f.add(sameSize, size: 5000, seed: 2)
        try f.putRemote(remote(sameSize), TestFiles.pseudoRandomBytes(count: 5000, seed: 99))
        let otherSize = "DJI_20250101000002_0003_V.MP4"
        try f.add(otherSize, size: 3000, seed: 3)
        try f.putRemote(remote(otherSize), TestFiles.pseudoRandomBytes(count: 10, seed: 98))
        // New; a hostile name reaches the receiver as a protocol field.
        try f.add("DJI_20250102000000_0004_D.JPG", size: 7000, seed: 4)
        try f.add(rawName: Array("DJI_20250102000001_$(touch x)'\"\t.JPG".utf8), bytes: TestFiles.pseudoRandomBytes(count: 100, seed: 5))
        // Skipped locally: hidden, not a media type, too recent.
        try f.add(".DJI_20250103000000_0006_D.JPG", size: 10, seed: 6)
        try f.add("notes.txt", size: 10, seed: 7)
        try TestFiles.write(size: 10, seed: 8, to: f.source.appending("DJI_20250104000000_0008_D.JPG"), modified: .secondsAgo(0))
        f.config.local.minFileAgeSeconds = 600
        _ = try f.store().instanceID() // the database as an earlier run left it (the store is closed again)

        let remoteBefore = try Self.snapshot(f.remoteBase)
        let databaseBefore = try Self.database(f)
        let summary = try await f.engine().runCycle(dryRun: true)
        let report = try #require(summary.dryRun)
        let nas = try #require(report.destinations.first)
        #expect(nas.unavailable == nil, "\(summary.messages)")
        #expect(nas.wouldCopy == 2)
        #expect(nas.wouldCopyBytes == 7100)
        #expect(nas.alreadyThere == 1)
        #expect(nas.alreadyThereBytes == 5000)
        #expect(nas.wouldRename == 2)
        #expect(nas.wouldRenameBytes == 8000)
        #expect(nas.failed == 0 && nas.changed == 0)
        #expect(nas.compared?.contains("SHA-256") == true)
        #expect(report.eligible == 5)
        #expect(report.hidden == 1)
        #expect(report.ignored == 1)
        #expect(report.tooRecent == 1)
        #expect(summary.cycleID == 0)

        #expect(try Self.snapshot(f.remoteBase) == remoteBefore, "the NAS base is unchanged")
        let databaseAfter = try Self.database(f)
        #expect(databaseAfter.bytes == databaseBefore.bytes, "the state database is unchanged")
        #expect(databaseAfter.mtime == databaseBefore.mtime)
        #expect(databaseAfter.files == databaseBefore.files)
        if installedReceiver { #expect(f.receiverLogLines().isEmpty, "the installed receiver refused nothing") }

        // The real cycle does what the dry run said.
        let real = try await f.cycle()
        #expect(real.filesCopied == 4, "\(real.messages)")
        #expect(real.filesAlreadyPresent == 1)
        let names = try f.remoteNames()
        #expect(names.contains(remote("DJI_20250101000001_0002_D_1.JPG")))
        #expect(names.contains(remote("DJI_20250101000002_0003_V_1.MP4")))
    }

    @Test func aNASThatCannotBeReachedIsReportedForThatDestination() async throws {
        var f = try await NASFixture("dry-run-unreachable")
        defer { f.cleanUp() }
        try f.add("DJI_20250101000000_0001_D.JPG", size: 100, seed: 1)
        var nas = f.nas
        nas.port = try closedLoopbackPort()
        nas.connectTimeoutSeconds = 2
        f.nas = nas
        let summary = try await f.engine().runCycle(dryRun: true)
        let destination = try #require(summary.dryRun?.destinations.first)
        #expect(destination.unavailable != nil)
        #expect(destination.compared == nil)
        #expect(summary.unavailableDestinations == ["nas"])
        #expect(summary.status == .failed)
    }

}
