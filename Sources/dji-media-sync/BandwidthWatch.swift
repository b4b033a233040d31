import Configuration
import Foundation
import Logging
import MediaSync

/// The bandwidth limits in force, for the daemon's log and `status`: the limiters look the rate
/// up themselves; this only reports it.
struct BandwidthWatch {
    /// What was last logged, by scope ("" for the global limit, else the destination's name).
    private var seen: [String: BandwidthSchedule.InForce] = [:]

    /// Logs (info) each limit whose rate or next change differs from the last one logged:
    /// "bandwidth: 2 MiB/s until 19:00 (schedule)". Called at every tick of the daemon's loop.
    mutating func check(_ runtime: Runtime, log: Logger) {
        var now: [String: BandwidthSchedule.InForce] = [:]
        for (destination, limiter) in runtime.allLimiters {
            let key = destination ?? ""
            let inForce = limiter.inForce()
            now[key] = inForce
            if seen[key] != inForce { log.info("\(Self.label(destination)): \(limiter.describe())") }
        }
        for key in seen.keys.sorted() where now[key] == nil {
            log.info("\(Self.label(key.isEmpty ? nil : key)): unlimited")
        }
        seen = now
    }

    static func label(_ destination: String?) -> String {
        destination.map { "bandwidth to \($0)" } ?? "bandwidth"
    }

    /// `status`: one line per limit ("bandwidth: unlimited" when there is none).
    static func statusLines(_ config: MediaSyncConfig) -> [String] {
        let limits = limiters(config)
        if limits.isEmpty { return ["bandwidth: unlimited"] }
        return limits.map { destination, limiter in
            var line = "\(label(destination)): \(limiter.describe())"
            if let next = limiter.inForce().next {
                line += ", then \(BandwidthSchedule.describe(next.bytesPerSecond)) (at \(JSONOutput.time(next.at)))"
            }
            return line
        }
    }

    /// `status --json`: "bandwidth".
    static func statusObjects(_ config: MediaSyncConfig) -> [[String: Any]] {
        limiters(config).map { destination, limiter in
            let inForce = limiter.inForce()
            return [
                "destination": JSONOutput.nullable(destination),
                "schedule": JSONOutput.nullable(limiter.schedule?.text),
                "bytes_per_second": Int64(inForce.bytesPerSecond),
                "next_change_at": JSONOutput.nullable(inForce.next.map { JSONOutput.time($0.at) }),
                "next_bytes_per_second": JSONOutput.nullable(inForce.next.map { Int64($0.bytesPerSecond) })
            ]
        }
    }

    static func limiters(_ config: MediaSyncConfig) -> [(destination: String?, limiter: BandwidthLimiter)] {
        listed(BandwidthLimiter.global(config), BandwidthLimiter.perDestination(config))
    }

    /// Every limit, global first (destination nil), then the destinations' by name.
    static func listed(_ global: BandwidthLimiter?, _ perDestination: [String: BandwidthLimiter]) -> [(destination: String?, limiter: BandwidthLimiter)] {
        (global.map { [(nil, $0)] } ?? []) + perDestination.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
