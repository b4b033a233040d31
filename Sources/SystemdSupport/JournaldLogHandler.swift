import CSystemd
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler that writes structured entries to the systemd journal with
/// `sd_journal_sendv`.
///
/// Each entry carries `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`,
/// `CODE_FUNC`, `LOGGER` (the logger's label) and one field per metadata entry (handler, provider,
/// then message metadata; later wins), named by ``journaldFieldName(_:)``. A metadata key that
/// would collide with one of those fixed fields is prefixed with `META_`. Secrets are blanked
/// (``redactSecrets(_:)``).
///
/// - Important: `sd_journal_sendv` reports success even when no journald is listening; use
///   ``LoggingBootstrap`` to pick this handler only when stderr is connected to the journal.
public struct JournaldLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    public let syslogIdentifier: String

    public init(
        label: String, logLevel: Logger.Level = .info, syslogIdentifier: String = "dji-media-sync",
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.logLevel = logLevel
        self.syslogIdentifier = syslogIdentifier
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority journald stores for a swift-log level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        let merged = mergedMetadata(
            handler: metadata, provider: metadataProvider,
            event: event.metadata, error: event.error)
        let fields = Self.fields(
            level: event.level, message: event.message.description, metadata: merged,
            label: label, identifier: syslogIdentifier,
            file: event.file, function: event.function, line: event.line)
        _ = Self.send(fields)
    }

    /// The `(NAME, value)` fields of one entry, in the order they are sent. Pure; tested.
    static func fields(
        level: Logger.Level, message: String, metadata: Logger.Metadata,
        label: String, identifier: String,
        file: String, function: String, line: UInt
    ) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = [
            ("MESSAGE", redactSecrets(message)),
            ("PRIORITY", String(priority(level))),
            ("SYSLOG_IDENTIFIER", identifier),
            ("CODE_FILE", file),
            ("CODE_LINE", String(line)),
            ("CODE_FUNC", function),
            ("LOGGER", label)
        ]
        let fixed = Set(out.map(\.name))
        for (key, value) in flattenLogMetadata(metadata) {
            guard var name = journaldFieldName(key) else { continue }
            if fixed.contains(name) { name = String("META_\(name)".prefix(64)) }
            out.append((name, value))
        }
        return out
    }

    /// Sends one entry: all `NAME=value` fields laid out in one buffer, one iovec per field.
    /// - Returns: 0 or a negative errno, as `sd_journal_sendv`.
    @discardableResult
    static func send(_ fields: [(name: String, value: String)]) -> Int32 {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 1 })
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(fields.count)
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            var iov = ranges.map { r in
                iovec(iov_base: UnsafeMutableRawPointer(mutating: base + r.lowerBound), iov_len: r.count)
            }
            // sd_journal_sendv only reads the buffers.
            return iov.withUnsafeMutableBufferPointer { p in
                sd_journal_sendv(p.baseAddress, Int32(p.count))
            }
        }
    }
}
