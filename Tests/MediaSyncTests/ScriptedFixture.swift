import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// A source folder and a state folder (real files, real SQLite) and scripted remotes, wired into
/// the real engine. Each cycle gets the next epoch, which the remotes stamp on every call.
struct ScriptedFixture {
    let source: TemporaryDirectory
    let state: TemporaryDirectory
    let remotes: [ScriptedRemote]
    var config: MediaSyncConfig
    var epoch = 0
    var store: StateStore
    let logs: LogRing
    /// Files per batch on every scripted destination.
    var batchSize = 3

    init(destinations names: [String] = ["nas"], logLevel: Logger.Level = .info) throws {
        // In memory: these tests are about the engine's logic, and thousands of seeds' fsyncs
        // would otherwise be most of their time.
        source = try TemporaryDirectory(prefix: "dms-sim-src", in: TemporaryDirectory.memoryParent)
        state = try TemporaryDirectory(prefix: "dms-sim-state", in: TemporaryDirectory.memoryParent)
        remotes = names.map { ScriptedRemote(name: $0) }
        var local = MediaSyncConfig.Local(mediaRoots: [source.path])
        local.minFileAgeSeconds = 0
        config = MediaSyncConfig(
            local: local,
            destinations: remotes.map { r in
                var nas = MediaSyncConfig.NAS(host: "scripted", basePath: r.base)
                nas.name = r.name
                return .nas(nas)
            })
        config.state.directory = state.path
        config.state.runtimeDirectory = state.path + "/run"
        config.concurrency.lockFile = state.path + "/run/sync.lock"
        config.deletePolicy.delayMinutes = 0
        config.storageManagement.minFreeSpaceGB = 0
        config.consistencyCheck.enable = false
        config.retryPolicy.baseDelaySeconds = 0
        config.retryPolicy.jitterFraction = 0
        store = try StateStore(directory: state.filePath)
        logs = LogRing(capacity: 400, level: logLevel)
    }

    func remote(_ name: String) -> ScriptedRemote { remotes.first { $0.name == name }! }

    /// The engine as a freshly started process builds it (over the current store).
    func engine() -> SyncEngine {
        let destinations: [any Destination] = remotes.map { r in
            var d = r.destination()
            d.batchSize = batchSize
            return d
        }
        var engine = SyncEngine(config: config, store: store, destinations: destinations, logger: logs.logger())
        engine.layout = RemoteLayout(timeZone: TimeZone(identifier: "UTC")!)
        return engine
    }

    /// A restarted process: the store opened again from the same folder.
    mutating func reopenStore() throws {
        store = try StateStore(directory: state.filePath)
    }

    @discardableResult
    mutating func cycle() async -> CycleSummary {
        epoch += 1
        for r in remotes { r.epoch = epoch }
        return await engine().runCycle()
    }

    /// A media file with an old mtime (complete, eligible at once).
    @discardableResult
    func add(_ relative: String, bytes: [UInt8], mtime: FileTime = .secondsAgo(3600)) throws -> FilePath {
        try source.writeFile(relative, bytes: bytes, modified: mtime)
    }

    func cleanUp() {
        for r in remotes { r.releaseHung() }
        try? source.remove()
        try? state.remove()
    }
}

/// Keeps the last log lines (the engine's log is the first thing to read when a scenario fails).
final class LogRing: Sendable {
    let lines: Mutex<[String]>
    let capacity: Int
    let level: Logger.Level

    init(capacity: Int, level: Logger.Level) {
        self.capacity = capacity
        self.level = level
        lines = Mutex([])
    }

    func append(_ line: String) {
        lines.withLock {
            $0.append(line)
            if $0.count > capacity { $0.removeFirst($0.count - capacity) }
        }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger() -> Logger {
        var logger = Logger(label: "sim") { _ in Handler(ring: self) }
        logger.logLevel = level
        return logger
    }

    struct Handler: LogHandler {
        let ring: LogRing
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            ring.append("\(event.level) \(event.message)")
        }
    }
}
