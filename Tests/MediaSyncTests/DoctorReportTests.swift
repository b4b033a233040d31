import Foundation
import MediaSync
import Testing

/// The rendering of `doctor`'s findings: the JSON contract and the table.
@Suite struct DoctorReportTests {
    static let checks: [DoctorCheck] =
        [
            .ok("config", "/etc/dji-media-sync/media_sync_config.json", "valid"),
            .fail("media_root.readable", "/data/dji/media", "does not exist", fix: "create it (`sudo mkdir -p /data/dji/media`)"),
            .warn("nas.free_space", "nas", "1.0 GiB free of 10.0 GiB (90 % used)", fix: "free space")
        ] + DoctorCheck.skipped(["media_root.deletable"], "/data/dji/media", because: "media_root.readable")

    static let report = DoctorReport(checks: checks, generatedAt: Date(timeIntervalSince1970: 1_780_000_000), host: "edge-17")

    @Test func jsonHasTheSchemaVersionAnRFC3339TimeAndEveryKeyOfEveryCheck() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(Self.report.json().utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["schema_version", "generated_at", "host", "ok", "exit_status", "summary", "checks"])
        #expect(json["schema_version"] as? Int == 1)
        #expect(json["generated_at"] as? String == "2026-05-28T20:26:40Z")
        #expect(json["host"] as? String == "edge-17")
        #expect(json["ok"] as? Bool == false)
        #expect(json["exit_status"] as? Int == 1)
        #expect(json["summary"] as? [String: Int] == ["ok": 1, "warn": 1, "fail": 1, "skip": 1])
        let checks = try #require(json["checks"] as? [[String: Any]])
        #expect(checks.count == 4)
        for check in checks { #expect(Set(check.keys) == ["check", "subject", "status", "detail", "fix"]) }
        #expect(checks.map { $0["status"] as? String } == ["ok", "fail", "warn", "skip"])
        #expect(checks[0]["fix"] is NSNull)
        #expect(checks[1]["fix"] as? String == "create it (`sudo mkdir -p /data/dji/media`)")
        #expect(checks[3]["detail"] as? String == "not checked: media_root.readable failed")
        // Stable: keys sorted, slashes not escaped.
        #expect(Self.report.json().contains("\"check\" : \"config\",\n      \"detail\""))
        #expect(Self.report.json().contains("/etc/dji-media-sync/"))
    }

    @Test func warningsAndSkipsDoNotFailOnlyAFailureDoes() {
        #expect(DoctorReport(checks: [.ok("a", "x", "fine")], host: "h").exitStatus == 0)
        #expect(DoctorReport(checks: [.warn("a", "x", "hm", fix: "f")] + DoctorCheck.skipped(["b"], "x", because: "a"), host: "h").exitStatus == 0)
        #expect(Self.report.exitStatus == 1)
    }

    @Test func theTableHasAMarkPerCheckAndTheFixUnderEachProblem() {
        let lines = Self.report.table().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "dji-media-sync doctor on edge-17 at 2026-05-28T20:26:40Z")
        #expect(lines[1].hasPrefix("✓ config "))
        #expect(lines[2].hasPrefix("✗ media_root.readable   /data/dji/media"))
        #expect(lines[2].hasSuffix("  does not exist"))
        #expect(lines[3] == "    fix: create it (`sudo mkdir -p /data/dji/media`)")
        #expect(lines[4].hasPrefix("! nas.free_space"))
        #expect(lines[5] == "    fix: free space")
        #expect(lines[6].hasPrefix("- media_root.deletable"))
        #expect(lines[7].hasPrefix("1 ok, 1 warning, 1 failed, 1 not checked"))
        #expect(lines.last == "")
        // Columns line up: the subject starts at the same offset on every check line.
        // Columns line up: mark, space, the check padded to the longest (20), two spaces, the subject.
        for (line, subject) in [(1, "…c/dji-media-sync/media_sync_config.json  valid"), (2, "/data/dji/media"), (4, "nas "), (6, "/data/dji/media")] {
            #expect(String(lines[line].dropFirst(24)).hasPrefix(subject), "\(lines[line])")
        }
        // No escape codes unless asked for.
        #expect(!Self.report.table().contains("\u{1B}["))
        #expect(Self.report.table(color: true).contains("\u{1B}[31m✗\u{1B}[0m"))
    }

    @Test func aLongSubjectKeepsItsEndAndAMultiLineFixIsIndented() {
        let long = "/" + String(repeating: "a", count: 60) + "/media"
        let report = DoctorReport(checks: [.fail("x", long, "bad", fix: "one\ntwo")], host: "h")
        let lines = report.table().split(separator: "\n").map(String.init)
        #expect(lines[1].contains("…" + String(long.suffix(39))))
        #expect(lines[2] == "    fix: one")
        #expect(lines[3] == "         two")
    }
}
