import Foundation
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// Issue 11, 3 and 4: `config check` refuses what would only fail (or do harm) later, exit 78
/// naming the key.
@Suite struct ConfigCheckTests {
    func write(_ dir: TemporaryDirectory, nas: String, extra: String = "") throws -> String {
        let path = dir.path + "/c.json"
        let json =
            #"{"local": {"media_roots": ["/data"]}, "destinations": [{"type": "nas", "host": "h", "base_path": "/b", "#
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

    /// Issue 13.7: a bad `bandwidth_schedule` entry is named; a good schedule shows in `status`.
    @Test func aBandwidthScheduleIsCheckedAndShownByStatus() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        try TestFiles.write(Array("hosts".utf8), to: FilePath(dir.path + "/known_hosts"))
        let nas = #""known_hosts_file": "\#(dir.path)/known_hosts", "bandwidth_schedule": "08:00,512k 19:00,off""#
        let state = #", "state": {"directory": "\#(dir.path)/state"}"#
        let bad = try write(dir, nas: nas, extra: state + #", "concurrency_control": {"bandwidth_schedule": "08:00,2M 7pm,off"}"#)
        let check = try await CLITests.run(["config", "check", "--config", bad])
        #expect(check.status == .exited(78))
        #expect(check.err.contains(#"concurrency_control.bandwidth_schedule: entry "7pm,off": the time "7pm" is not HH:MM"#), "\(check.err)")

        let good = try write(dir, nas: nas, extra: state + #", "concurrency_control": {"bandwidth_schedule": "2M"}"#)
        let ok = try await CLITests.run(["config", "check", "--config", good])
        #expect(ok.status == .exited(0), "\(ok.err)")
        // No state database yet: the verdict is unknown, the limits are shown all the same.
        let status = try await CLITests.run(["status", "--json", "--config", good])
        #expect(status.status == .exited(3))
        let object = try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any]
        let limits = try #require(object?["bandwidth"] as? [[String: Any]], "\(status.out)")
        #expect(limits.count == 2)
        #expect(limits.first?["destination"] is NSNull && limits.first?["bytes_per_second"] as? Int == 2 << 20)
        #expect(limits.first?["next_change_at"] is NSNull)
        #expect(limits.last?["destination"] as? String == "nas" && limits.last?["schedule"] as? String == "08:00,512k 19:00,off")
        #expect(limits.last?["next_change_at"] is String)
    }
}
