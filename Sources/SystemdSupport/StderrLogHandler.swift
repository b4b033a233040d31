import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler for terminals and tests: one line per message on stderr,
///
///     2026-11-23T10:40:01Z info  cycle finished files=3 path="/data/dji/a b.mp4"
///
/// UTC time, level, message, then metadata sorted by key (see ``flattenLogMetadata(_:)``).
/// A value is quoted when it is empty or contains a space, a quote, `=` or a control character;
/// control characters are escaped everywhere, so a message is always exactly one line.
/// The level is coloured only when stderr is a terminal and `NO_COLOR` is unset.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    private let colors: Bool

    public init(
        label: String, logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
        self.colors = TerminalConsole.shared.isTerminal && getenv("NO_COLOR") == nil
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = mergedMetadata(
            handler: metadata, provider: metadataProvider,
            event: event.metadata, error: event.error)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        // On a terminal, info and notice lines are the message alone (the fields would wrap each
        // into several screen lines); -v, warnings and errors keep them, as do files and pipes.
        let terse = TerminalConsole.shared.isTerminal && event.level < .warning && logLevel > .debug
        let line = Self.formatLine(
            epochSeconds: Int(ts.tv_sec), level: event.level,
            message: event.message.description, metadata: terse ? [:] : merged, colors: colors)
        // One write(2) per line, so lines from several threads do not interleave; on a terminal
        // above the progress block, never through it.
        TerminalConsole.shared.writeLine(line)
    }

    /// The line for one message, without the trailing newline. Pure; tested.
    public static func formatLine(
        epochSeconds: Int, level: Logger.Level, message: String,
        metadata: Logger.Metadata, colors: Bool = false
    ) -> String {
        var line = utcTimestamp(epochSeconds: epochSeconds)
        line.append(" ")
        let name = level.rawValue
        let padded = name.count < 5 ? name + String(repeating: " ", count: 5 - name.count) : name
        if colors, let color = color(level) {
            line.append("\u{1B}[\(color)m\(name)\u{1B}[0m")
            line.append(String(repeating: " ", count: padded.count - name.count))
        } else {
            line.append(padded)
        }
        line.append(" ")
        line.append(escapeControlCharacters(redactSecrets(message)))
        for (key, value) in flattenLogMetadata(metadata) {
            line.append(" ")
            line.append(escapeControlCharacters(key))
            line.append("=")
            line.append(quoteIfNeeded(value))
        }
        return line
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (proleptic Gregorian, UTC).
    public static func utcTimestamp(epochSeconds: Int) -> String {
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secs = epochSeconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(y)
        let paddedYear = y >= 0 && y < 1000 ? String(repeating: "0", count: 4 - year.count) + year : year
        return "\(paddedYear)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))Z"
    }

    /// A value as it appears after `key=`: bare when it is plain, else in double quotes with
    /// `"` and `\` escaped.
    static func quoteIfNeeded(_ value: String) -> String {
        // Most values (numbers, hashes, plain paths) are printable ASCII: one byte scan.
        if !value.isEmpty, asciiOnly(value, allowing: { $0 != 0x20 && $0 != 0x22 && $0 != 0x27 && $0 != 0x3D && $0 != 0x5C }) {
            return value
        }
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { s in
                s == " " || s == "\"" || s == "'" || s == "=" || s == "\\" || isControl(s)
            }
        guard needsQuotes else { return value }
        var out = "\""
        for s in value.unicodeScalars {
            switch s {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            default: out.append(escapeControlCharacters(String(s)))
            }
        }
        out.append("\"")
        return out
    }

    /// `\n`, `\r`, `\t` and `\u{XX}` for the other C0/C1 control characters and DEL.
    static func escapeControlCharacters(_ text: String) -> String {
        if asciiOnly(text, allowing: { _ in true }) { return text }
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for s in text.unicodeScalars {
            switch s {
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                if isControl(s) {
                    out.append("\\u{" + String(s.value, radix: 16, uppercase: true) + "}")
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out
    }

    /// Whether every byte of `text` is printable ASCII (no control character, nothing above
    /// 0x7E) that `allowed` accepts: the common case, decided without decoding scalars.
    @inline(__always)
    private static func asciiOnly(_ text: String, allowing allowed: (UInt8) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for b in bytes where b < 0x20 || b > 0x7E || !allowed(b) { return false }
            return true
        }
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) || s.value == 0x2028 || s.value == 0x2029
    }

    private static func color(_ level: Logger.Level) -> Int? {
        switch level {
        case .trace, .debug: 2 // dim
        case .info: nil
        case .notice: 36 // cyan
        case .warning: 33 // yellow
        case .error: 31 // red
        case .critical: 91 // bright red
        }
    }
}
