import Foundation
import GRDB

/// Monotonic counters for the Prometheus textfile (`MetricsText`): kept in the state database and
/// added to in the transaction that records a cycle's end, so they survive restarts and a crash
/// never counts a cycle twice or half. Also the per-destination gauges that must outlive one cycle
/// (last success, reachable), in `meta`.
extension StateStore {
    static func createCounters(_ db: Database) throws {
        try db.execute(
            sql: """
                -- One row per metric name and label set (labels as rendered: destination="nas").
                CREATE TABLE counters (
                    name TEXT NOT NULL,
                    labels TEXT NOT NULL,
                    value REAL NOT NULL,
                    PRIMARY KEY (name, labels)
                ) WITHOUT ROWID;
                """)
    }

    /// Upper bounds (seconds) of the cycle duration histogram's buckets; +Inf is implied.
    public static let cycleDurationBuckets: [Double] = [1, 5, 15, 60, 300, 900, 3600, 14400]

    static func add(_ db: Database, _ name: String, _ labels: String = "", _ amount: Double) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO counters (name, labels, value) VALUES (?, ?, ?)
                ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value
                """)
        try statement.execute(arguments: [name, labels, amount])
    }

    /// A label set as the text format writes it, value escaped.
    public static func label(_ key: String, _ value: String) -> String {
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\(key)=\"\(escaped)\""
    }

    /// What `summary` adds to the counters; called inside `finishCycle`'s transaction.
    static func addCounters(_ db: Database, _ s: CycleSummary) throws {
        try add(db, "cycles_total", label("result", s.status.rawValue), 1)
        for (destination, files) in s.copiedByDestination {
            try add(db, "files_copied_total", label("destination", destination), Double(files.files))
            try add(db, "bytes_copied_total", label("destination", destination), Double(files.bytes))
        }
        try add(db, "sources_deleted_total", "", Double(s.deleted))
        for (kind, count) in s.failuresByKind where count > 0 {
            try add(db, "transfer_failures_total", label("kind", kind), Double(count))
        }
        let mismatches = [
            ("transfer", s.failuresByKind[DestinationError.Kind.verificationFailed.rawValue] ?? 0),
            ("consistency", s.copiesBad), ("before_delete", s.mismatchesBeforeDelete)
        ]
        for (check, count) in mismatches {
            try add(db, "verification_mismatches_total", label("check", check), Double(count))
        }
        let duration = s.duration
        for bound in cycleDurationBuckets {
            try add(db, "cycle_duration_seconds_bucket", label("le", Self.number(bound)), duration <= bound ? 1 : 0)
        }
        try add(db, "cycle_duration_seconds_bucket", label("le", "+Inf"), 1)
        try add(db, "cycle_duration_seconds_sum", "", duration)
        try add(db, "cycle_duration_seconds_count", "", 1)

        // Per destination: reachable when contacted, last success when it got all it needed.
        let upsert = try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        for name in s.unavailableDestinations { try upsert.execute(arguments: [reachableKey + name, "0"]) }
        for name in s.connectedDestinations where !s.unavailableDestinations.contains(name) {
            try upsert.execute(arguments: [reachableKey + name, "1"])
        }
        for name in s.destinationsInSync { try upsert.execute(arguments: [lastSuccessKey + name, "\(s.finishedAt)"]) }
    }

    static let reachableKey = "destination_reachable:"
    static let lastSuccessKey = "destination_last_success:"

    /// "1", "15", "0.5": bucket bounds as Prometheus clients write them.
    static func number(_ x: Double) -> String { x == x.rounded() ? String(Int64(x)) : String(x) }

    /// The counters and per-destination gauges `MetricsText` renders.
    public struct FleetMetrics: Sendable, Equatable {
        public struct Destination: Sendable, Equatable {
            public var name: String
            /// nil until a cycle has contacted it.
            public var reachable: Bool?
            public var lastSuccessAt: Double?
        }
        /// Counter name → (rendered labels → value).
        public var counters: [String: [String: Double]] = [:]
        public var destinations: [Destination] = []
        public init() {}
    }

    public static let counterNames = [
        "cycles_total", "files_copied_total", "bytes_copied_total", "sources_deleted_total", "transfer_failures_total",
        "verification_mismatches_total", "cycle_duration_seconds_bucket", "cycle_duration_seconds_sum", "cycle_duration_seconds_count"
    ]

    /// Reads each counter by its primary key prefix and each destination's gauges by key.
    public func fleetMetrics(destinations: [String]) throws -> FleetMetrics {
        try db.read { db in
            var out = FleetMetrics()
            let byName = try db.cachedStatement(sql: "SELECT labels, value FROM counters WHERE name = ?")
            for name in Self.counterNames {
                var samples: [String: Double] = [:]
                for row in try Row.fetchAll(byName, arguments: [name]) { samples[row[0]] = row[1] }
                out.counters[name] = samples
            }
            let meta = try db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?")
            for name in destinations {
                let reachable = try String.fetchOne(meta, arguments: [Self.reachableKey + name])
                let last = try String.fetchOne(meta, arguments: [Self.lastSuccessKey + name]).flatMap(Double.init)
                out.destinations.append(.init(name: name, reachable: reachable.map { $0 == "1" }, lastSuccessAt: last))
            }
            return out
        }
    }
}
