import Foundation
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `restore` as operators and scripts run it: exit statuses and `--json`.
@Suite struct RestoreCLITests {
    @Test func restoreExitsByOutcomeAndSpeaksJSON() async throws {
        let s = try await CLITests.Setup("restore-cli")
        defer { s.cleanUp() }
        let source = s.source.appending("DJI_20250101120000_0001_D.JPG")
        try TestFiles.write(size: 4000, seed: 5, to: source, modified: .secondsAgo(3600))
        let original = try FileIO.readWholeFile(source)
        #expect(try await CLIReportingTests.run(["sync", "--once", "--config", s.configPath]).status == .exited(0))
        try LocalFS.unlink(source)
        let target = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? target.remove() }

        let first = try await CLIReportingTests.run(["restore", "--copied-from", "2000-01-01", "--target", target.path, "--json", "--config", s.configPath])
        #expect(first.status == .exited(0), "\(first.out)\(first.err)")
        let j = try CLIReportingTests.object(first.out)
        #expect(j["schema_version"] as? Int == 1 && j["restored"] as? Int == 1 && j["failed"] as? Int == 0 && j["exit_status"] as? Int == 0)
        let file = try #require((j["files"] as? [[String: Any]])?.first)
        #expect(file["status"] as? String == "restored" && CLIReportingTests.isRFC3339(file["copied_at"]) && file["error"] is NSNull, "\(file)")
        let restored = FilePath(try #require(file["target"] as? String))
        #expect(try FileIO.readWholeFile(restored) == original)
        #expect(first.err.contains("[1/1"), "progress on stderr: \(first.err)")

        // Another file under that name: not overwritten, exit 1.
        try TestFiles.write(Array("mine".utf8), to: restored)
        let second = try await CLIReportingTests.run(["restore", "--local-path", s.source.path, "--target", target.path, "--config", s.configPath])
        #expect(second.status == .exited(1), "\(second.out)\(second.err)")
        #expect(try FileIO.readWholeFile(restored) == Array("mine".utf8))

        // Nothing matches: exit 3. Two selectors, or an unknown destination: a usage error, 64.
        let unknown = try await CLIReportingTests.run(["restore", "--destination", "nope", "--local-path", s.source.path, "--target", target.path, "--config", s.configPath])
        #expect(unknown.status == .exited(64) && unknown.err.contains("no destination named \"nope\""), "\(unknown.out)\(unknown.err)")
        let none = try await CLIReportingTests.run(["restore", "--remote-path", "/nowhere/x.JPG", "--target", target.path, "--config", s.configPath])
        #expect(none.status == .exited(3), "\(none.out)\(none.err)")
        let two = try await CLIReportingTests.run(["restore", "--remote-path", "/x", "--local-path", "/y", "--target", target.path, "--config", s.configPath])
        #expect(two.status == .exited(64), "\(two.out)\(two.err)")
    }
}
