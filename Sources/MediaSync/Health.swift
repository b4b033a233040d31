import Configuration
import Foundation

/// How the daemon is doing, from its own records (cycle history, ledger, failures, the last free
/// space seen on each destination), and why.
public struct HealthReport: Sendable {
    public enum Level: String, Sendable, Comparable, Codable {
        case healthy, warning, critical
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
        var rank: Int {
            switch self {
            case .healthy: 0
            case .warning: 1
            case .critical: 2
            }
        }
    }

    /// One reason; `rule` is stable (alerts are keyed by it).
    public struct Finding: Sendable, Equatable, Codable {
        public var rule: String
        public var level: Level
        public var message: String
        public init(rule: String, level: Level, message: String) {
            self.rule = rule
            self.level = level
            self.message = message
        }
    }

    public struct DestinationUsage: Sendable, Codable {
        public var name: String
        public var freeBytes: Int64
        public var totalBytes: Int64
        public var measuredAt: Double
        public init(name: String, freeBytes: Int64, totalBytes: Int64, measuredAt: Double) {
            self.name = name
            self.freeBytes = freeBytes
            self.totalBytes = totalBytes
            self.measuredAt = measuredAt
        }
        public var usedFraction: Double { totalBytes > 0 ? Double(totalBytes - freeBytes) / Double(totalBytes) : 0 }
    }

    public var level: Level = .healthy
    public var findings: [Finding] = []
    public var cycles24h = 0
    public var successfulCycles24h = 0
    public var successRate24h: Double?
    public var averageCycleSeconds: Double?
    public var averageSecondsPerFile: Double?
    public var files24h = 0
    public var bytes24h: Int64 = 0
    public var lastSuccessAt: Double?
    public var destinations: [DestinationUsage] = []
    public var failuresByKind: [String: Int] = [:]
    public var quarantined = 0
    public var queuePending = 0

    public init() {}

    /// For STATUS=: "healthy" or "warning: 2 files quarantined".
    public var shortLine: String {
        guard let worst = findings.max(by: { $0.level < $1.level }) else { return "healthy" }
        return "\(level.rawValue): \(worst.message)" + (findings.count > 1 ? " (+\(findings.count - 1) more)" : "")
    }
}

public enum HealthEvaluator {
    /// Meta keys the engine writes after each cycle (`SyncEngine.recordHealthFacts`).
    static let unavailableKey = "health:unavailable:"
    static let mediaRootsKey = "health:media_roots"
    static let scanKey = "health:scan"
    static let metricsKey = "health:metrics"
    static let waitingKey = "health:waiting_space:"

    public static func evaluate(store: StateStore, config: MediaSyncConfig, now: Double = Date().timeIntervalSince1970) throws -> HealthReport {
        let rules = config.health
        var report = HealthReport()
        // A cycle stopped on request (Ctrl-C, SIGTERM) is neither a success nor a failure.
        let day = try store.cycles(since: now - 86400).filter { $0.finishedAt != nil && $0.status != CycleSummary.Status.cancelled.rawValue }
        report.cycles24h = day.count
        report.successfulCycles24h = day.filter { $0.status == "ok" }.count
        if !day.isEmpty {
            report.successRate24h = Double(report.successfulCycles24h) / Double(day.count)
            let durations = day.compactMap { c in c.finishedAt.map { $0 - c.startedAt } }
            report.averageCycleSeconds = durations.reduce(0, +) / Double(durations.count)
            report.files24h = day.reduce(0) { $0 + $1.filesCopied }
            report.bytes24h = day.reduce(0) { $0 + $1.bytes }
            let busy = day.filter { $0.filesCopied > 0 }
            let busyTime = busy.compactMap { c in c.finishedAt.map { $0 - c.startedAt } }.reduce(0, +)
            if report.files24h > 0 { report.averageSecondsPerFile = busyTime / Double(report.files24h) }
        }
        // A cycle that reached its destinations and moved files counts as a sync that worked, even
        // if some file failed (those have their own findings).
        let lastGood = try store.lastCycle(withStatusIn: ["ok", "partial"])
        report.lastSuccessAt = lastGood?.finishedAt
        let failures = try store.failureCounts()
        report.failuresByKind = failures.byKind
        report.quarantined = failures.quarantined
        // Only what is pending: counting the whole history here would make every cycle cost it.
        report.queuePending = try store.pendingDeletions()
        for destination in config.destinations {
            guard let text = try store.meta("space:\(destination.name)") else { continue }
            let f = text.split(separator: " ").compactMap { Double($0) }
            guard f.count == 3 else { continue }
            report.destinations.append(.init(name: destination.name, freeBytes: Int64(f[0]), totalBytes: Int64(f[1]), measuredAt: f[2]))
        }

        func add(_ rule: String, _ level: HealthReport.Level, _ message: String) {
            report.findings.append(.init(rule: rule, level: level, message: message))
        }
        // No working sync for too long (measured from the first cycle when there was never one).
        let first = try store.firstCycle()
        let since = report.lastSuccessAt ?? first?.startedAt
        if let since, now - since > rules.maxMinutesWithoutSuccess * 60 {
            add(
                "no_recent_success", .critical,
                report.lastSuccessAt == nil
                    ? "no successful sync yet (first cycle \(Format.duration(now - since)) ago)"
                    : "no successful sync for \(Format.duration(now - since))")
        }
        if let rate = report.successRate24h, rate < rules.minSuccessRate {
            add("low_success_rate", .warning, String(format: "%.0f%% of the last 24 h's cycles succeeded", rate * 100))
        }
        if let last = day.first {
            for name in last.unavailable {
                switch try store.meta(unavailableKey + name) {
                case "authentication":
                    add("authentication:\(name)", .critical, "\(name): authentication failed in the last cycle (the key or credentials were refused)")
                case "hostKey":
                    add("host_key:\(name)", .critical, "\(name): host key not accepted in the last cycle (known_hosts)")
                case "misconfigured":
                    add("misconfigured:\(name)", .critical, "\(name): set-up problem in the last cycle (dji-media-sync doctor)")
                default:
                    add("unreachable:\(name)", .critical, "\(name) unreachable in the last cycle")
                }
            }
            if last.waitingForSpace > 0 {
                // By destination when the cycle said which (older records: the first one).
                var named: [(String, Int)] = []
                for destination in config.destinations {
                    if let n = try store.meta(waitingKey + destination.name).flatMap(Int.init), n > 0 { named.append((destination.name, n)) }
                }
                if named.isEmpty { named = [(config.destinations.first?.name ?? "destination", last.waitingForSpace)] }
                for (name, n) in named {
                    add("full:\(name)", .critical, "\(Format.count(n, "file")) \(n == 1 ? "waits" : "wait") for space on \(name)")
                }
            }
            if last.copiesBad > 0 {
                add("consistency", .warning, "\(Format.count(last.copiesBad, "copy", "copies")) failed the consistency check")
            }
        }
        for usage in report.destinations {
            let pct = String(format: "%.0f%%", usage.usedFraction * 100)
            if usage.usedFraction > rules.destinationUsageCritical {
                add("usage:\(usage.name)", .critical, "\(usage.name) is \(pct) full")
            } else if usage.usedFraction > rules.destinationUsageWarning {
                add("usage:\(usage.name)", .warning, "\(usage.name) is \(pct) full")
            }
        }
        if let roots = try store.meta(mediaRootsKey) {
            add(
                "media_roots", .critical,
                "media root unreadable in the last scan (is the card or disk mounted?): "
                    + roots.split(separator: "\n").joined(separator: "; "))
        }
        if let errors = try store.meta(scanKey), let first = errors.split(separator: "\n").first {
            let lines = errors.split(separator: "\n")
            add("scan", .warning, "\(Format.count(lines.count, "folder or file", "folders or files")) could not be read in the last scan: \(first)")
        }
        if let problem = try store.meta(metricsKey) {
            add("metrics_file", .warning, problem)
        }
        if report.quarantined > 0 {
            add("quarantined", .warning, "\(report.quarantined) file\(report.quarantined == 1 ? "" : "s") quarantined (dji-media-sync queue list)")
        }
        report.level = report.findings.map(\.level).max() ?? .healthy
        return report
    }
}

/// Which alerts to send now: findings not alerted within the suppression window are raised;
/// alerts whose finding went away are resolved. State lives in the state database, so a restart
/// neither repeats nor forgets them.
public enum AlertDecider {
    public struct Alert: Sendable, Codable, Equatable {
        public var state: String // "raised" | "resolved"
        public var rule: String
        public var level: String
        public var message: String
        public var time: Double
    }

    static let prefix = "alert:"

    public static func decide(
        _ report: HealthReport, store: StateStore, suppressionMinutes: Double,
        now: Double = Date().timeIntervalSince1970
    ) throws -> [Alert] {
        var alerts: [Alert] = []
        let active = try store.metaKeys(prefix: prefix)
        for finding in report.findings {
            let key = prefix + finding.rule
            let last = active[key].flatMap(Double.init)
            if let last, now - last < suppressionMinutes * 60 { continue }
            alerts.append(Alert(state: "raised", rule: finding.rule, level: finding.level.rawValue, message: finding.message, time: now))
            try store.setMeta(key, String(now))
        }
        let current = Set(report.findings.map { prefix + $0.rule })
        for key in active.keys where !current.contains(key) {
            alerts.append(
                Alert(
                    state: "resolved", rule: String(key.dropFirst(prefix.count)), level: "healthy",
                    message: "resolved", time: now))
            try store.deleteMeta(key)
        }
        return alerts
    }
}
