import Configuration
import Foundation
import Hashing
import LocalFS
import MediaSync
import SystemPackage
import TestSupport
import Testing

@Suite struct HealthTests {
    static func config() -> MediaSyncConfig {
        var c = MediaSyncConfig(local: .init(mediaRoots: ["/data"]), destinations: [.nas(.init(host: "nas", basePath: "/b"))])
        c.health.maxMinutesWithoutSuccess = 60
        c.health.minSuccessRate = 0.8
        return c
    }

    static func cycle(_ store: StateStore, at start: Double, status: CycleSummary.Status, files: Int = 1, unavailable: [String] = []) throws {
        let id = try store.beginCycle(now: start)
        var s = CycleSummary(cycleID: id, startedAt: start)
        s.finishedAt = start + 10
        s.status = status
        s.filesCopied = files
        s.bytesCopied = Int64(files) * 1000
        s.unavailableDestinations = unavailable
        try store.finishCycle(s)
    }

    @Test func healthyThenWarningThenCriticalWithReasons() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        let now = Date().timeIntervalSince1970
        try Self.cycle(store, at: now - 600, status: .ok, files: 4)
        var report = try HealthEvaluator.evaluate(store: store, config: Self.config(), now: now)
        #expect(report.level == .healthy && report.findings.isEmpty)
        #expect(report.files24h == 4 && report.bytes24h == 4000 && report.successRate24h == 1)
        #expect(report.averageSecondsPerFile == 2.5)
        // Three failed cycles out of four: success rate 25 %, and the NAS unreachable last time.
        for i in 1...3 { try Self.cycle(store, at: now - 600 + Double(i * 60), status: .failed, files: 0, unavailable: ["nas"]) }
        report = try HealthEvaluator.evaluate(store: store, config: Self.config(), now: now)
        #expect(report.level == .critical)
        #expect(Set(report.findings.map(\.rule)) == ["low_success_rate", "unreachable:nas"])
        #expect(report.shortLine.hasPrefix("critical: nas unreachable"))
        // Two hours later with nothing better: no successful sync for too long.
        report = try HealthEvaluator.evaluate(store: store, config: Self.config(), now: now + 7200)
        #expect(report.findings.contains { $0.rule == "no_recent_success" && $0.level == .critical })
        // Destination usage from the last space reading.
        try store.setMeta("space:nas", "\(Int64(4e9)) \(Int64(100e9)) \(now)")
        report = try HealthEvaluator.evaluate(store: store, config: Self.config(), now: now)
        #expect(report.findings.contains { $0.rule == "usage:nas" && $0.level == .critical && $0.message.contains("96%") })
    }

    @Test func alertsAreSuppressedRepeatedAfterTheWindowAndResolved() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        var report = HealthReport()
        report.findings = [.init(rule: "quarantined", level: .warning, message: "2 files quarantined")]
        let t0 = 1_000_000.0
        #expect(try AlertDecider.decide(report, store: store, suppressionMinutes: 60, now: t0).map(\.state) == ["raised"])
        #expect(try AlertDecider.decide(report, store: store, suppressionMinutes: 60, now: t0 + 60).isEmpty)
        #expect(try AlertDecider.decide(report, store: store, suppressionMinutes: 60, now: t0 + 3601).map(\.state) == ["raised"])
        report.findings = []
        let resolved = try AlertDecider.decide(report, store: store, suppressionMinutes: 60, now: t0 + 3700)
        #expect(resolved.map(\.state) == ["resolved"] && resolved.first?.rule == "quarantined")
        #expect(try AlertDecider.decide(report, store: store, suppressionMinutes: 60, now: t0 + 3800).isEmpty)
    }

    @Test func prometheusTextIsWellFormed() throws {
        var report = HealthReport()
        report.level = .warning
        report.destinations = [.init(name: "nas \"1\"", freeBytes: 5, totalBytes: 10, measuredAt: 0)]
        report.failuresByKind = ["transient": 2]
        let text = MetricsText.render(report, last: nil)
        let sample = /^dji_media_sync_[a-z0-9_]+(\{[a-z_]+="(?:[^"\\]|\\.)*"\})? -?[0-9.e+-]+$/
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: sample) != nil, "\(line)")
        }
        #expect(text.contains("dji_media_sync_health 1.0"))
        #expect(text.contains(#"dji_media_sync_destination_used_ratio{destination="nas \"1\""} 0.5"#))
    }
}
