import Foundation

/// A bandwidth limit by time of day, in rclone's `--bwlimit` syntax: space-separated
/// `HH:MM,RATE` entries, each in force from its time until the next one (the last one wraps
/// round to the first), such as `"08:00,2M 19:00,off"`. An entry may name a weekday
/// (`Sat-08:00,off`): it then applies on that day only, and wins over an every-day entry at the
/// same time. A lone `RATE` is a limit all day. Times are the dock's local time (the time zone
/// of the process). RATE is bytes per second with a binary unit, as in rclone: `512k` (KiB),
/// `2M` (MiB), `1G` (GiB), `100B` (bytes); `off` or `0`: unlimited.
public struct BandwidthSchedule: Sendable, Equatable, CustomStringConvertible {
    /// One point of the week at which a rate comes into force.
    public struct Change: Sendable, Equatable {
        /// Minutes since Monday 00:00 (0 ..< 10080).
        public var minuteOfWeek: Int
        /// Bytes per second; 0: unlimited.
        public var bytesPerSecond: Double
        public init(minuteOfWeek: Int, bytesPerSecond: Double) {
            self.minuteOfWeek = minuteOfWeek
            self.bytesPerSecond = bytesPerSecond
        }
    }

    /// What the schedule says at a given moment.
    public struct InForce: Sendable, Equatable {
        public var bytesPerSecond: Double
        /// The next moment the rate changes, and to what; nil: it never changes.
        public var next: (at: Date, bytesPerSecond: Double)?
        public init(bytesPerSecond: Double, next: (at: Date, bytesPerSecond: Double)?) {
            self.bytesPerSecond = bytesPerSecond
            self.next = next
        }

        public static func == (a: InForce, b: InForce) -> Bool {
            a.bytesPerSecond == b.bytesPerSecond && a.next?.at == b.next?.at && a.next?.bytesPerSecond == b.next?.bytesPerSecond
        }
    }

    /// The text as written in the configuration.
    public let text: String
    /// The week's changes, sorted, one per minute, consecutive equal rates merged.
    public let changes: [Change]

    public var description: String { text }
    static let minutesPerWeek = 7 * 1440
    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    static let weekdayNames = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    /// Why a schedule was refused: the entry and what is wrong with it.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var entry: String
        public var reason: String
        public var description: String { entry.isEmpty ? reason : "\"\(entry)\": \(reason)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> BandwidthSchedule {
        let entries = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !entries.isEmpty else { throw ParseError(entry: "", reason: "the schedule is empty (use null for no limit)") }
        if entries.count == 1, !entries[0].contains(","), !entries[0].contains(":") {
            return BandwidthSchedule(text: text, changes: [Change(minuteOfWeek: 0, bytesPerSecond: try rate(entries[0], entry: entries[0]))])
        }
        // Each entry becomes one change per day it applies on; a weekday entry replaces an
        // every-day one at the same minute of the week, whatever their order.
        var byMinute: [Int: (rate: Double, specific: Bool)] = [:]
        for entry in entries {
            let parts = entry.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw ParseError(entry: entry, reason: "expected HH:MM,RATE (such as 08:00,2M)") }
            var time = Substring(parts[0])
            var days = Array(0..<7)
            var specific = false
            if let dash = time.firstIndex(of: "-") {
                let name = time[..<dash].lowercased()
                guard let day = weekdays.firstIndex(of: name) ?? weekdayNames.firstIndex(of: name) else {
                    throw ParseError(entry: entry, reason: "unknown weekday \"\(time[..<dash])\" (expected Mon, Tue, Wed, Thu, Fri, Sat or Sun)")
                }
                days = [day]
                specific = true
                time = time[time.index(after: dash)...]
            }
            let hm = time.split(separator: ":", omittingEmptySubsequences: false)
            guard hm.count == 2, hm.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                let h = Int(hm[0]), let m = Int(hm[1]), (0...23).contains(h), (0...59).contains(m)
            else {
                throw ParseError(entry: entry, reason: "the time \"\(time)\" is not HH:MM from 00:00 to 23:59")
            }
            let rate = try rate(String(parts[1]), entry: entry)
            for day in days {
                let minute = day * 1440 + h * 60 + m
                if let old = byMinute[minute], old.specific == specific {
                    throw ParseError(entry: entry, reason: "a second entry for the same time")
                }
                if byMinute[minute]?.specific != true { byMinute[minute] = (rate, specific) }
            }
        }
        var changes: [Change] = []
        for (minute, value) in byMinute.sorted(by: { $0.key < $1.key }) where changes.last?.bytesPerSecond != value.rate {
            changes.append(Change(minuteOfWeek: minute, bytesPerSecond: value.rate))
        }
        // The last change of the week wraps round: a first change to the same rate is no change.
        if changes.count > 1, changes.first?.bytesPerSecond == changes.last?.bytesPerSecond { changes.removeFirst() }
        return BandwidthSchedule(text: text, changes: changes)
    }

    /// `512k`, `2M`, `1.5G`, `100B`, `off`, `0`: bytes per second (binary units, as rclone).
    static func rate(_ text: String, entry: String) throws(ParseError) -> Double {
        let lower = text.lowercased()
        if lower == "off" { return 0 }
        let units: [Character: Double] = ["b": 1, "k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776]
        var digits = Substring(lower)
        var unit: Double?
        if let last = digits.last, let u = units[last] {
            unit = u
            digits.removeLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(digits), value.isFinite else {
            throw ParseError(entry: entry, reason: "the rate \"\(text)\" is not a number with a unit such as 512k, 2M or 1G, or off")
        }
        if value == 0 { return 0 }
        guard let unit else {
            throw ParseError(entry: entry, reason: "the rate \"\(text)\" has no unit (write 512k, 2M, 1G or \(text)B for bytes)")
        }
        let bytes = value * unit
        guard bytes >= 1, bytes <= 1e12 else {
            throw ParseError(entry: entry, reason: "the rate \"\(text)\" is outside 1 B to 1e12 bytes per second")
        }
        return bytes
    }

    /// True when no entry limits anything (every rate is `off`).
    public var neverLimits: Bool { changes.allSatisfy { $0.bytesPerSecond <= 0 } }

    /// Minutes since Monday 00:00 of `date` in `timeZone`.
    public static func minuteOfWeek(_ date: Date, in timeZone: TimeZone) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        // Calendar's weekday is 1 for Sunday ... 7 for Saturday.
        return ((c.weekday ?? 2) + 5) % 7 * 1440 + (c.hour ?? 0) * 60 + (c.minute ?? 0)
    }

    /// The rate in force at `minuteOfWeek`: that of the last change at or before it (wrapping).
    public func bytesPerSecond(atMinuteOfWeek minute: Int) -> Double {
        (changes.last { $0.minuteOfWeek <= minute } ?? changes.last)?.bytesPerSecond ?? 0
    }

    /// The rate in force at `date` and the next change after it.
    public func inForce(at date: Date, in timeZone: TimeZone) -> InForce {
        let minute = Self.minuteOfWeek(date, in: timeZone)
        let rate = bytesPerSecond(atMinuteOfWeek: minute)
        guard changes.count > 1, let next = changes.first(where: { $0.minuteOfWeek > minute }) ?? changes.first else {
            return InForce(bytesPerSecond: rate, next: nil)
        }
        let ahead = (next.minuteOfWeek - minute + Self.minutesPerWeek) % Self.minutesPerWeek
        // From the start of the current minute; a DST shift in between moves it by the shift.
        let startOfMinute = (date.timeIntervalSince1970 / 60).rounded(.down) * 60
        return InForce(bytesPerSecond: rate, next: (Date(timeIntervalSince1970: startOfMinute + Double(ahead * 60)), next.bytesPerSecond))
    }

    /// `2 MiB/s`, `512 KiB/s`, `unlimited`: how the logs and `status` show a rate.
    public static func describe(_ bytesPerSecond: Double) -> String {
        if bytesPerSecond <= 0 { return "unlimited" }
        for (unit, size) in [("GiB", Double(1 << 30)), ("MiB", Double(1 << 20)), ("KiB", 1024.0)] where bytesPerSecond >= size {
            let value = bytesPerSecond / size
            return (value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)) + " \(unit)/s"
        }
        return "\(Int(bytesPerSecond)) B/s"
    }
}
