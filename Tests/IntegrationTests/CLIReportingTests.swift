import Foundation
import Glibc
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// What scripts and monitoring read: exit statuses that mean one thing each, and `--json`.
@Suite struct CLIReportingTests {
    typealias Setup = CLITests.Setup
    static func run(_ arguments: [String]) async throws -> (status: TerminationStatus, out: String, err: String) {
        try await CLITests.run(arguments)
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// RFC 3339 in UTC, as every --json writes times.
    static func isRFC3339(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return text.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil
    }

    /// The text table's form of a cause (ssh's stderr may hold newlines and tabs).
    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ⏎ ").replacingOccurrences(of: "\t", with: " ")
    }

    static func rewrite(_ s: Setup, _ change: (inout [String: Any]) -> Void) throws {
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.configPath))) as! [String: Any]
        change(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: s.configPath))
    }

    @Test func statusWithoutAStateDatabaseIsUnknownExits3AndCreatesNothing() async throws {
        let s = try await Setup("status-unknown")
        defer { s.cleanUp() }
        let text = try await Self.run(["status", "--config", s.configPath])
        #expect(text.status == .exited(3), "\(text.out)\(text.err)")
        #expect(text.out.hasPrefix("health: unknown\n  - unknown: no state database at \(s.state.path)/db/state.sqlite"))
        #expect(!LocalFS.exists(FilePath(s.state.path + "/db")), "status created the state folder")
        let json = try Self.object(try await Self.run(["status", "--json", "--config", s.configPath]).out)
        #expect(json["schema_version"] as? Int == 1 && Self.isRFC3339(json["generated_at"]))
        #expect((json["health"] as? [String: Any])?["level"] as? String == "unknown")
        #expect(json["ledger"] is NSNull && json["delete_queue"] is NSNull && json["exit_status"] as? Int == 3)
    }

    @Test func statusExitsByHealthAndItsJSONHasRFC3339TimesAndNulls() async throws {
        let s = try await Setup("status-json")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        #expect(try await Self.run(["sync", "--once", "--config", s.configPath]).status == .exited(0))
        let healthy = try await Self.run(["status", "--json", "--config", s.configPath])
        #expect(healthy.status == .exited(0), "\(healthy.out)")
        let json = try Self.object(healthy.out)
        #expect(json["schema_version"] as? Int == 1 && Self.isRFC3339(json["generated_at"]))
        let health = try #require(json["health"] as? [String: Any])
        #expect(health["level"] as? String == "healthy" && Self.isRFC3339(health["last_success_at"]))
        let cycle = try #require((json["cycles"] as? [[String: Any]])?.first)
        #expect(Self.isRFC3339(cycle["started_at"]) && Self.isRFC3339(cycle["finished_at"]))
        #expect(cycle["message"] is NSNull, "\(cycle)")

        // The media root goes away (an unmounted card): the sync says so, and health is critical.
        try Self.rewrite(s) { $0["local"] = ["media_roots": [s.source.path + "/card"], "min_file_age_seconds": 0] }
        let sync = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(sync.status == .exited(1), "\(sync.out)")
        #expect(sync.out.contains("health:          critical: media root unreadable"), "\(sync.out)")
        let critical = try await Self.run(["status", "--config", s.configPath])
        #expect(critical.status == .exited(2), "\(critical.out)")
        #expect(critical.out.contains("critical: media root unreadable in the last scan"))
    }

    @Test func aQuarantinedFileMakesLaterSyncsExit4AndQueueListShowsTheWholeCause() async throws {
        let s = try await Setup("qwaiting")
        defer { s.cleanUp() }
        try TestFiles.write(size: 100, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        // The day folder is not writable by the NAS user: a permanent error, quarantined at once.
        try LocalFS.createDirectories(FilePath(s.remoteBase + "/2025/01/01"))
        #expect(try await Self.run(["sync", "--once", "--config", s.configPath]).status == .exited(1))
        let waiting = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(waiting.status == .exited(4), "\(waiting.out)")
        #expect(waiting.out.contains("failed:          0"))

        let list = try await Self.run(["queue", "list", "--config", s.configPath])
        let lines = list.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "DESTINATION\tATTEMPTS\tNEXT ATTEMPT\tFILE\tCAUSE", "\(list.out)")
        let row = try #require(lines.dropFirst().first).split(separator: "\t").map(String.init)
        #expect(row.count == 5 && row[0] == "nas" && row[2].hasPrefix("quarantined"))
        #expect(row[4].hasPrefix("permanent error: ") && !row[4].contains("permanent: permanent"), "\(row)")
        #expect(lines.contains("STATE\tDUE\tSIZE\tFILE\tLAST CHECK") || list.out.contains("the delete queue is empty"))

        let json = try Self.object(try await Self.run(["queue", "list", "--json", "--config", s.configPath]).out)
        #expect(json["schema_version"] as? Int == 1)
        let failure = try #require((json["failures"] as? [[String: Any]])?.first)
        #expect(failure["quarantined"] as? Bool == true && failure["next_attempt_at"] is NSNull)
        #expect(failure["error_kind"] as? String == "permanent" && (failure["cause"] as? String).map(Self.oneLine) == row[4], "\(failure)")
        #expect(json["delete_queue"] as? [Any] != nil)
    }

    @Test func ctrlCOfASyncIsCancelledExits130AndRaisesNoAlert() async throws {
        let s = try await Setup("sigint")
        defer { s.cleanUp() }
        // A large sparse file: slow enough to stream that the signal lands mid-transfer.
        let video = s.source.appending("DJI_20250101120000_0001_V.MP4")
        try TestFiles.write([], to: video, modified: .secondsAgo(3600))
        _ = video.withPlatformString { truncate($0, 1 << 30) }
        try TestFiles.setModificationTime(video, to: .secondsAgo(3600))
        let result = try await Subprocess.run(
            .path(FilePath(try CLITests.binary())), arguments: ["sync", "--once", "--config", s.configPath],
            input: .none, output: .string(limit: 1 << 20), error: .string(limit: 1 << 20)
        ) { execution in
            try await waitUntil(timeout: .seconds(60), poll: .milliseconds(5), waitingFor: "a temp file on the NAS") {
                s.remoteFiles().contains { $0.contains("/.dms-") }
            }
            try execution.send(signal: .interrupt)
        }
        let out = result.standardOutput, err = result.standardError
        #expect(result.terminationStatus == .exited(130), "\(out)\n\(err)")
        #expect(out.contains(": cancelled in "), "\(out)")
        #expect(!out.contains("unavailable") && !err.contains("ALERT") && !err.contains("unreachable"), "\(out)\n\(err)")
        let status = try await Self.run(["status", "--config", s.configPath])
        #expect(!status.out.contains("unreachable"), "\(status.out)")
    }

    @Test func verifyAndRetentionSpeakJSONAndVerifyTakesSeconds() async throws {
        let s = try await Setup("verify-json")
        defer { s.cleanUp() }
        try TestFiles.write(size: 4000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        #expect(try await Self.run(["sync", "--once", "--config", s.configPath]).status == .exited(0))
        let verify = try await Self.run(["verify", "--since", "3600s", "--json", "--config", s.configPath])
        #expect(verify.status == .exited(0), "\(verify.out)\(verify.err)")
        let v = try Self.object(verify.out)
        #expect(v["schema_version"] as? Int == 1 && Self.isRFC3339(v["since"]) && v["mode"] as? String == "sha256")
        #expect(v["copies_checked"] as? Int == 1 && v["missing_or_different"] as? Int == 0 && v["exit_status"] as? Int == 0)
        #expect((v["unavailable"] as? [Any])?.isEmpty == true)

        let retention = try await Self.run(["retention", "--dry-run", "--json", "--config", s.configPath])
        #expect(retention.status == .exited(0), "\(retention.out)\(retention.err)")
        let r = try Self.object(retention.out)
        #expect(r["schema_version"] as? Int == 1 && r["dry_run"] as? Bool == true)
        let nas = try #require((r["destinations"] as? [[String: Any]])?.first)
        #expect(nas["destination"] as? String == "nas" && nas["free_bytes"] as? Int64 != nil && nas["error"] is NSNull, "\(nas)")
    }
}

extension CLIReportingTests {
    @Test func aRefusedSSHKeyIsReportedAsAnAuthenticationFailure() async throws {
        let s = try await Setup("auth")
        defer { s.cleanUp() }
        // A key the NAS does not know: ssh says "Permission denied (publickey)".
        let key = s.state.path + "/stranger_key"
        let keygen = try await Subprocess.run(
            .name("ssh-keygen"), arguments: ["-q", "-t", "ed25519", "-N", "", "-f", key],
            output: .discarded, error: .string(limit: 1 << 16))
        try #require(keygen.terminationStatus == .exited(0), "\(keygen.standardError)")
        try Self.rewrite(s) { config in
            var nas = (config["destinations"] as! [[String: Any]])[0]
            nas["identity_file"] = key
            config["destinations"] = [nas]
        }
        try TestFiles.write(size: 10, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let sync = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(sync.status == .exited(1), "\(sync.out)\(sync.err)")
        #expect(sync.out.contains("unavailable:     nas (authentication failed)"), "\(sync.out)")
        #expect(sync.out.contains("critical: nas: authentication failed"), "\(sync.out)")
        let status = try await Self.run(["status", "--json", "--config", s.configPath])
        #expect(status.status == .exited(2))
        let reasons = try #require((Self.object(status.out)["health"] as? [String: Any])?["reasons"] as? [[String: Any]])
        #expect(reasons.contains { $0["rule"] as? String == "authentication:nas" }, "\(reasons)")
        #expect(!reasons.contains { ($0["rule"] as? String)?.hasPrefix("unreachable") == true })
    }
}

extension CLIReportingTests {
    /// Every reporting command takes --json, and operations.md shows an example of each.
    @Test func everyReportingCommandTakesJSONAndIsDocumented() async throws {
        let doc = try String(contentsOfFile: try repositoryRoot() + "/docs/operations.md", encoding: .utf8)
        for command in [["status"], ["queue", "list"], ["verify"], ["retention"], ["cleanup"], ["doctor"]] {
            let help = try await Self.run(command + ["--help"])
            #expect(help.out.contains("--json"), "\(command) --help: \(help.out)")
            #expect(doc.contains("`\(command.joined(separator: " ")) --json`"), "operations.md shows no `\(command.joined(separator: " ")) --json`")
        }
        let syncHelp = try await Self.run(["sync", "--help"])
        #expect(syncHelp.out.contains("--json"), "sync --help: \(syncHelp.out)")
        #expect(doc.contains("`sync --once --dry-run --json`"), "operations.md shows no `sync --once --dry-run --json`")
        // The exit table documents each status `sync --once` and `status` use.
        for row in ["| `sync --once` |", "| `sync --once --dry-run` |", "| `status` | healthy | warning | critical | unknown"] { #expect(doc.contains(row), "\(row)") }
        let sync = try await Self.run(["sync", "--help"])
        for code in ["4 nothing failed", "130 or 143"] { #expect(sync.out.replacingOccurrences(of: "\n", with: " ").contains(code), "\(sync.out)") }
    }
}
