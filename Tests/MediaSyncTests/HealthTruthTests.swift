import Configuration
import Foundation
import LocalFS
import MediaSync
import SystemPackage
import TestSupport
import Testing

/// Health says what is wrong, and only what is wrong: an unreadable media root, a refused key, a
/// metrics file that cannot be written count against it; a cancel does not.
@Suite struct HealthTruthTests {
    @Test func aMissingMediaRootIsCriticalAndResolvesWhenItIsBack() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let root = f.source.path + "/card"
        f.config.local.mediaRoots = [root]
        let missing = await f.cycle()
        #expect(missing.unreadableMediaRoots?.first?.hasPrefix(root) == true, "\(missing.messages)")
        #expect(missing.status == .failed)
        let finding = try #require(missing.health?.findings.first { $0.rule == "media_roots" })
        #expect(finding.level == .critical && finding.message.contains(root) && finding.message.contains("mounted"))
        #expect(missing.alerts.contains { $0.rule == "media_roots" && $0.state == "raised" })
        try LocalFS.createDirectories(FilePath(root))
        let back = await f.cycle()
        #expect(back.health?.findings.contains { $0.rule == "media_roots" } == false)
        #expect(back.alerts.contains { $0.rule == "media_roots" && $0.state == "resolved" })
    }

    @Test(.disabled(if: getuid() == 0, "root reads a mode-000 folder all the same"))
    func anUnreadableSubfolderIsAWarning() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let locked = f.source.path + "/locked"
        try LocalFS.createDirectories(FilePath(locked))
        chmod(locked, 0)
        defer { chmod(locked, 0o755) }
        let s = await f.cycle()
        #expect(s.health?.findings.contains { $0.rule == "scan" && $0.level == .warning } == true)
    }

    @Test func aRefusedKeyIsAnAuthenticationFailureNotUnreachable() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        try f.add("DJI_0001.JPG", bytes: [1, 2, 3])
        f.remote("nas").on(.connect, .fail(DestinationError(.authentication, "Permission denied (publickey)")))
        let s = await f.cycle()
        #expect(s.unavailableDestinations == ["nas"] && s.unavailableKinds["nas"] == .authentication)
        let health = try #require(s.health)
        #expect(health.level == .critical)
        #expect(health.findings.map(\.rule).contains("authentication:nas"), "\(health.findings)")
        #expect(!health.findings.map(\.rule).contains("unreachable:nas"))
        #expect(health.shortLine.contains("authentication failed"), "\(health.shortLine)")
        #expect(s.messages.joined().contains("authentication failed: Permission denied (publickey)"), "\(s.messages)")
        // status (another process) reads the same from the state database.
        let again = try HealthEvaluator.evaluate(store: f.store, config: f.config)
        #expect(again.findings.map(\.rule).contains("authentication:nas"))
    }

    @Test func aCancelIsCancelledWithNoAlertAndNoUnreachable() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        try f.add("DJI_0001.JPG", bytes: [1, 2, 3])
        #expect(await f.cycle().status == .ok)
        try f.add("DJI_0002.JPG", bytes: [4, 5, 6])
        f.remote("nas").on(.connect, .cancelTask)
        // In a task of its own: the scripted stop cancels the task that runs the cycle.
        let engine = f.engine()
        let s = await Task { await engine.runCycle() }.value
        #expect(s.status == .cancelled)
        #expect(s.unavailableDestinations.isEmpty, "\(s.messages)")
        #expect(s.alerts.isEmpty, "\(s.alerts)")
        // Neither a success nor a failure: the success rate is that of the finished cycles.
        let health = try HealthEvaluator.evaluate(store: f.store, config: f.config)
        #expect(health.level == .healthy, "\(health.findings)")
        #expect(health.cycles24h == 1 && health.successRate24h == 1)
        #expect(try f.store.recentCycles(limit: 1).first?.status == "cancelled")
    }

    @Test func aMetricsFileThatCannotBeWrittenIsAFindingNotCannotAssessHealth() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        f.config.health.prometheusTextfile = f.state.path + "/no-such-folder/dms.prom"
        let s = await f.cycle()
        let finding = try #require(s.health?.findings.first { $0.rule == "metrics_file" })
        #expect(finding.level == .warning && finding.message.contains("cannot write the metrics file"))
        #expect(f.logs.text.contains("cannot write the metrics file"))
        #expect(!f.logs.text.contains("cannot assess health"))
        // Writable again: the finding goes away.
        f.config.health.prometheusTextfile = f.state.path + "/dms.prom"
        let fixed = await f.cycle()
        #expect(fixed.health?.findings.contains { $0.rule == "metrics_file" } == false)
        #expect(LocalFS.exists(FilePath(f.state.path + "/dms.prom")))
    }

    @Test func errorValuesReadAsWordsNotSwiftValues() {
        let digest = String(repeating: "4801", count: 16)
        let texts = [VerifyResult.hashMismatch(found: digest), .sizeMismatch(found: 12), .missing, .unknown("no answer")].map { "\($0)" }
        for text in texts { #expect(!text.contains("(found:") && !text.contains("Mismatch"), "\(text)") }
        #expect(texts[0] == "SHA-256 differs: 4801480148014801… there")
        #expect(texts[1] == "size differs: 12 bytes there")
        let error = DestinationError(.authentication, "Permission denied (publickey)", exitStatus: 255)
        #expect("\(error)" == "authentication failed: Permission denied (publickey); exit status 255")
        #expect("\(DestinationError(.hostKey, "changed"))" == "host key not accepted: changed")
        #expect(Format.count(1, "file") == "1 file" && Format.count(2, "copy", "copies") == "2 copies")
    }
}

extension HealthTruthTests {
    @Test func filesWaitingForSpaceNameTheDestinationThatIsFull() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "cloud"])
        defer { f.cleanUp() }
        for i in 0..<3 { try f.add("IMG_\(i).JPG", bytes: [UInt8](repeating: UInt8(i), count: 2000)) }
        f.remote("cloud").capacity = 2000 // room for one file
        let s = await f.cycle()
        #expect(s.waitingForSpaceOn == ["cloud": 2], "\(s.messages)")
        let findings = try #require(s.health?.findings)
        #expect(findings.contains { $0.rule == "full:cloud" && $0.message == "2 files wait for space on cloud" }, "\(findings)")
        #expect(!findings.contains { $0.rule == "full:nas" })
    }
}
