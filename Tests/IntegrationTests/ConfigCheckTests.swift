import Foundation
import Subprocess
import SystemPackage
import Testing
import TestSupport

/// Issue 11, 3 and 4: `config check` refuses what would only fail (or do harm) later, exit 78
/// naming the key.
@Suite struct ConfigCheckTests {
    func write(_ dir: TemporaryDirectory, nas: String, extra: String = "") throws -> String {
        let path = dir.path + "/c.json"
        let json = #"{"local": {"media_roots": ["/data"]}, "destinations": [{"type": "nas", "host": "h", "base_path": "/b", "#
            + nas + "}]" + extra + "}"
        try TestFiles.write(Array(json.utf8), to: FilePath(path))
        return path
    }

    @Test func aMissingIdentityOrKnownHostsFileExits78NamingTheKeyAndTheFile() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        try TestFiles.write(Array("key".utf8), to: FilePath(dir.path + "/id"))
        try TestFiles.write(Array("hosts".utf8), to: FilePath(dir.path + "/known_hosts"))

        let good = try write(dir, nas: #""identity_file": "\#(dir.path)/id", "known_hosts_file": "\#(dir.path)/known_hosts""#)
        let ok = try await CLITests.run(["config", "check", "--config", good])
        #expect(ok.status == .exited(0), "\(ok.err)")

        let noKey = try write(dir, nas: #""identity_file": "\#(dir.path)/missing_id", "known_hosts_file": "\#(dir.path)/known_hosts""#)
        let check = try await CLITests.run(["config", "check", "--config", noKey])
        #expect(check.status == .exited(78))
        #expect(check.err.contains("destinations[0].identity_file"), "\(check.err)")
        #expect(check.err.contains("\(dir.path)/missing_id"), "\(check.err)")
        #expect(check.err.contains("No such file or directory"), "\(check.err)")
        // The daemon refuses it at start the same way.
        let sync = try await CLITests.run(["sync", "--once", "--config", noKey])
        #expect(sync.status == .exited(78))
        #expect(sync.err.contains("destinations[0].identity_file"), "\(sync.err)")

        let noHosts = try write(dir, nas: #""identity_file": "\#(dir.path)/id", "known_hosts_file": "\#(dir.path)/missing_hosts""#)
        let hosts = try await CLITests.run(["config", "check", "--config", noHosts])
        #expect(hosts.status == .exited(78))
        #expect(hosts.err.contains("destinations[0].known_hosts_file"), "\(hosts.err)")
        #expect(hosts.err.contains("\(dir.path)/missing_hosts"), "\(hosts.err)")
    }

    @Test(arguments: [#""temp_prefix": ".x$(touch X)""#, #""temp_suffix": ".part x""#])
    func anUnsafeTempNameExits78NamingTheKey(_ setting: String) async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        try TestFiles.write(Array("hosts".utf8), to: FilePath(dir.path + "/known_hosts"))
        let path = try write(dir, nas: #""known_hosts_file": "\#(dir.path)/known_hosts""#, extra: #", "integrity_checks": {\#(setting)}"#)
        let check = try await CLITests.run(["config", "check", "--config", path])
        #expect(check.status == .exited(78))
        let key = setting.contains("prefix") ? "integrity_checks.temp_prefix" : "integrity_checks.temp_suffix"
        #expect(check.err.contains(key), "\(check.err)")
    }
}
