import Foundation
import GRDB

/// `dji-media-sync pause` / `resume`: one `meta` row, so the CLI (another process) and the daemon
/// share it, and a pause survives restarts. The daemon reads it at every tick (≤ 2 s) and before
/// each cycle; a timed pause ends by itself when its time has passed (no one has to remove it).
extension StateStore {
    public struct Pause: Sendable, Equatable {
        public var since: Double
        /// nil: until `dji-media-sync resume`.
        public var until: Double?
        public init(since: Double, until: Double?) {
            self.since = since
            self.until = until
        }

        public func isActive(now: Double) -> Bool { until.map { now < $0 } ?? true }

        /// "until 2026-12-02T22:30:00Z" or "until `dji-media-sync resume`".
        public var untilText: String {
            guard let until else { return "until `dji-media-sync resume`" }
            return "until " + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: until))
        }
    }

    static let pauseKey = "pause"

    /// Pauses from `now` until `until` (nil: until resumed). Replaces any earlier pause.
    public func setPause(until: Double?, now: Double = Date().timeIntervalSince1970) throws {
        try setMeta(Self.pauseKey, "\(now) \(until.map { "\($0)" } ?? "-")")
    }

    /// Ends a pause; false when there was none in force.
    @discardableResult
    public func clearPause(now: Double = Date().timeIntervalSince1970) throws -> Bool {
        let was = try pause(now: now) != nil
        try deleteMeta(Self.pauseKey)
        return was
    }

    /// The pause in force at `now` (nil: none, or a timed one that has ended).
    public func pause(now: Double = Date().timeIntervalSince1970) throws -> Pause? {
        try storedPause().flatMap { $0.isActive(now: now) ? $0 : nil }
    }

    /// The stored pause, ended or not (one primary-key read; the daemon's tick).
    public func storedPause() throws -> Pause? {
        guard let text = try meta(Self.pauseKey) else { return nil }
        let parts = text.split(separator: " ")
        guard parts.count == 2, let since = Double(parts[0]) else { return nil }
        return Pause(since: since, until: parts[1] == "-" ? nil : Double(parts[1]))
    }
}
