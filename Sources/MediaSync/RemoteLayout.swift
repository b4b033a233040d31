import Configuration
import Foundation
import LocalFS

/// Where a file goes below a destination's base: by default `YYYY/MM/DD/<name>`, or what
/// `layout.remote_layout` says (e.g. `{dock}/{yyyy}/{mm}/{dd}/{name}`: many docks on one NAS). The
/// date is the DJI file-name timestamp (DJI_20250101123456_0001_V.MP4 → 2025/01/01) when there is
/// a valid one, else the mtime in the edge computer's time zone.
public struct RemoteLayout: Sendable {
    public var timeZone: TimeZone {
        didSet { calendar.timeZone = timeZone }
    }
    public var template: LayoutTemplate
    /// `{dock}`: `layout.dock_id`, or the host name.
    public var dock: String
    // Made once: a Calendar per file cost more than the rest of planning a 100k-file cycle.
    private var calendar: Calendar

    public init(timeZone: TimeZone = .current, template: LayoutTemplate = .standard, dock: String = "dock") {
        self.timeZone = timeZone
        self.template = template
        self.dock = dock
        calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
    }

    /// From the configuration; the host name is read only when the template names `{dock}`.
    public init(_ layout: MediaSyncConfig.Layout, timeZone: TimeZone = .current) {
        let dock = layout.dockID ?? (layout.remoteLayout.usesDock ? DockID.fromHostName(ProcessInfo.processInfo.hostName) : "dock")
        self.init(timeZone: timeZone, template: layout.remoteLayout, dock: dock)
    }

    /// The folder below the base and the wanted file name of a local file.
    public func place(name: [UInt8], mtimeNanoseconds: Int64) -> (directory: String, name: [UInt8]) {
        let day = day(forName: name, mtimeNanoseconds: mtimeNanoseconds)
        if template.isStandard { return (day.description, name) }
        let (stem, ext) = Self.stemAndExtension(name)
        func expand(_ pieces: [LayoutTemplate.Piece]) -> [UInt8] {
            var out: [UInt8] = []
            for piece in pieces {
                switch piece {
                case let .text(t): out += Array(t.utf8)
                case let .placeholder(p):
                    switch p {
                    case .dock: out += Array(dock.utf8)
                    case .yyyy: out += Array(Day.padded(day.year, 4).utf8)
                    case .mm: out += Array(Day.padded(day.month, 2).utf8)
                    case .dd: out += Array(Day.padded(day.day, 2).utf8)
                    case .name: out += name
                    case .stem: out += stem
                    case .ext: out += ext
                    case .kind: out += Array(Self.kind(ofExtension: ext).utf8)
                    }
                }
            }
            return out
        }
        // Folders hold no file-name bytes (the template allows none there): always UTF-8.
        let directory = template.components.dropLast().map { String(decoding: expand($0), as: UTF8.self) }.joined(separator: "/")
        var file = expand(template.components[template.components.count - 1])
        if file.count > 255 { file = Array(file.prefix(255)) }
        return (directory, file)
    }

    /// "photo", "video", "sidecar" or "other", by extension.
    public static func kind(ofExtension ext: [UInt8]) -> String {
        switch String(decoding: ext, as: UTF8.self).lowercased() {
        case "jpg", "jpeg", "dng": "photo"
        case "mp4", "mov": "video"
        case "srt", "lrf": "sidecar"
        default: "other"
        }
    }

    /// `{stem}` and `{ext}` (without its dot; empty when the name has none).
    public static func stemAndExtension(_ name: [UInt8]) -> (stem: [UInt8], ext: [UInt8]) {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0 else { return (name, []) }
        return (Array(name[..<dot]), Array(name[(dot + 1)...]))
    }

    public struct Day: Equatable, Sendable, CustomStringConvertible {
        public var year: Int, month: Int, day: Int
        public init(year: Int, month: Int, day: Int) { (self.year, self.month, self.day) = (year, month, day) }
        public var description: String { "\(Self.padded(year, 4))/\(Self.padded(month, 2))/\(Self.padded(day, 2))" }

        /// `value` in decimal, zero-padded to `width` (as %0*d; without Foundation's formatter,
        /// which cost 3 % of a 100k-file sync's CPU here).
        static func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value.magnitude)
            let pad = String(repeating: "0", count: max(0, width - digits.count - (value < 0 ? 1 : 0)))
            return value < 0 ? "-" + pad + digits : pad + digits
        }
    }

    public func day(forName name: [UInt8], mtimeNanoseconds: Int64) -> Day {
        Self.dayFromDJIName(name) ?? dayFromTime(mtimeNanoseconds)
    }

    /// "DJI_" followed by 14 digits YYYYMMDDhhmmss and "_" (the form current DJI aircraft write).
    public static func dayFromDJIName(_ name: [UInt8]) -> Day? {
        let prefix = Array("DJI_".utf8)
        guard name.count >= prefix.count + 15, Array(name.prefix(4)) == prefix else { return nil }
        let digits = name[4..<18]
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), name[18] == UInt8(ascii: "_") else { return nil }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(name[$1] - 48) } }
        let day = Day(year: number(4..<8), month: number(8..<10), day: number(10..<12))
        let hour = number(12..<14), minute = number(14..<16), second = number(16..<18)
        guard (1970...2200).contains(day.year), (1...12).contains(day.month), hour < 24, minute < 60, second < 61 else { return nil }
        // Days in the month, Gregorian (a Calendar per file cost more than the rest of planning).
        let leap = day.year % 4 == 0 && (day.year % 100 != 0 || day.year % 400 == 0)
        let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][day.month - 1]
        guard (1...length).contains(day.day) else { return nil }
        return day
    }

    public func dayFromTime(_ nanoseconds: Int64) -> Day {
        let date = Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return Day(year: c.year!, month: c.month!, day: c.day!)
    }

    /// Names for `name` when it is taken by a different file: `<stem>_N<ext>` for N = 1, 2, ...
    /// The stem is shortened (never cutting a UTF-8 sequence) so that every N up to 9999 fits
    /// in 255 bytes; the transport builds the same names remotely from these two parts.
    public static func conflictParts(_ name: [UInt8]) -> (stem: [UInt8], ext: [UInt8]) {
        let dot = name.lastIndex(of: UInt8(ascii: ".")).flatMap { $0 > 0 ? $0 : nil }
        var stem = Array(dot.map { name[..<$0] } ?? name[...])
        let ext = Array(dot.map { name[$0...] } ?? [])
        let maxStem = 255 - 5 - ext.count
        if stem.count > maxStem {
            let cut = max(0, maxStem)
            // Step back to a character boundary: never leave a lead byte without its continuation.
            var end = cut
            while end > 0, stem[end] & 0xC0 == 0x80 { end -= 1 }
            stem = Array(stem.prefix(end))
        }
        return (stem, ext)
    }

    public static func conflictName(_ name: [UInt8], index: Int) -> [UInt8] {
        precondition(index > 0)
        let (stem, ext) = conflictParts(name)
        return stem + Array("_\(index)".utf8) + ext
    }
}
