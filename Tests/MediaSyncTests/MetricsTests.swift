import Configuration
import Foundation
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// The Prometheus textfile: counters persisted in the state database (monotonic across restarts
/// and crashes), per-destination gauges, and the whole file accepted by `promtool check metrics`.
@Suite struct MetricsTests {
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("dji_media_sync_\(series) ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// `promtool check metrics` on `text`: its exit status and what it said (lint problems).
    static func promtool(_ text: String) async throws -> (status: Int32, output: String) {
        let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("promtool is missing: scripts/install-deps.sh installs it (Debian package prometheus)")
            return (-1, "")
        }
        return try await runBlocking {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["check", "metrics"]
            let input = Pipe(), output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = output
            try process.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            let said = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: said, as: UTF8.self))
        }
    }

    @Test func countersSurviveRestartsAndCrashesAndPromtoolAcceptsTheFile() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "cloud"])
        defer { f.cleanUp() }
        let textfile = f.state.path + "/metrics.prom"
        f.config.health.prometheusTextfile = textfile
        func metrics() throws -> String { String(decoding: try FileIO.readWholeFile(FilePath(textfile)), as: UTF8.self) }

        try f.add("A.JPG", bytes: ScriptedEngineTests.bytes(1000, 1))
        try f.add("B.JPG", bytes: ScriptedEngineTests.bytes(2000, 2))
        let first = await f.cycle()
        #expect(first.status == .ok)
        var text = try metrics()
        #expect(Self.sample(text, #"files_copied_total{destination="nas"}"#) == 2)
        #expect(Self.sample(text, #"bytes_copied_total{destination="cloud"}"#) == 3000)
        #expect(Self.sample(text, #"cycles_total{result="ok"}"#) == 1)
        #expect(Self.sample(text, #"cycles_total{result="failed"}"#) == 0)
        #expect(Self.sample(text, #"build_info{version="\#(BuildInfo.version)"}"#) == 1)
        #expect(Self.sample(text, #"destination_reachable{destination="cloud"}"#) == 1)
        #expect(Self.sample(text, #"destination_last_success_timestamp_seconds{destination="nas"}"#) == first.finishedAt)
        #expect(Self.sample(text, #"verification_mismatches_total{check="transfer"}"#) == 0)

        // A restart (the store opened again), then a copy that arrives damaged on one destination.
        try f.reopenStore()
        try f.add("C.JPG", bytes: ScriptedEngineTests.bytes(3000, 3))
        f.remote("cloud").on(.file, .corrupt)
        let second = await f.cycle()
        #expect(second.status == .partial)
        text = try metrics()
        #expect(Self.sample(text, #"files_copied_total{destination="nas"}"#) == 3)
        #expect(Self.sample(text, #"files_copied_total{destination="cloud"}"#) == 2)
        #expect(Self.sample(text, #"bytes_copied_total{destination="nas"}"#) == 6000)
        #expect(Self.sample(text, #"transfer_failures_total{kind="verificationFailed"}"#) == 1)
        #expect(Self.sample(text, #"verification_mismatches_total{check="transfer"}"#) == 1)
        #expect(Self.sample(text, #"cycles_total{result="partial"}"#) == 1)

        // The cloud cannot be reached: its gauge drops and its last success stays where it was;
        // the NAS (nothing to do) is in sync at this cycle's end.
        let cloudSuccess = Self.sample(text, #"destination_last_success_timestamp_seconds{destination="cloud"}"#)
        f.remote("cloud").on(.connect, .fail(DestinationError(.unreachable, "connection refused")))
        let third = await f.cycle()
        text = try metrics()
        #expect(third.unavailableDestinations == ["cloud"])
        #expect(Self.sample(text, #"destination_reachable{destination="cloud"}"#) == 0)
        #expect(Self.sample(text, #"destination_reachable{destination="nas"}"#) == 1)
        #expect(Self.sample(text, #"destination_last_success_timestamp_seconds{destination="cloud"}"#) == cloudSuccess)
        #expect(Self.sample(text, #"destination_last_success_timestamp_seconds{destination="nas"}"#) == third.finishedAt)

        // A crash mid-cycle (begun, never finished): counted as aborted when the next one begins.
        _ = try f.store.beginCycle()
        try f.reopenStore()
        _ = await f.cycle()
        text = try metrics()
        #expect(Self.sample(text, #"cycles_total{result="aborted"}"#) == 1)
        let results = ["ok", "partial", "failed", "aborted"].compactMap { Self.sample(text, #"cycles_total{result="\#($0)"}"#) }
        #expect(results.reduce(0, +) == 5)
        // Histogram: every finished cycle once, cumulative buckets.
        #expect(Self.sample(text, "cycle_duration_seconds_count") == 4)
        #expect(Self.sample(text, #"cycle_duration_seconds_bucket{le="+Inf"}"#) == 4)
        #expect(Self.sample(text, #"cycle_duration_seconds_bucket{le="14400"}"#) == 4)

        let check = try await Self.promtool(text)
        #expect(check.status == 0, "promtool check metrics:\n\(check.output)\n\(text)")
    }

    @Test func sourcesDeletedAndMismatchesBeforeDeleteAreCounted() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let textfile = f.state.path + "/metrics.prom"
        f.config.health.prometheusTextfile = textfile
        try f.add("A.JPG", bytes: ScriptedEngineTests.bytes(1000, 1))
        try f.add("B.JPG", bytes: ScriptedEngineTests.bytes(1000, 2))
        _ = await f.cycle()
        // One copy disappears before its source is due for deletion: kept, copied again.
        let copies = f.remote("nas").finalFiles().keys.sorted { $0.string < $1.string }
        _ = f.remote("nas").remove(copies[0])
        let second = await f.cycle()
        #expect(second.deleted == 1)
        let text = String(decoding: try FileIO.readWholeFile(FilePath(textfile)), as: UTF8.self)
        #expect(Self.sample(text, "sources_deleted_total") == 1)
        #expect(Self.sample(text, #"verification_mismatches_total{check="before_delete"}"#) == 1)
        let check = try await Self.promtool(text)
        #expect(check.status == 0, "promtool check metrics:\n\(check.output)")
    }

    @Test func anEmptyStoreRendersEveryMetricAndPromtoolAcceptsIt() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        let fleet = try store.fleetMetrics(destinations: ["nas \"1\""])
        let text = MetricsText.render(HealthReport(), last: nil, fleet: fleet)
        #expect(Self.sample(text, "sources_deleted_total") == 0)
        #expect(Self.sample(text, #"files_copied_total{destination="nas \"1\""}"#) == 0)
        #expect(!text.contains("destination_reachable{"), "unknown until a cycle contacts it")
        let check = try await Self.promtool(text)
        #expect(check.status == 0, "promtool check metrics:\n\(check.output)\n\(text)")
    }

    @Test func everyMetricIsDocumentedWithItsType() throws {
        let doc = try String(contentsOfFile: try repositoryRoot() + "/docs/operations.md", encoding: .utf8)
        var report = HealthReport()
        report.destinations = [.init(name: "nas", freeBytes: 1, totalBytes: 2, measuredAt: 0)]
        report.failuresByKind = ["transient": 1]
        var last = CycleSummary(cycleID: 1, startedAt: 0)
        last.finishedAt = 1
        var fleet = StateStore.FleetMetrics()
        fleet.destinations = [.init(name: "nas", reachable: true, lastSuccessAt: 1)]
        let text = MetricsText.render(report, last: last, fleet: fleet)
        let types = text.matches(of: /# TYPE dji_media_sync_([a-z0-9_]+) ([a-z]+)/).map { (String($0.output.1), String($0.output.2)) }
        #expect(types.count > 20)
        let rows = doc.split(separator: "\n").filter { $0.hasPrefix("| `") }
        for (name, type) in types {
            #expect(rows.contains { $0.contains("`\(name)`") && $0.contains("| \(type) |") }, "\(name) (\(type)) is not in docs/operations.md")
        }
    }
}
