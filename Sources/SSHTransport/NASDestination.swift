import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

/// A NAS reached with the OpenSSH client.
///
/// Why this shape (see bench/): a new ssh connection costs 140–220 ms and even a multiplexed
/// session ~20 ms with process start-up, so no file may pay for one. One connection per cycle
/// (the ControlMaster) carries dms-receive's control session for small requests (probe, publish,
/// verify, cleanup) and, per batch of files, one multiplexed data session that receives the temp
/// files and hashes what it wrote. Both speak RemoteProtocol to the same receiver (ReceiverScript),
/// sent inline or installed on the NAS as a forced command. Files are read once locally (hashed while streamed) and
/// published with an atomic no-clobber rename only when both hashes match.
public struct NASDestination: Destination {
    public let config: MediaSyncConfig.NAS
    public let integrity: MediaSyncConfig.IntegrityChecks
    public let concurrency: MediaSyncConfig.ConcurrencyControl
    public let runtimeDirectory: String
    public let instanceID: String
    /// For tests: the receiver publishes with ln/mv -n instead of perl (inline receiver only).
    public var forceShellPublisher = false
    /// For fault-injection tests only: a shell snippet the inline receiver runs on the NAS (in
    /// base_path) after the batch's temp files are written and before they are hashed, e.g. to
    /// corrupt one. (An installed receiver takes options from authorized_keys only.)
    public var faultInjectionAfterExtract: String?
    /// A temp kept for resuming a cut transfer that was not resumed within this long is removed
    /// like any leftover temp when the daemon connects (tests shorten it).
    public var resumeKeepSeconds: Double = 24 * 3600

    public init(
        config: MediaSyncConfig.NAS, integrity: MediaSyncConfig.IntegrityChecks,
        concurrency: MediaSyncConfig.ConcurrencyControl, runtimeDirectory: String, instanceID: String
    ) {
        self.config = config
        self.integrity = integrity
        self.concurrency = concurrency
        self.runtimeDirectory = runtimeDirectory
        self.instanceID = instanceID
    }

    public var name: String { config.name }

    public var configurationFingerprint: String {
        String(SHA256Hasher.hash(Array("\(config)".utf8)).hex.prefix(16))
    }

    public var displayName: String {
        "\(config.user.map { "\($0)@" } ?? "")\(config.host):\(config.port):\(config.basePath)"
    }

    static let connectionCounter = Atomic<Int>(0)

    /// ssh's arguments up to and including the host; the remote command follows.
    func sshArguments(controlPath: String, master: Bool) -> [String] {
        func value(_ v: String) -> String { v.contains(where: \.isWhitespace) ? "\"\(v)\"" : v }
        var a: [String] = []
        if let file = config.sshConfigFile { a += ["-F", file] }
        a += ["-p", String(config.port)]
        if let user = config.user { a += ["-l", user] }
        if let identity = config.identityFile { a += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        a += [
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(value(config.knownHostsFile))",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=\(config.connectTimeoutSeconds)",
            "-o", "ServerAliveInterval=\(config.serverAliveIntervalSeconds)",
            "-o", "ServerAliveCountMax=\(config.serverAliveCountMax)",
            "-o", "Compression=no",
            "-o", "LogLevel=ERROR",
            "-o", "ControlPath=\(value(controlPath))",
            "-o", master ? "ControlMaster=yes" : "ControlMaster=no",
            "-o", "ControlPersist=no"
        ]
        if let ciphers = config.ciphers, !ciphers.isEmpty { a += ["-c", ciphers] }
        for option in config.extraSSHOptions { a += ["-o", option] }
        a += ["-T", "--", config.host]
        return a
    }

    public func connect(journal: any TempJournal, progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession {
        let session = try await open(journal: journal, progress: progress, logger: logger, reservingDataSession: true)
        try await session.reclaimTemps()
        return session
    }

    /// The same connection (the same receiver, `installed` or inline), without reclaiming temps:
    /// the dry run's probes read only, and its journal refuses any write.
    public func connectReadOnly(progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession {
        try await open(journal: NoTempJournal(), progress: progress, logger: logger, reservingDataSession: false)
    }

    /// How long the NAS may take to log in and greet.
    var greetingStall: Double { Double(config.connectTimeoutSeconds) + integrity.transferTimeoutSeconds }

    /// An ssh session multiplexed on the master at `controlPath`, running `command`, its stdin ours.
    func spawnSession(_ command: String, controlPath: String) async throws(DestinationError) -> SSHProcess {
        do {
            return try await SSHProcess.spawn(
                executable: config.sshCommand, arguments: sshArguments(controlPath: controlPath, master: false) + [command], wantsStdin: true)
        } catch {
            throw DestinationError(.misconfigured, "cannot start \(config.sshCommand): \(error)")
        }
    }

    /// The command of a data session (the same for every batch: what a batch needs comes on its input).
    var dataCommand: String {
        ReceiverScript.remoteCommand(.data, nas: config, integrity: integrity, faultAfterWrite: faultInjectionAfterExtract)
    }

    /// `reservingDataSession`: the first batch's data session opens as soon as the master has logged
    /// in (its control socket appears), while the control session starts and greets. On a slow link
    /// the first batch then streams a round trip or two sooner. Unused, it just ends.
    func open(
        journal: any TempJournal, progress: any TransferProgress, logger: Logger, reservingDataSession: Bool = false
    ) async throws(DestinationError) -> NASSession {
        do {
            try LocalFS.createDirectories(FilePath(runtimeDirectory), mode: 0o700)
        } catch {
            throw DestinationError(.misconfigured, "runtime directory: \(error)")
        }
        await stopStaleMasters(logger: logger)
        let controlPath = controlPath(connection: Self.connectionCounter.add(1, ordering: .relaxed).newValue)
        let process: SSHProcess
        do {
            process = try await SSHProcess.spawn(
                executable: config.sshCommand,
                arguments: sshArguments(controlPath: controlPath, master: true)
                    + [
                        ReceiverScript.remoteCommand(
                            .control, nas: config, integrity: integrity,
                            shellPublisher: forceShellPublisher)
                    ],
                wantsStdin: true)
        } catch {
            throw DestinationError(.misconfigured, "cannot start \(config.sshCommand): \(error)")
        }
        let reserve: Task<SSHProcess?, Never>? =
            reservingDataSession
            ? Task { [self] in
                // (As long as the greeting may take: past it, the connection has failed anyway.)
                guard await LocalFS.waitUntilExists(FilePath(controlPath), timeout: .seconds(greetingStall)) else { return nil }
                return try? await spawnSession(dataCommand, controlPath: controlPath)
            } : nil
        let channel = ControlChannel(process: process, heartbeat: { progress.heartbeat() })
        // The receiver checks the base and its tools, then says @@READY (or @@ERR) unasked.
        let lines: [[UInt8]]
        let ready: RemoteProtocol.Ready
        do {
            lines = try await channel.request(
                [], stall: greetingStall,
                what: "connecting to \(displayName)")
            ready = try greeting(lines)
        } catch {
            await NASSession.discard(reserve)
            await channel.close()
            throw error
        }
        let session = NASSession(
            destination: self, channel: channel, controlPath: controlPath, receiver: ready, journal: journal, logger: logger, reserve: reserve,
            greetingSpace: RemoteProtocol.startupSpace(lines).map { DestinationSpace(freeBytes: $0.freeBytes, totalBytes: $0.totalBytes) })
        logger.debug("connected to \(displayName) (receiver: \(config.receiver), remote hash: \(ready.hashTool), publisher: \(ready.perl ? "perl" : "sh"))")
        if !ready.resume, config.resumeMinBytes > 0 {
            logger.notice(
                "\(displayName): the installed dms-receive is older than this dji-media-sync: a transfer cut by the link starts over until it is reinstalled (docs/nas-receiver.md)"
            )
        }
        return session
    }

    /// The receiver's greeting: what it can do, or why this connection cannot be used.
    func greeting(_ lines: [[UInt8]]) throws(DestinationError) -> RemoteProtocol.Ready {
        switch RemoteProtocol.startup(lines) {
        case let .ready(r): return r
        case .baseMissing:
            throw DestinationError(.misconfigured, "base_path does not exist or is not a folder on the NAS (is its volume mounted?)", remotePath: config.basePath)
        case .baseNotWritable:
            throw DestinationError(.permanent, "base_path is not writable by the NAS user", remotePath: config.basePath)
        case .noHashTool:
            throw DestinationError(.misconfigured, "the NAS has none of openssl, sha256sum, shasum, sha256 to compute SHA-256 (remote_hash_command)")
        case let .refused(why):
            throw DestinationError(.misconfigured, "the NAS receiver refused the session (\(why)); check receiver and the key's forced command (docs/nas-receiver.md)")
        case let .unexpected(text):
            throw DestinationError(.transient, "unexpected answer from the NAS receiver: \(text)")
        }
    }
}

/// A read-only session's journal: no temps pending, and any attempt to journal one is an error
/// (a dry run never creates a temp file).
struct NoTempJournal: TempJournal {
    struct ReadOnly: Error, CustomStringConvertible {
        var description: String { "a read-only (dry run) session writes no temp files" }
    }
    func record(destination: String, paths: [FilePath]) throws { throw ReadOnly() }
    func forget(destination: String, paths: [FilePath]) throws { throw ReadOnly() }
    func pending(destination: String) throws -> [FilePath] { [] }
}
