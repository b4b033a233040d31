import Foundation
import Logging
import Synchronization

/// Keeps every log line of a test's logger (message + metadata) for assertions.
public final class LogCapture: Sendable {
    public struct Line: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    public let lines = Mutex<[Line]>([])

    public init() {}

    public func handler() -> Handler { Handler(capture: self) }

    /// A logger at `level` that writes here.
    public func logger(level: Logger.Level = .debug) -> Logger {
        var logger = Logger(label: "test", factory: { _ in self.handler() })
        logger.logLevel = level
        return logger
    }

    /// Whether a line carries `MESSAGE_ID` `messageID` (a `SyncEvent`'s raw value).
    public func contains(messageID: String) -> Bool { lines.withLock { $0.contains { $0.metadata["message_id"] == messageID } } }

    public func messages(messageID: String) -> [String] {
        lines.withLock { $0.filter { $0.metadata["message_id"] == messageID }.map(\.message) }
    }

    /// Whether any message satisfies `predicate`.
    public func any(_ predicate: (String) -> Bool) -> Bool { lines.withLock { $0.contains { predicate($0.message) } } }

    public struct Handler: LogHandler {
        let capture: LogCapture
        public var metadata: Logger.Metadata = [:]
        public var logLevel: Logger.Level = .trace
        public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        public func log(event: Logging.LogEvent) {
            let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
            capture.lines.withLock { $0.append(Line(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" })) }
        }
    }
}

/// The `dji-media-sync` executable built next to the running test bundle (`swift build
/// --build-tests` builds every product).
public func builtBinary(_ name: String = "dji-media-sync") throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = (exe as NSString).deletingLastPathComponent + "/" + name
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw TestSupportError("\(path) is missing: build it first (swift build --build-tests builds every product)")
    }
    return path
}
