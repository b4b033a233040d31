import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import SSHTransport
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// A source folder, a NAS base on the test sshd, a state folder, and an engine wired to them.
struct NASFixture {
    let server: TestSSHServer
    let source: TemporaryDirectory
    let state: TemporaryDirectory
    let remoteBase: String
    var config: MediaSyncConfig
    var tweak: @Sendable (inout NASDestination) -> Void = { _ in }
    /// The engine's bandwidth limit (as Bootstrap configures it once for every destination).
    var limiter: BandwidthLimiter?
    let logs = LogCapture()
    /// With ``useInstalledReceiver(busybox:allowRemove:)``: the receiver's log on the NAS, and
    /// the folders to remove at the end.
    var receiverLog: String?
    var extraFolders: [String] = []

    init(_ name: String, server: TestSSHServer? = nil) async throws {
        let server = try await Self.serverOrShared(server)
        self.server = server
        source = try TemporaryDirectory(prefix: "dms-src")
        state = try TemporaryDirectory(prefix: "dms-state")
        remoteBase = try server.makeRemoteBase(name: name)
        var nas = MediaSyncConfig.NAS(host: server.host, basePath: remoteBase)
        nas.port = server.port
        nas.user = server.user
        nas.identityFile = server.identityFile
        nas.knownHostsFile = server.knownHostsFile
        nas.sshConfigFile = "none"
        nas.connectTimeoutSeconds = 5
        var local = MediaSyncConfig.Local(mediaRoots: [source.path])
        local.minFileAgeSeconds = 0
        config = MediaSyncConfig(local: local, destinations: [.nas(nas)])
        config.state.directory = state.path
        config.state.runtimeDirectory = state.path + "/run"
        config.concurrency.lockFile = state.path + "/run/sync.lock"
        config.deletePolicy.delayMinutes = 0
        config.integrity.transferTimeoutSeconds = 20
    }

    static func serverOrShared(_ server: TestSSHServer?) async throws -> TestSSHServer {
        if let server { return server }
        return try await TestSSHServer.shared()
    }

    var nas: MediaSyncConfig.NAS {
        get {
            if case let .nas(n) = config.destinations[0] { return n }
            fatalError()
        }
        set { config.destinations[0] = .nas(newValue) }
    }

    func store() throws -> StateStore { try StateStore(directory: state.filePath) }

    /// One transfer at a time (a ``HeldStream`` holds the one a test acts on); retries and
    /// reconnects at once.
    mutating func oneTransferAtATime() {
        config.concurrency.parallelTransfers = 1
        config.retryPolicy.baseDelaySeconds = 0
        config.retryPolicy.jitterFraction = 0
    }

    func engine() throws -> SyncEngine {
        let store = try store()
        var destination = NASDestination(
            config: nas, integrity: config.integrity, concurrency: config.concurrency,
            runtimeDirectory: config.state.runtimeDirectory, instanceID: try store.instanceID())
        tweak(&destination)
        var logger = Logger(label: "test", factory: { _ in logs.handler() })
        logger.logLevel = .debug
        var engine = SyncEngine(config: config, store: store, destinations: [destination], logger: logger)
        engine.bandwidthLimiter = limiter
        engine.destinationLimiters = BandwidthLimiter.perDestination(config) // as Bootstrap does
        return engine
    }

    func cycle(observer: any CycleObserver = SilentObserver()) async throws -> CycleSummary {
        try await engine().runCycle(observer: observer)
    }

    /// Writes a source file with an old mtime (so it is "complete").
    @discardableResult
    func add(_ name: String, size: Int, seed: UInt64 = 1) throws -> FilePath {
        let path = source.appending(name)
        try LocalFS.createDirectories(path.removingLastComponent())
        try TestFiles.write(size: size, seed: seed, to: path, modified: .secondsAgo(3600))
        return path
    }

    @discardableResult
    func add(rawName: [UInt8], bytes: [UInt8]) throws -> FilePath {
        let path = source.appending(name: rawName)
        try TestFiles.write(bytes, to: path, modified: .secondsAgo(3600))
        return path
    }

    /// Every regular file below the remote base (read directly: the test sshd is this machine),
    /// keyed by its path relative to the base, as raw bytes.
    func remoteFiles() throws -> [[UInt8]: [UInt8]] {
        var files: [[UInt8]: [UInt8]] = [:]
        let baseBytes = FilePath(remoteBase).bytes
        DirectoryWalker.walk(FilePath(remoteBase), onError: { Issue.record("\($0)") }) { entry in
            let rel = Array(entry.path.bytes.dropFirst(baseBytes.count + 1))
            files[rel] = (try? FileIO.readWholeFile(entry.path, limit: 1 << 30)) ?? []
        }
        return files
    }

    /// Writes a file on the NAS as its user would (folders owned by the NAS user).
    func putRemote(_ relative: String, _ bytes: [UInt8]) throws {
        guard let pw = getpwnam(server.user) else { throw LocalFSError("getpwnam \(server.user)", path: "-", errno: ENOENT) }
        var folder = remoteBase
        for part in relative.split(separator: "/").dropLast() {
            folder += "/\(part)"
            if !LocalFS.exists(FilePath(folder)) { try LocalFS.createDirectories(FilePath(folder)) }
            _ = chown(folder, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        let path = FilePath(remoteBase + "/" + relative)
        try TestFiles.write(bytes, to: path)
        _ = chown(path.string, pw.pointee.pw_uid, pw.pointee.pw_gid)
    }

    func remoteNames() throws -> Set<String> {
        Set(try remoteFiles().keys.map { String(decoding: $0, as: UTF8.self) })
    }

    /// Switches to a restricted key: authorized_keys runs dms-receive (the daemon's own text) as
    /// a forced command confined to the remote base, under dash or BusyBox sh with BusyBox tools.
    mutating func useInstalledReceiver(
        busybox: Bool = false, allowRemove: Bool = false, allowRead: Bool = false,
        script text: String = ReceiverScript.text
    ) async throws {
        let folder = try TemporaryDirectory.makeUniqueDirectory(TestSSHServer.remoteBaseRoot + "/receiver-XXXXXX")
        extraFolders.append(folder)
        _ = chmod(folder, 0o755)
        let script = folder + "/dms-receive"
        try TestFiles.write(Array(text.utf8), to: FilePath(script))
        _ = chmod(script, 0o755)
        let logFolder = try server.makeRemoteBase(name: "receiver-log")
        extraFolders.append(logFolder)
        receiverLog = logFolder + "/receiver.log"
        let options = "--base \(remoteBase) --log \(logFolder)/receiver.log" + (allowRemove ? " --allow-remove" : "") + (allowRead ? " --allow-read" : "")
        let command =
            busybox
            ? "PATH=\(try await TestSSHServer.busyboxApplets()); export PATH; exec sh \(script) \(options)"
            : "exec /bin/sh \(script) \(options)"
        var n = nas
        n.identityFile = try await server.addForcedCommandKey(command: command, in: folder)
        n.receiver = "installed"
        nas = n
    }

    /// The receiver's log lines on the NAS (refusals).
    func receiverLogLines() -> [String] {
        guard let receiverLog, let bytes = try? FileIO.readWholeFile(FilePath(receiverLog), limit: 1 << 20) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func cleanUp() {
        for folder in extraFolders { try? TemporaryDirectory.remove(path: folder) }
        try? source.remove()
        try? state.remove()
        try? TemporaryDirectory.remove(path: remoteBase)
    }
}

extension LogCapture {
    func contains(_ messageID: SyncEvent) -> Bool { contains(messageID: messageID.rawValue) }
    func messages(_ messageID: SyncEvent) -> [String] { messages(messageID: messageID.rawValue) }
}

func sha(_ bytes: [UInt8]) -> String { SHA256Hasher.hash(bytes).hex }
