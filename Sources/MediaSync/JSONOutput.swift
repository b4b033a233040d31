import Foundation

/// The conventions every `--json` output follows, so one script can read them all: one object,
/// sorted keys, `schema_version` (changes only when a key changes meaning or disappears),
/// `generated_at` and every other time as RFC 3339 in UTC, and keys always present (`null` when
/// there is no value, never left out or an empty string).
public enum JSONOutput {
    /// RFC 3339 in UTC, e.g. `2026-12-02T20:39:28Z`.
    public static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// A time in seconds since 1970 as RFC 3339, or null.
    public static func time(_ seconds: Double?) -> Any {
        seconds.map { time(Date(timeIntervalSince1970: $0)) } ?? NSNull()
    }

    /// A value or null (an empty string is null too: "no message" has one spelling).
    public static func nullable(_ value: Any?) -> Any {
        switch value {
        case nil: NSNull()
        case let s as String where s.isEmpty: NSNull()
        case let v?: v
        }
    }

    /// The document: `fields` plus `schema_version` and `generated_at`.
    public static func render(_ fields: [String: Any], schemaVersion: Int, generatedAt: Date = Date()) -> String {
        var object = fields
        object["schema_version"] = schemaVersion
        object["generated_at"] = time(generatedAt)
        // Only strings, numbers, booleans, arrays, objects and null: serialisation cannot fail
        // (a non-finite number is the one exception, and becomes null by `finite`).
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A double JSON can carry (NaN and infinities become null).
    public static func finite(_ value: Double?) -> Any {
        guard let value, value.isFinite else { return NSNull() }
        return value
    }
}
