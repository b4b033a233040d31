import Foundation
import Glibc
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `sync --once --dry-run [--json]` as an operator runs it: what each destination holds, and the
/// exit status when one cannot be asked.
@Suite struct DryRunCLITests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func theDryRunReportsPerDestinationInTextAndJSON() async throws {
        let s = try await CLITests.Setup("dry-run-cli")
        defer { s.cleanUp() }
        let bytes = TestFiles.pseudoRandomBytes(count: 4000, seed: 1)
        try TestFiles.write(bytes, to: s.source.appending("DJI_20250101000000_0001_D.JPG"), modified: .secondsAgo(3600))
        try TestFiles.write(size: 2500, seed: 2, to: s.source.appending("DJI_20250101000001_0002_D.JPG"), modified: .secondsAgo(3600))
        try TestFiles.write(size: 10, seed: 3, to: s.source.appending("README.txt"), modified: .secondsAgo(3600))
        // The first file is on the NAS already (put there by its user).
        let folder = FilePath(s.remoteBase + "/2025/01/01")
        try LocalFS.createDirectories(folder, mode: 0o755)
        try TestFiles.write(bytes, to: folder.appending("DJI_20250101000000_0001_D.JPG"))
        let owner = try #require(getpwnam(s.server.user)).pointee
        for path in [s.remoteBase + "/2025", folder.string, folder.string + "/DJI_20250101000000_0001_D.JPG"] {
            #expect(chown(path, owner.pw_uid, owner.pw_gid) == 0)
        }
        let before = s.remoteFiles()

        let json = try await CLITests.run(["sync", "--once", "--dry-run", "--json", "--config", s.configPath])
        #expect(json.status == .exited(0), "\(json.out)\(json.err)")
        let object = try Self.json(json.out)
        #expect(object["schema_version"] as? Int == 1)
        #expect(object["dry_run"] as? Bool == true)
        #expect(object["exit_status"] as? Int == 0)
        let local = try #require(object["local"] as? [String: Any])
        #expect(local["eligible"] as? Int == 2)
        #expect(local["ignored"] as? Int == 1)
        let nas = try #require((object["destinations"] as? [[String: Any]])?.first)
        #expect(nas["reachable"] as? Bool == true)
        #expect(nas["asked"] as? Bool == true)
        #expect((nas["would_copy"] as? [String: Any])?["files"] as? Int == 1)
        #expect((nas["would_copy"] as? [String: Any])?["bytes"] as? Int == 2500)
        #expect((nas["already_there"] as? [String: Any])?["files"] as? Int == 1)
        #expect((nas["would_rename"] as? [String: Any])?["files"] as? Int == 0)
        #expect((nas["compared"] as? String)?.contains("SHA-256") == true)

        let text = try await CLITests.run(["sync", "--once", "--dry-run", "--config", s.configPath])
        #expect(text.status == .exited(0), "\(text.out)\(text.err)")
        #expect(text.out.contains("would copy:      1 file (2.5 kB)"), "\(text.out)")
        #expect(text.out.contains("already there:   1 (4.0 kB)"), "\(text.out)")
        #expect(s.remoteFiles() == before, "nothing was written on the NAS")

        // After a real cycle everything is in the ledger: nothing to ask the NAS.
        #expect(try await CLITests.run(["sync", "--once", "--config", s.configPath]).status == .exited(0))
        let after = try Self.json(try await CLITests.run(["sync", "--once", "--dry-run", "--json", "--config", s.configPath]).out)
        let settled = try #require((after["destinations"] as? [[String: Any]])?.first)
        #expect(settled["asked"] as? Bool == false)
        #expect(settled["reachable"] is NSNull)
        #expect(settled["in_ledger"] as? Int == 2)
        #expect((settled["would_copy"] as? [String: Any])?["files"] as? Int == 0)

        let refused = try await CLITests.run(["sync", "--once", "--json", "--config", s.configPath])
        #expect(refused.status == .exited(64), "--json without --dry-run is a usage error: \(refused.err)")
    }

    @Test func aDestinationThatCannotBeReachedMakesTheDryRunExitOne() async throws {
        let s = try await CLITests.Setup("dry-run-cli-unreachable")
        defer { s.cleanUp() }
        try TestFiles.write(size: 100, seed: 1, to: s.source.appending("DJI_20250101000000_0001_D.JPG"), modified: .secondsAgo(3600))
        // The same config, with a loopback port nothing listens on.
        var config = try Self.json(String(decoding: try FileIO.readWholeFile(FilePath(s.configPath), limit: 1 << 20), as: UTF8.self))
        var destinations = try #require(config["destinations"] as? [[String: Any]])
        destinations[0]["port"] = try closedLoopbackPort()
        destinations[0]["connect_timeout_seconds"] = 2
        config["destinations"] = destinations
        try TestFiles.write([UInt8](try JSONSerialization.data(withJSONObject: config)), to: FilePath(s.configPath))

        let run = try await CLITests.run(["sync", "--once", "--dry-run", "--json", "--config", s.configPath])
        #expect(run.status == .exited(1), "\(run.out)\(run.err)")
        let object = try Self.json(run.out)
        #expect(object["exit_status"] as? Int == 1)
        let nas = try #require((object["destinations"] as? [[String: Any]])?.first)
        #expect(nas["reachable"] as? Bool == false)
        #expect(nas["asked"] as? Bool == false)
        #expect(nas["error_kind"] as? String == "unreachable")
        #expect(nas["compared"] is NSNull)

        let text = try await CLITests.run(["sync", "--once", "--dry-run", "--config", s.configPath])
        #expect(text.status == .exited(1))
        #expect(text.out.contains("could not be asked: unreachable"), "\(text.out)")
    }

}
