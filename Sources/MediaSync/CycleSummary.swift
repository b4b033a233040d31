import Foundation

/// What one cycle did; printed by `sync --once`, kept in the cycles table, shown in STATUS.
public struct CycleSummary: Sendable {
    /// `aborted`: cut short by a crash (found at the next start); `cancelled`: stopped on request
    /// (Ctrl-C, SIGTERM, the cycle's time limit), which is no failure and raises no alert.
    public enum Status: String, Sendable { case ok, partial, failed, aborted, cancelled }

    public var cycleID: Int64
    public var startedAt: Double
    public var finishedAt: Double = 0
    public var status: Status = .ok
    public var filesCopied = 0
    public var filesAlreadyPresent = 0
    public var bytesCopied: Int64 = 0
    public var failed = 0
    /// Files skipped this time: too young, or changed before/while being read.
    public var skipped = 0
    /// Hidden entries passed over (local.skip_hidden).
    public var hidden = 0
    public var deleted = 0
    public var kept = 0
    public var deleteChecksFailed = 0
    /// Files not tried this cycle: waiting for their next attempt (backoff) or quarantined.
    public var deferred = 0
    /// Files quarantined during this cycle.
    public var quarantined = 0
    /// Files kept back because the destination is short of space (they wait; sources are kept).
    public var waitingForSpace = 0
    /// The same by destination name (health and `Status:` name the destination that is full).
    public var waitingForSpaceOn: [String: Int] = [:]
    /// Copies removed from the destination by retention.
    public var retentionRemoved = 0
    /// Files purged from the local trash.
    public var purged = 0
    /// Consistency check: copies re-verified, and those found missing or different.
    public var copiesChecked = 0
    public var copiesBad = 0
    /// Evaluated after the cycle was recorded; nil for a dry run.
    public var health: HealthReport?
    /// Alerts raised or resolved by this cycle (already logged; the caller delivers webhooks).
    public var alerts: [AlertDecider.Alert] = []
    public var unavailableDestinations: [String] = []
    /// Why each unavailable destination was (`authentication`, `unreachable`, ...): health says
    /// "authentication failed", not "unreachable", for a refused key.
    public var unavailableKinds: [String: DestinationError.Kind] = [:]
    /// The scan's problems, nil when no scan completed: media roots that cannot be read (an
    /// unmounted card), and other folders or files that could not be read.
    public var unreadableMediaRoots: [String]?
    public var scanErrors: [String] = []
    /// Destinations connected this cycle (reachable), and those that got everything they needed
    /// (or needed nothing): their last success is this cycle's end.
    public var connectedDestinations: [String] = []
    public var destinationsInSync: [String] = []
    /// Per destination: files copied and their bytes (the counters' labels).
    public var copiedByDestination: [String: (files: Int, bytes: Int64)] = [:]
    /// Failed files by `DestinationError.Kind` (or "state_database" when recording failed).
    public var failuresByKind: [String: Int] = [:]
    /// Copies found missing or different by the re-verification before deleting a source.
    public var mismatchesBeforeDelete = 0
    /// `dji-media-sync pause` stopped this cycle early (after the files in flight).
    public var paused = false
    /// The state database was deleted or replaced under the running process: it must restart.
    public var stateDatabaseLost = false
    /// A dry run's findings (what each destination holds already); nil for a real cycle.
    public var dryRun: DryRunReport?
    public var messages: [String] = []

    public init(cycleID: Int64, startedAt: Double) {
        self.cycleID = cycleID
        self.startedAt = startedAt
    }

    public var duration: Double { max(0, finishedAt - startedAt) }

    public var throughputBytesPerSecond: Double { duration > 0 ? Double(bytesCopied) / duration : 0 }

    /// "42 files, 3.1 GB in 1m12s, 0 failed"
    public var shortLine: String {
        "\(Format.count(filesCopied, "file")), \(Format.bytes(bytesCopied)) in \(Format.duration(duration)), \(failed) failed"
    }
}

public enum Format {
    /// "1 file", "2 files" (`plural` for irregular ones: "copy" → "copies").
    public static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
    }

    public static func bytes(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.2fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }

    public static func rate(_ bytesPerSecond: Double) -> String { bytes(Int64(bytesPerSecond)) + "/s" }
}
