import Foundation

/// The program's version (`--version`, `dji_media_sync_build_info`).
public enum BuildInfo {
    public static let version = "0.1.0"
}

/// Prometheus text exposition format, for node_exporter's textfile collector. Every metric is
/// documented (type, labels) in docs/operations.md; `promtool check metrics` passes on it
/// (MetricsTests).
public enum MetricsText {
    public static func render(
        _ report: HealthReport, last: CycleSummary?, fleet: StateStore.FleetMetrics = .init(),
        version: String = BuildInfo.version
    ) -> String {
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(labels: String, value: Double)]) {
            lines.append("# HELP dji_media_sync_\(name) \(help)")
            lines.append("# TYPE dji_media_sync_\(name) \(type)")
            for s in samples { lines.append("dji_media_sync_\(name)\(s.labels) \(s.value)") }
        }
        func destination(_ name: String) -> String { "{\(StateStore.label("destination", name))}" }
        metric(
            "build_info", "Always 1; the version label says which dji-media-sync wrote this file", "gauge",
            [("{\(StateStore.label("version", version))}", 1)])
        metric("health", "0 healthy, 1 warning, 2 critical", "gauge", [("", Double(report.level.rank))])
        metric("cycles_24h", "Cycles finished in the last 24 hours", "gauge", [("", Double(report.cycles24h))])
        metric("success_rate_24h", "Fraction of the last 24 hours' cycles that succeeded", "gauge", [("", report.successRate24h ?? 1)])
        metric("files_24h", "Files copied in the last 24 hours", "gauge", [("", Double(report.files24h))])
        metric("bytes_24h", "Bytes copied in the last 24 hours", "gauge", [("", Double(report.bytes24h))])
        metric("last_success_timestamp_seconds", "When a sync last succeeded", "gauge", [("", report.lastSuccessAt ?? 0)])
        metric("quarantined_files", "Files quarantined", "gauge", [("", Double(report.quarantined))])
        metric("delete_queue_pending", "Sources waiting for deletion", "gauge", [("", Double(report.queuePending))])
        metric(
            "destination_free_bytes", "Free space last seen on each destination", "gauge",
            report.destinations.map { (destination($0.name), Double($0.freeBytes)) })
        metric(
            "destination_used_ratio", "Fraction of each destination in use", "gauge",
            report.destinations.map { (destination($0.name), $0.usedFraction) })
        metric(
            "destination_reachable", "1 if the last cycle that contacted the destination reached it, 0 if not", "gauge",
            fleet.destinations.compactMap { d in d.reachable.map { (destination(d.name), $0 ? 1 : 0) } })
        metric(
            "destination_last_success_timestamp_seconds", "End of the last cycle after which the destination held everything it should", "gauge",
            fleet.destinations.compactMap { d in d.lastSuccessAt.map { (destination(d.name), $0) } })
        metric(
            "file_failures", "Files waiting for a retry or quarantined, by error kind", "gauge",
            report.failuresByKind.sorted { $0.key < $1.key }.map { ("{\(StateStore.label("kind", $0.key))}", Double($0.value)) })
        if let last {
            metric("last_cycle_duration_seconds", "Duration of the last cycle", "gauge", [("", last.duration)])
            metric("last_cycle_files", "Files copied by the last cycle", "gauge", [("", Double(last.filesCopied))])
            metric("last_cycle_failed", "Files that failed in the last cycle", "gauge", [("", Double(last.failed))])
        }

        // Counters: persisted in the state database, monotonic across restarts.
        func counter(_ name: String, _ help: String, key: String? = nil, fixed: [String] = []) {
            var samples = fleet.counters[name] ?? [:]
            if let key { for value in fixed { samples[StateStore.label(key, value), default: 0] += 0 } } else if samples.isEmpty { samples[""] = 0 }
            metric(name, help, "counter", samples.sorted { $0.key < $1.key }.map { ($0.key.isEmpty ? "" : "{\($0.key)}", $0.value) })
        }
        let names = fleet.destinations.map(\.name)
        counter(
            "cycles_total", "Cycles finished, by result (aborted: stopped, or cut short by a crash)", key: "result",
            fixed: ["ok", "partial", "failed", "aborted"])
        counter("files_copied_total", "Files copied and verified, by destination", key: "destination", fixed: names)
        counter("bytes_copied_total", "Bytes of the files copied and verified, by destination", key: "destination", fixed: names)
        counter("sources_deleted_total", "Local sources deleted (or moved to the trash) after their copies were verified again")
        counter("transfer_failures_total", "Files whose transfer failed, by error kind", key: "kind")
        counter(
            "verification_mismatches_total", "Copies found missing or different, by check (transfer, consistency, before_delete)",
            key: "check", fixed: ["transfer", "consistency", "before_delete"])

        // The cycle duration histogram (cumulative buckets, as the format wants them).
        let buckets = fleet.counters["cycle_duration_seconds_bucket"] ?? [:]
        let bounds = StateStore.cycleDurationBuckets.map(StateStore.number) + ["+Inf"]
        metric(
            "cycle_duration_seconds", "Duration of the cycles", "histogram",
            bounds.map { bound in
                let labels = StateStore.label("le", bound)
                return ("_bucket{\(labels)}", buckets[labels] ?? 0)
            })
        lines.append("dji_media_sync_cycle_duration_seconds_sum \(fleet.counters["cycle_duration_seconds_sum"]?[""] ?? 0)")
        lines.append("dji_media_sync_cycle_duration_seconds_count \(fleet.counters["cycle_duration_seconds_count"]?[""] ?? 0)")
        return lines.joined(separator: "\n") + "\n"
    }
}
