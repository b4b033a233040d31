import ArgumentParser
import Configuration
import Foundation
import LocalFS
import MediaSync
import SystemPackage

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the health verdict, the last cycles, the delete queue and the ledger.",
        discussion: """
            Exit status (the monitoring-plugin convention, for Nagios/Icinga-style checks): \
            0 healthy, 1 warning, 2 critical, 3 unknown (no state database yet, or it cannot be read). \
            Reading the status changes nothing: a missing state folder is reported, not created.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1

    enum Verdict: String { case healthy, warning, critical, unknown }

    static func exitStatus(_ verdict: Verdict) -> Int32 {
        switch verdict {
        case .healthy: 0
        case .warning: 1
        case .critical: 2
        case .unknown: 3
        }
    }

    func run() async throws {
        let config = try Runtime.loadConfig(global.config)
        let directory = FilePath(config.state.directory)
        let database = directory.appending("state.sqlite")
        // Opening the store would create the folder and an empty database that then looks healthy.
        guard (try? LocalFS.statusIfExists(database)) != nil else {
            return try unknown(config, "no state database at \(database.displayString): the service has not run yet, or state.directory is wrong")
        }
        let store: StateStore
        let counts: StateStore.Counts
        let cycles: [StateStore.CycleRecord]
        let health: HealthReport
        let destinations: [any Destination]
        do {
            store = try StateStore(directory: directory)
            counts = try store.counts()
            cycles = try store.recentCycles(limit: 5)
            health = try HealthEvaluator.evaluate(store: store, config: config)
            destinations = try Runtime.makeDestinations(config, store: store)
        } catch {
            return try unknown(config, "cannot read the state database \(database.displayString): \(error)")
        }
        let verdict = Verdict(rawValue: health.level.rawValue) ?? .unknown
        if json {
            print(
                JSONOutput.render(
                    [
                        "health": Self.healthObject(verdict, health),
                        "ledger": ["present": counts.ledgerPresent, "lost": counts.ledgerLost],
                        "delete_queue": ["pending": counts.queuePending, "due": counts.queueDue, "deleted": counts.queueDeleted, "kept": counts.queueKept],
                        "cycles": cycles.map(Self.cycleObject),
                        "destinations": destinations.map { ["name": $0.name, "target": $0.displayName] },
                        "bandwidth": BandwidthWatch.statusObjects(config),
                        "running": LiveProgress.read(config)?.json ?? NSNull(),
                        "exit_status": Int(Self.exitStatus(verdict))
                    ], schemaVersion: Self.schemaVersion))
        } else {
            if let pause = try? store.pause() {
                print("paused \(pause.untilText) (since \(JSONOutput.time(Date(timeIntervalSince1970: pause.since))); the daemon starts no cycle)")
            }
            if let running = LiveProgress.read(config) { print(running.line) }
            print(Self.text(health, counts: counts, cycles: cycles, destinations: destinations))
            print(BandwidthWatch.statusLines(config).joined(separator: "\n"))
        }
        if Self.exitStatus(verdict) != 0 { throw ExitCode(Self.exitStatus(verdict)) }
    }

    /// No verdict can be given: say why, in the same shape, and exit 3.
    func unknown(_ config: MediaSyncConfig, _ why: String) throws {
        if json {
            let health: [String: Any] = [
                "level": Verdict.unknown.rawValue,
                "reasons": [["rule": "state_database", "level": Verdict.unknown.rawValue, "message": why]],
                "cycles_24h": 0, "success_rate_24h": NSNull(), "average_cycle_seconds": NSNull(), "average_seconds_per_file": NSNull(),
                "files_24h": 0, "bytes_24h": 0, "last_success_at": NSNull(), "destination_usage": [Any](),
                "failures_by_kind": [String: Any](), "quarantined": NSNull()
            ]
            print(
                JSONOutput.render(
                    [
                        "health": health, "ledger": NSNull(), "delete_queue": NSNull(), "cycles": [Any](),
                        "destinations": config.destinations.map { ["name": $0.name, "target": NSNull()] },
                        "bandwidth": BandwidthWatch.statusObjects(config),
                        "running": NSNull(),
                        "exit_status": Int(Self.exitStatus(.unknown))
                    ], schemaVersion: Self.schemaVersion))
        } else {
            print("health: unknown\n  - unknown: \(why)")
            print(BandwidthWatch.statusLines(config).joined(separator: "\n"))
        }
        throw ExitCode(Self.exitStatus(.unknown))
    }

    static func healthObject(_ verdict: Verdict, _ health: HealthReport) -> [String: Any] {
        [
            "level": verdict.rawValue,
            "reasons": health.findings.map { ["rule": $0.rule, "level": $0.level.rawValue, "message": $0.message] },
            "cycles_24h": health.cycles24h,
            "success_rate_24h": JSONOutput.finite(health.successRate24h),
            "average_cycle_seconds": JSONOutput.finite(health.averageCycleSeconds),
            "average_seconds_per_file": JSONOutput.finite(health.averageSecondsPerFile),
            "files_24h": health.files24h,
            "bytes_24h": health.bytes24h,
            "last_success_at": JSONOutput.time(health.lastSuccessAt),
            "destination_usage": health.destinations.map {
                [
                    "name": $0.name, "free_bytes": $0.freeBytes, "total_bytes": $0.totalBytes,
                    "used_ratio": JSONOutput.finite($0.usedFraction), "measured_at": JSONOutput.time($0.measuredAt)
                ]
            },
            "failures_by_kind": health.failuresByKind,
            "quarantined": health.quarantined
        ]
    }

    static func cycleObject(_ c: StateStore.CycleRecord) -> [String: Any] {
        [
            "id": c.id, "started_at": JSONOutput.time(c.startedAt), "finished_at": JSONOutput.time(c.finishedAt), "status": c.status,
            "files_copied": c.filesCopied, "files_present": c.filesPresent, "bytes": c.bytes,
            "failed": c.failed, "skipped": c.skipped, "deleted": c.deleted, "message": JSONOutput.nullable(c.message)
        ]
    }

    static func text(_ health: HealthReport, counts: StateStore.Counts, cycles: [StateStore.CycleRecord], destinations: [any Destination]) -> String {
        func time(_ t: Double?) -> String { t.map { JSONOutput.time(Date(timeIntervalSince1970: $0)) } ?? "-" }
        var lines = ["health: \(health.level.rawValue)"]
        for finding in health.findings { lines.append("  - \(finding.level.rawValue): \(finding.message)") }
        let rate = health.successRate24h.map { String(format: "%.0f%%", $0 * 100) } ?? "-"
        lines.append(
            "last 24 h: \(Format.count(health.cycles24h, "cycle")), \(rate) succeeded, \(Format.count(health.files24h, "file")), \(Format.bytes(health.bytes24h))"
                + (health.averageCycleSeconds.map { ", average cycle \(Format.duration($0))" } ?? "")
                + (health.averageSecondsPerFile.map { String(format: ", %.2f s per file", $0) } ?? ""))
        lines.append("last successful sync: \(time(health.lastSuccessAt))")
        for d in health.destinations {
            lines.append(
                "destination \(d.name): \(Format.bytes(d.freeBytes)) free of \(Format.bytes(d.totalBytes)) (\(String(format: "%.0f%%", d.usedFraction * 100)) used, as of \(time(d.measuredAt)))"
            )
        }
        if !health.failuresByKind.isEmpty {
            lines.append(
                "files waiting for a retry: " + health.failuresByKind.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                    + "; quarantined: \(health.quarantined)")
        }
        lines.append("destinations: " + destinations.map { "\($0.name) (\($0.displayName))" }.joined(separator: ", "))
        lines.append(
            "ledger: \(Format.count(counts.ledgerPresent, "verified copy", "verified copies"))\(counts.ledgerLost > 0 ? ", \(counts.ledgerLost) lost (being re-copied)" : "")")
        lines.append("delete queue: \(counts.queuePending) pending (\(counts.queueDue) due), \(counts.queueDeleted) deleted, \(counts.queueKept) kept")
        if cycles.isEmpty { lines.append("no cycle has run yet") }
        for c in cycles {
            lines.append(
                "cycle \(c.id) \(time(c.startedAt)) \(c.status): \(c.filesCopied) copied, \(c.filesPresent) already there, \(Format.bytes(c.bytes)), \(c.failed) failed, \(c.deleted) deleted"
                    + (c.message.map { $0.isEmpty ? "" : " — \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
