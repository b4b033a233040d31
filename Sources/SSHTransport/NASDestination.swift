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
/// (the ControlMaster) carries a persistent remote `sh -s` for small requests (probe, publish,
/// verify, cleanup) and, per batch of files, one multiplexed session that receives a tar stream of
/// temp files and hashes what it wrote. Files are read once locally (hashed while streamed) and
/// published with an atomic no-clobber rename only when both hashes match.
public struct NASDestination: Destination {
    public let config: MediaSyncConfig.NAS
    public let integrity: MediaSyncConfig.IntegrityChecks
    public let concurrency: MediaSyncConfig.ConcurrencyControl
    public let runtimeDirectory: String
    public let instanceID: String
    /// Shared by every transfer of the process (the configured total rate).
    public var limiter: BandwidthLimiter?
    /// For tests: force the portable `mv -n` publisher instead of perl.
    public var forceShellPublisher = false
    /// For fault-injection tests only: a shell snippet run on the NAS (in base_path) after the
    /// batch's temp files are written and before they are hashed, e.g. to corrupt one.
    public var faultInjectionAfterExtract: String?

    public init(config: MediaSyncConfig.NAS, integrity: MediaSyncConfig.IntegrityChecks,
                concurrency: MediaSyncConfig.ConcurrencyControl, runtimeDirectory: String, instanceID: String) {
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
            "-o", "ControlPersist=no",
        ]
        if let ciphers = config.ciphers, !ciphers.isEmpty { a += ["-c", ciphers] }
        for option in config.extraSSHOptions { a += ["-o", option] }
        a += ["-T", "--", config.host]
        return a
    }

    public func connect(journal: any TempJournal, progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession {
        do {
            try LocalFS.createDirectories(FilePath(runtimeDirectory), mode: 0o700)
        } catch {
            throw DestinationError(.misconfigured, "runtime directory: \(error)")
        }
        await stopStaleMasters(logger: logger)
        let controlPath = controlPath(connection: Self.connectionCounter.add(1, ordering: .relaxed).newValue)
        let process: SSHProcess
        do {
            process = try await SSHProcess.spawn(executable: config.sshCommand,
                                                 arguments: sshArguments(controlPath: controlPath, master: true) + ["exec /bin/sh -s"],
                                                 wantsStdin: true)
        } catch {
            throw DestinationError(.misconfigured, "cannot start \(config.sshCommand): \(error)")
        }
        let channel = ControlChannel(process: process, heartbeat: { progress.heartbeat() })
        let preference = config.remoteHashCommand == "auto" ? ["openssl", "sha256sum", "shasum", "sha256"] : [config.remoteHashCommand]
        let lines = try await channel.request(RemoteScripts.prelude(basePath: Array(config.basePath.utf8), hashPreference: preference),
                                              stall: Double(config.connectTimeoutSeconds) + integrity.transferTimeoutSeconds,
                                              what: "connecting to \(displayName)")
        guard let ready = lines.last.map({ String(decoding: $0, as: UTF8.self) }) else {
            await channel.close()
            throw DestinationError(.unreachable, "no answer from the NAS shell")
        }
        if ready.hasPrefix("@@ERR") {
            await channel.close()
            switch ready {
            case "@@ERR base": throw DestinationError(.misconfigured, "base_path does not exist or is not a folder on the NAS (is its volume mounted?)", remotePath: config.basePath)
            case "@@ERR basewrite": throw DestinationError(.permanent, "base_path is not writable by the NAS user", remotePath: config.basePath)
            default: throw DestinationError(.misconfigured, "the NAS has none of \(preference.joined(separator: ", ")) to compute SHA-256 (remote_hash_command)")
            }
        }
        let fields = ready.split(separator: " ").map(String.init)
        guard fields.count >= 3, fields[0] == "@@READY" else {
            await channel.close()
            throw DestinationError(.transient, "unexpected answer from the NAS shell: \(ready.prefix(200))")
        }
        let session = NASSession(destination: self, channel: channel, controlPath: controlPath, hashTool: fields[1],
                                 perlPublisher: fields[2] == "perl" && !forceShellPublisher, journal: journal, logger: logger,
                                 gnuTar: fields.count > 3 && fields[3] == "1", gnuTail: fields.count > 4 && fields[4] == "1")
        try await session.reclaimTemps()
        logger.debug("connected to \(displayName) (remote hash: \(fields[1]), publisher: \(fields[2]))")
        return session
    }
}

/// One connection's worth of work against the NAS.
final class NASSession: DestinationSession {
    let destination: NASDestination
    let channel: ControlChannel
    let controlPath: String
    let hashTool: String
    let perlPublisher: Bool
    let journal: any TempJournal
    let logger: Logger
    /// GNU tar on the NAS: read 1 MiB records (-b 2048 -B) instead of 10 KiB ones.
    let gnuTar: Bool
    /// GNU tail on the NAS: a large file is read back and hashed while it is being written.
    let gnuTail: Bool
    /// Files at least this large, alone in their batch, are hashed while written (with GNU tail).
    static let overlappedHashMinimum: Int64 = 64 << 20
    private let tempCounter = Atomic<Int>(0)
    /// Data sessions in flight, so that cancellation can stop them at once.
    private let live = Mutex<[Int: SSHProcess]>([:])

    init(destination: NASDestination, channel: ControlChannel, controlPath: String, hashTool: String, perlPublisher: Bool,
         journal: any TempJournal, logger: Logger, gnuTar: Bool = false, gnuTail: Bool = false) {
        self.gnuTar = gnuTar
        self.gnuTail = gnuTail
        self.destination = destination
        self.channel = channel
        self.controlPath = controlPath
        self.hashTool = hashTool
        self.perlPublisher = perlPublisher
        self.journal = journal
        self.logger = logger
    }

    var base: [UInt8] { Array(destination.config.basePath.utf8) }
    var stall: Double { destination.integrity.transferTimeoutSeconds }

    func absolute(_ relative: [UInt8]) -> FilePath {
        var b = base
        if b.last != UInt8(ascii: "/") { b.append(UInt8(ascii: "/")) }
        return FilePath(bytes: b + relative)
    }

    func close() async { await channel.close() }

    // MARK: temp files

    func newTempName(directory: String) -> [UInt8] {
        Array("\(directory)/\(destination.integrity.tempPrefix)\(destination.instanceID)-\(uniqueName())\(destination.integrity.tempSuffix)".utf8)
    }

    func uniqueName() -> String {
        let n = tempCounter.add(1, ordering: .relaxed).newValue
        return String(n, radix: 36) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Removes the temp files a crashed run left (exactly the journaled names, nothing else).
    func reclaimTemps() async throws(DestinationError) {
        let leftovers: [FilePath]
        do { leftovers = try journal.pending(destination: destination.name) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        guard !leftovers.isEmpty else { return }
        // Data sessions of an earlier run may still write (their master was stopped, but a tar
        // can still hold buffered stream): end them before their temps are removed.
        let sessionFiles = leftovers.filter(isSessionFile)
        if !sessionFiles.isEmpty {
            var script: [UInt8] = Array("es".utf8)
            for f in sessionFiles { script += [0x20] + ShellQuote.quote(f.bytes) }
            _ = try await channel.request(script, stall: stall, what: "ending the data sessions of an interrupted run")
        }
        try await removeRemote(leftovers)
        logger.notice("removed \(leftovers.count) temp files left by an interrupted run",
                      metadata: SyncEvent.tempReclaimed.metadata(["count": "\(leftovers.count)", "destination": "\(destination.name)"]))
    }

    /// rm -f of absolute remote paths, then forgets them in the journal.
    func removeRemote(_ paths: [FilePath]) async throws(DestinationError) {
        for chunk in paths.chunked(by: 500) {
            var script: [UInt8] = Array("rm -f --".utf8)
            for p in chunk { script += [0x20] + ShellQuote.quote(p.bytes) }
            _ = try await channel.request(script, stall: stall, what: "removing temp files")
            do { try journal.forget(destination: destination.name, paths: Array(chunk)) } catch {
                throw DestinationError(.transient, "temp journal: \(error)")
            }
        }
    }

    // MARK: verify

    func verify(_ copies: [RemoteCopy], mode: VerifyMode) async throws(DestinationError) -> [VerifyResult] {
        var results: [VerifyResult] = []
        for (chunkIndex, chunk) in copies.chunked(by: 200).enumerated() {
            var script: [UInt8] = []
            for (i, copy) in chunk.enumerated() {
                script += Array("ver \(i) ".utf8) + ShellQuote.quote(copy.remotePath.bytes) + Array(" \(mode.rawValue)\n".utf8)
            }
            let lines = try await channel.request(script, stall: stall, what: "verifying copies")
            var byIndex: [Int: [String]] = [:]
            for line in lines {
                let f = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
                if let i = f.first.flatMap(Int.init) { byIndex[i] = Array(f.dropFirst()) }
            }
            for (i, copy) in chunk.enumerated() {
                guard let f = byIndex[i], let code = f.first else {
                    results.append(.unknown("no answer for \(copy.remotePath.displayString) (batch \(chunkIndex))"))
                    continue
                }
                switch code {
                case "M": results.append(.missing)
                case "Z":
                    let size = f.count > 1 ? Int64(f[1]) : nil
                    results.append(size == copy.size ? .verified : .sizeMismatch(found: size ?? -1))
                case "H":
                    let size = f.count > 1 ? Int64(f[1]) : nil
                    let hash = f.count > 2 ? f[2] : ""
                    if size != copy.size { results.append(.sizeMismatch(found: size ?? -1)) }
                    else if hash != copy.sha256.hex { results.append(.hashMismatch(found: hash)) }
                    else { results.append(.verified) }
                default: results.append(.unknown(f.joined(separator: " ")))
                }
            }
        }
        return results
    }

    // MARK: space and retention

    func space() async throws(DestinationError) -> DestinationSpace? {
        let lines = try await channel.request(Array("spc\n".utf8), stall: stall, what: "reading free space")
        guard let space = RemoteReplies.freeSpace(lines.last ?? []) else { return nil }
        return DestinationSpace(freeBytes: space.freeBytes, totalBytes: space.totalBytes)
    }

    func removeCopies(_ copies: [RemoteCopy]) async throws(DestinationError) -> [RemovalResult] {
        var results: [RemovalResult] = []
        for chunk in copies.chunked(by: 200) {
            var script: [UInt8] = []
            for (i, copy) in chunk.enumerated() {
                script += Array("rmv \(i) ".utf8) + ShellQuote.quote(copy.remotePath.bytes) + Array(" \(copy.size)\n".utf8)
            }
            var byIndex: [Int: [String]] = [:]
            for line in try await channel.request(script, stall: stall, what: "removing old copies") {
                let f = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
                if let i = f.first.flatMap(Int.init) { byIndex[i] = Array(f.dropFirst()) }
            }
            for i in chunk.indices.map({ $0 - chunk.startIndex }) {
                switch byIndex[i]?.first {
                case "D": results.append(.removed)
                case "M": results.append(.missing)
                case "N": results.append(.notOurs(foundSize: Int64(byIndex[i]?.dropFirst().first ?? "") ?? -1))
                default: results.append(.failed(byIndex[i]?.joined(separator: " ") ?? "no answer"))
                }
            }
        }
        return results
    }

    // MARK: transfer

    func transfer(_ items: [TransferItem], progress: any TransferProgress,
                  onResult: @escaping @Sendable ([TransferResult]) async -> Void) async throws(DestinationError) {
        for round in TransferItem.roundsByRemoteName(items) where !progress.stopRequested {
            let batches = makeBatches(round)
            let queue = BatchQueue()
            let workers = max(1, min(destination.concurrency.parallelTransfers, batches.count))
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask { [self] in
                        // A pause lets the batches in flight finish and starts no more.
                        while !Task.isCancelled, !progress.stopRequested {
                            let index = queue.next.add(1, ordering: .relaxed).oldValue
                            guard index < batches.count, queue.failure.withLock({ $0 }) == nil else { return }
                            do {
                                let results = try await runBatch(batches[index], progress: progress)
                                // Files cut off by a lost connection are not failures of their own:
                                // report the rest, and let the caller reconnect for these.
                                var lost: DestinationError?
                                let kept = results.filter { result in
                                    // A full NAS stops the whole destination too: no retry storm.
                                    if case let .failed(e) = result.outcome, e.kind.isConnectionLoss || e.kind == .destinationFull {
                                        lost = lost ?? e
                                        return false
                                    }
                                    return true
                                }
                                if !kept.isEmpty { await onResult(kept) }
                                if let lost { throw lost }
                            } catch {
                                let error = (error as? DestinationError) ?? DestinationError(.transient, "\(error)")
                                // The connection itself failed: stop the other workers; the caller
                                // reconnects or reports the destination unavailable. Files not
                                // reported are not recorded, and are planned again.
                                queue.failure.withLock { if $0 == nil { $0 = error } }
                                return
                            }
                        }
                    }
                }
            }
            if let error = queue.failure.withLock({ $0 }) { throw error }
            if Task.isCancelled { throw DestinationError(.cancelled, "stopping") }
        }
    }

    func makeBatches(_ items: [TransferItem]) -> [[TransferItem]] {
        let maxFiles = max(1, destination.concurrency.batchMaxFiles)
        let maxBytes = Int64(max(1, destination.concurrency.batchMaxMegabytes)) << 20
        var batches: [[TransferItem]] = []
        var current: [TransferItem] = []
        var bytes: Int64 = 0
        for item in items {
            if !current.isEmpty && (current.count >= maxFiles || bytes + item.identity.size > maxBytes) {
                batches.append(current)
                current = []
                bytes = 0
            }
            current.append(item)
            bytes += item.identity.size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// Probe → (hash locally where a same-size file exists) → stream → compare → publish.
    func runBatch(_ batch: [TransferItem], progress: any TransferProgress) async throws(DestinationError) -> [TransferResult] {
        var results: [TransferResult] = []
        let clock = ContinuousClock()
        let t0 = clock.now
        let probes = try await probe(batch)
        let probeTime = clock.now - t0
        var toSend: [(item: TransferItem, finalName: [UInt8], conflictIndex: Int)] = []
        for item in batch {
            guard let probe = probes[item.id] else {
                results.append(.init(item: item, outcome: .failed(DestinationError(.transient, "no probe answer")), bytesSent: 0))
                continue
            }
            guard let free = probe.free else {
                results.append(.init(item: item, outcome: .failed(DestinationError(.permanent, "more than 9999 files named like this one",
                                                                                    remotePath: absolute(finalRelative(item, 0)).displayString)), bytesSent: 0))
                continue
            }
            if !probe.sameSize.isEmpty {
                // A same-size file with this name exists: compare contents before sending anything.
                let local: SourceFile.Result
                do { local = try await hashLocal(item) } catch let change as SourceChanged {
                    results.append(.init(item: item, outcome: .sourceChanged(change), bytesSent: 0))
                    continue
                } catch {
                    results.append(.init(item: item, outcome: .failed(DestinationError(.transient, "reading \(item.localPath.displayString): \(error)")), bytesSent: 0))
                    continue
                }
                if let change = local.change {
                    results.append(.init(item: item, outcome: .sourceChanged(change), bytesSent: 0))
                    continue
                }
                if let match = probe.sameSize.first(where: { $0.hash == local.sha256.hex }) {
                    results.append(.init(item: item, outcome: .alreadyPresent(remotePath: absolute(finalRelative(item, match.index)), sha256: local.sha256), bytesSent: 0))
                    continue
                }
            }
            toSend.append((item, finalRelative(item, free), free))
        }
        if !toSend.isEmpty {
            results += try await sendAndPublish(toSend, progress: progress)
        }
        logger.debug("batch of \(batch.count) files: probe \(probeTime), total \(clock.now - t0)")
        return results
    }

    func finalRelative(_ item: TransferItem, _ index: Int) -> [UInt8] {
        let name = index == 0 ? item.remoteName : RemoteLayout.conflictName(item.remoteName, index: index)
        return Array(item.remoteDirectory.utf8) + [UInt8(ascii: "/")] + name
    }

    struct Probe {
        var free: Int?
        var sameSize: [(index: Int, hash: String)] = []
    }

    func probe(_ batch: [TransferItem]) async throws(DestinationError) -> [Int: Probe] {
        var script: [UInt8] = []
        for item in batch {
            let (stem, ext) = RemoteLayout.conflictParts(item.remoteName)
            script += Array("pr \(item.id) ".utf8) + ShellQuote.quote(Array(item.remoteDirectory.utf8)) + [0x20]
                + ShellQuote.quote(item.remoteName) + [0x20] + ShellQuote.quote(stem) + [0x20] + ShellQuote.quote(ext)
                + Array(" \(item.identity.size)\n".utf8)
        }
        let lines = try await channel.request(script, stall: stall, what: "checking existing files")
        var probes: [Int: Probe] = [:]
        for line in lines {
            let f = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
            guard f.count >= 2, let id = Int(f[0]) else { continue }
            var p = probes[id] ?? Probe()
            switch f[1] {
            case "F": p.free = f.count > 2 ? Int(f[2]) : nil
            case "S": if f.count > 3, let n = Int(f[2]) { p.sameSize.append((n, f[3])) }
            case "X": p.free = nil
            default: continue
            }
            probes[id] = p
        }
        return probes
    }

    func hashLocal(_ item: TransferItem) async throws -> SourceFile.Result {
        try await runBlocking {
            let file = try SourceFile(path: item.localPath, expected: item.identity)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { buffer.deallocate() }
            return try file.hashOnly(buffer: buffer)
        }
    }

    struct Streamed: Sendable {
        var index: Int
        var temp: [UInt8]
        var result: Result<SourceFile.Result, SourceStreamError>
    }

    struct SourceStreamError: Error, Sendable {
        var change: SourceChanged?
        var message: String
    }

    /// One multiplexed session: `tar -x` of temp files, then one hash command over all of them.
    func sendAndPublish(_ files: [(item: TransferItem, finalName: [UInt8], conflictIndex: Int)],
                        progress: any TransferProgress) async throws(DestinationError) -> [TransferResult] {
        let temps = files.map { newTempName(directory: $0.item.remoteDirectory) }
        let sessionFile = newSessionFileName()
        // Journaled with the temps: the next run ends this session's tar before removing them.
        let tempPaths = temps.map { absolute($0) } + [absolute(sessionFile)]
        do { try journal.record(destination: destination.name, paths: tempPaths) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        let directories = Array(Set(files.map(\.item.remoteDirectory))).sorted()
        var command = "cd -- \(ShellQuote.quoted(destination.config.basePath)) && mkdir -p --"
        for d in directories { command += " " + ShellQuote.quoted(d) }
        // tar runs as `sh -c` that records its own pid (kept by exec) in the session file.
        let tar = "sh -c 'echo $$ >\"$0\" && exec \"$@\"' \(String(decoding: ShellQuote.quote(sessionFile), as: UTF8.self)) "
            + (gnuTar ? "tar -b 2048 -B -xof -" : "tar -xof -")
        // One large file: read it back from the NAS's disk and hash it while tar writes it (tail
        // follows the temp file; head stops at its size), so the check ends with the last byte
        // instead of costing a second pass. Otherwise: hash every temp file once it is written.
        let overlapped = destination.integrity.hashWhileWriting && gnuTail && files.count == 1 && files[0].item.identity.size >= Self.overlappedHashMinimum
            && destination.faultInjectionAfterExtract == nil
        // Temp names hold the configured prefix and suffix: quoted like any other name. (Temp names
        // are UTF-8: our directory, prefix, instance and suffix.)
        let quotedTemps = temps.map { String(decoding: ShellQuote.quote($0), as: UTF8.self) }
        if overlapped {
            let temp = quotedTemps[0]
            // (An asynchronous command's stdin is /dev/null in sh: the stream goes in as fd 3.)
            command += " && { \(tar) <&3 & t=$!; while [ ! -e \(temp) ] && kill -0 $t 2>/dev/null; do sleep 0.02; done; "
                + "tail -c +1 -s 0.1 --pid=$t -f -- \(temp) 2>/dev/null | head -c \(files[0].item.identity.size) | "
                + "\(RemoteScripts.stdinHashCommand(tool: hashTool)) | cut -c1-64 | { read -r h; printf '%s %s\\n' \"$h\" \(temp); }; wait $t; } 3<&0"
        } else {
            command += " && \(tar) && "
            if let fault = destination.faultInjectionAfterExtract { command += "{ \(fault); } && " }
            // No "--": not every hash tool takes it; temp paths start with the day folder, never "-".
            command += RemoteScripts.batchHashCommand(tool: hashTool)
            for t in quotedTemps { command += " " + t }
        }

        let process: SSHProcess
        do {
            process = try await SSHProcess.spawn(executable: destination.config.sshCommand,
                                                 arguments: destination.sshArguments(controlPath: controlPath, master: false) + [command],
                                                 wantsStdin: true)
        } catch {
            throw DestinationError(.misconfigured, "cannot start \(destination.config.sshCommand): \(error)")
        }
        let spawnedAt = ContinuousClock.now
        let key = Int(process.pid)
        live.withLock { $0[key] = process }
        defer { _ = live.withLock { $0.removeValue(forKey: key) } }

        let stdoutFD = process.stdoutFD
        let stall = self.stall
        let heartbeat = channel.heartbeat
        async let hashLines: Result<[[UInt8]], DestinationError> = {
            do {
                return try await runBlocking {
                    let reader = LineReader(fd: stdoutFD)
                    var lines: [[UInt8]] = []
                    do {
                        // The hashes come only after the whole stream was written: no stall bound here
                        // beyond the stream's own, plus time to hash (bounded below by the wait).
                        while let line = try reader.nextLine(stall: 0, what: "reading remote hashes") {
                            heartbeat()
                            lines.append(line)
                        }
                    } catch { return .failure((error as? DestinationError) ?? DestinationError(.transient, "\(error)")) }
                    return .success(lines)
                }
            } catch { return .failure(DestinationError(.transient, "\(error)")) }
        }()

        let stdinFD = process.stdin
        let items = files.map(\.item)
        let limiter = destination.limiter
        let streamResult: Result<[Streamed], DestinationError> = await withTaskCancellationHandler {
            do {
                return try await runBlocking {
                    BlockingIO.setNonBlocking(stdinFD)
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
                    defer { buffer.deallocate() }
                    var streamed: [Streamed] = []
                    var out = StagedWriter(fd: stdinFD, stall: stall)
                    do {
                        for (index, item) in items.enumerated() {
                            let file: SourceFile
                            do { file = try SourceFile(path: item.localPath, expected: item.identity) } catch let change as SourceChanged {
                                streamed.append(Streamed(index: index, temp: temps[index], result: .failure(SourceStreamError(change: change, message: "\(change)"))))
                                continue
                            } catch {
                                streamed.append(Streamed(index: index, temp: temps[index], result: .failure(SourceStreamError(change: nil, message: "\(error)"))))
                                continue
                            }
                            progress.fileStarted(item)
                            let header = TarWriter.fileHeader(name: temps[index], size: item.identity.size,
                                                              mode: 0o644, mtime: item.identity.mtimeNanoseconds / 1_000_000_000)
                            try out.write(header, what: "sending \(item.localPath.displayString)")
                            let result = try file.stream(buffer: buffer, progress: { progress.bytesMoved($0) }) { chunk in
                                limiter?.consume(chunk.count)
                                try out.write(chunk, what: "sending \(item.localPath.displayString)")
                            }
                            let pad = TarWriter.padding(for: item.identity.size)
                            if pad > 0 { try out.writeZeros(pad, what: "sending") }
                            streamed.append(Streamed(index: index, temp: temps[index], result: .success(result)))
                        }
                        try out.write(TarWriter.endOfArchive, what: "finishing the batch")
                        try out.flush(what: "finishing the batch")
                        return .success(streamed)
                    } catch let error as DestinationError {
                        return .failure(error)
                    } catch {
                        return .failure(DestinationError(.transient, "reading a local file: \(error)"))
                    }
                }
            } catch {
                return .failure(DestinationError(.transient, "\(error)"))
            }
        } onCancel: {
            process.terminate(grace: .milliseconds(500))
        }
        let streamedAt = ContinuousClock.now
        process.closeStdin()
        // Hashing a large batch remotely takes a while; a silent remote is bounded by the stall
        // limit since the last byte went out.
        let (exitStatus, stalled) = await waitWithStall(process)
        let lines = await hashLines
        let stderr = await process.stderrTail()
        let hashedAt = ContinuousClock.now

        var results: [TransferResult] = []
        var toRemove: [FilePath] = []
        var toPublish: [(file: (item: TransferItem, finalName: [UInt8], conflictIndex: Int), temp: [UInt8], sha: SHA256Digest)] = []

        let streamed: [Streamed]
        switch streamResult {
        case let .success(s): streamed = s
        case var .failure(error):
            if Task.isCancelled { error = DestinationError(.cancelled, "stopped while sending; temp files removed") }
            else if error.kind != .timeout { error = SSHErrors.classify(stderr, exitStatus: exitStatus, context: error.message) }
            // A NAS that filled up can end the stream early (tar exits): check before the temps go.
            if !Task.isCancelled, error.kind == .transient || error.kind == .permanent,
               let full = await fullDestination(files.indices.map { (temps[$0], files[$0].item.identity.size) }) {
                error = full
            }
            try? await removeRemoteLogged(tempPaths)
            return files.map { TransferResult(item: $0.item, outcome: .failed(error), bytesSent: 0) }
        }
        // Files whose copy is missing or differs, while their temps still exist: a full NAS shows
        // up as these (a short write; a hash of the partial file), so they are checked for it.
        var suspects: [(result: Int, temp: [UInt8], size: Int64)] = []
        var remoteHashes: [String: String] = [:]
        if case let .success(hashOutput) = lines {
            for line in hashOutput where line.count > 64 {
                let hex = String(decoding: line[..<64], as: UTF8.self).lowercased()
                var rest = line[64...]
                while let first = rest.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "*") { rest = rest.dropFirst() }
                remoteHashes[String(decoding: rest, as: UTF8.self)] = hex
            }
        }
        let sessionError: DestinationError? = exitStatus == 0 ? nil
            : stalled ? DestinationError(.timeout, "the NAS sent no checksums for \(Int(stall)) s (transfer_timeout_seconds)",
                                                          exitStatus: exitStatus, stderrTail: stderr.isEmpty ? nil : String(stderr.suffix(600)))
            : SSHErrors.classify(stderr, exitStatus: exitStatus, context: "the NAS could not store the batch")

        for s in streamed {
            let file = files[s.index]
            switch s.result {
            case let .failure(problem):
                toRemove.append(absolute(s.temp))
                if let change = problem.change {
                    results.append(.init(item: file.item, outcome: .sourceChanged(change), bytesSent: 0))
                } else {
                    results.append(.init(item: file.item, outcome: .failed(DestinationError(.transient, problem.message)), bytesSent: 0))
                }
            case let .success(local):
                if let change = local.change {
                    toRemove.append(absolute(s.temp))
                    results.append(.init(item: file.item, outcome: .sourceChanged(change), bytesSent: file.item.identity.size))
                    continue
                }
                guard let remote = remoteHashes[String(decoding: s.temp, as: UTF8.self)] else {
                    toRemove.append(absolute(s.temp))
                    var e = sessionError ?? DestinationError(.transient, "the NAS returned no checksum")
                    e.remotePath = absolute(file.finalName).displayString
                    suspects.append((results.count, s.temp, file.item.identity.size))
                    results.append(.init(item: file.item, outcome: .failed(e), bytesSent: file.item.identity.size))
                    continue
                }
                if remote != local.sha256.hex {
                    toRemove.append(absolute(s.temp))
                    suspects.append((results.count, s.temp, file.item.identity.size))
                    results.append(.init(item: file.item, outcome: .failed(DestinationError(
                        .verificationFailed, "SHA-256 differs: local \(local.sha256.hex), remote \(remote); not published",
                        remotePath: absolute(file.finalName).displayString)), bytesSent: file.item.identity.size))
                    continue
                }
                toPublish.append((file, s.temp, local.sha256))
            }
        }
        // Files not reached (the stream stopped early) were never written: remove their temps too.
        let reached = Set(streamed.map(\.index))
        for (i, file) in files.enumerated() where !reached.contains(i) {
            toRemove.append(absolute(temps[i]))
            suspects.append((results.count, temps[i], file.item.identity.size))
            results.append(.init(item: file.item, outcome: .failed(sessionError ?? DestinationError(.transient, "not sent")), bytesSent: 0))
        }
        // A full NAS is the destination's state, not these files' fault (and not corruption): the
        // caller stops sending there, charges nothing to the files and keeps their sources.
        let unclassified = suspects.filter {
            if case let .failed(e) = results[$0.result].outcome { return e.kind == .transient || e.kind == .verificationFailed || e.kind == .permanent }
            return false
        }
        if !unclassified.isEmpty, let full = await fullDestination(unclassified.map { ($0.temp, $0.size) }) {
            for suspect in unclassified {
                var e = full
                if case let .failed(old) = results[suspect.result].outcome { e.remotePath = old.remotePath }
                results[suspect.result] = .init(item: results[suspect.result].item, outcome: .failed(e), bytesSent: results[suspect.result].bytesSent)
            }
        }

        if !toPublish.isEmpty {
            let published = try await publish(toPublish.map { ($0.file.item.id, $0.temp, $0.file.finalName) })
            for p in toPublish {
                let final = absolute(p.file.finalName)
                switch published[p.file.item.id] {
                case .some("P"):
                    results.append(.init(item: p.file.item, outcome: .placed(remotePath: final, sha256: p.sha, conflictIndex: p.file.conflictIndex),
                                         bytesSent: p.file.item.identity.size))
                case .some("E"):
                    results.append(.init(item: p.file.item, outcome: .failed(DestinationError(
                        .transient, "another file appeared under the final name during the transfer; not overwritten, will retry",
                        remotePath: final.displayString)), bytesSent: p.file.item.identity.size))
                case let other:
                    toRemove.append(absolute(p.temp))
                    results.append(.init(item: p.file.item, outcome: .failed(DestinationError(
                        .permanent, "rename failed: \(other ?? "no answer")", remotePath: final.displayString)), bytesSent: p.file.item.identity.size))
                }
            }
        }
        let publishedAt = ContinuousClock.now
        toRemove.append(absolute(sessionFile))
        try await removeRemote(toRemove)
        logger.debug("data session: \(files.count) files; stream until \(streamedAt - spawnedAt), remote hash \(hashedAt - streamedAt), publish \(publishedAt - hashedAt)")
        // Published temps no longer exist under their temp names.
        do { try journal.forget(destination: destination.name, paths: tempPaths) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        return results
    }

    /// Whether the NAS is full, judged while the failed files' temps (name, expected size) still
    /// exist: a temp shorter than its file with less free space than the rest needs did not fit.
    /// (GNU tar reports ENOSPC only as "Wrote only N of M bytes"; a hash computed while writing
    /// just differs.) nil when the NAS has room, or cannot tell.
    func fullDestination(_ temps: [(temp: [UInt8], size: Int64)]) async -> DestinationError? {
        var script: [UInt8] = []
        for (i, t) in temps.enumerated() { script += Array("ver \(i) ".utf8) + ShellQuote.quote(t.temp) + Array(" size\n".utf8) }
        script += Array("spc\n".utf8)
        guard let lines = try? await channel.request(script, stall: stall, what: "checking free space after a failed write"),
              let free = RemoteReplies.freeSpace(lines.last ?? [])?.freeBytes else { return nil }
        var written: [Int: Int64] = [:]
        for line in lines.dropLast() {
            if case let (i?, .size(n)) = RemoteReplies.verifyLine(line) { written[i] = n }
            else if case (let i?, .missing) = RemoteReplies.verifyLine(line) { written[i] = 0 }
        }
        for (i, t) in temps.enumerated() {
            guard let w = written[i], w < t.size, free < t.size - w else { continue }
            return DestinationError(.destinationFull, "the NAS is full: \(free) bytes free, \(t.size - w) more needed for \(FilePath.display(t.temp))",
                                    remotePath: absolute(t.temp).displayString)
        }
        return nil
    }

    /// Removing temps after a failure is best effort: if the connection is gone, the journal keeps
    /// the names and the next connection removes them.
    func removeRemoteLogged(_ paths: [FilePath]) async throws {
        do { try await removeRemote(paths) } catch {
            logger.warning("could not remove \(paths.count) temp files now (\(error)); they are journaled and will be removed on the next connection")
        }
    }

    /// The exit status, and whether the stall limit ended the process.
    func waitWithStall(_ process: SSHProcess) async -> (status: Int32, stalled: Bool) {
        let stall = self.stall
        let watchdog = Task { () -> Bool in
            do { try await Task.sleep(for: .seconds(max(1, stall))) } catch { return false }
            process.terminate()
            return true
        }
        let status = await process.wait()
        watchdog.cancel()
        return (status, await watchdog.value)
    }

    /// "P" published, "E" the final name exists (not overwritten), "X ..." failed.
    func publish(_ entries: [(id: Int, temp: [UInt8], final: [UInt8])]) async throws(DestinationError) -> [Int: String] {
        var outcome: [Int: String] = [:]
        for chunk in entries.chunked(by: 400) {
            var script: [UInt8] = []
            if perlPublisher {
                script += Array(RemoteScripts.perlPublisher.utf8)
                for e in chunk { script += Array(" \(e.id) ".utf8) + ShellQuote.quote(e.temp) + [0x20] + ShellQuote.quote(e.final) }
                script += [0x0A]
            } else {
                for e in chunk { script += Array("pb \(e.id) ".utf8) + ShellQuote.quote(e.temp) + [0x20] + ShellQuote.quote(e.final) + [0x0A] }
            }
            for line in try await channel.request(script, stall: stall, what: "publishing verified files") {
                let text = String(decoding: line, as: UTF8.self)
                let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
                if parts.count == 2, let id = Int(parts[0]) { outcome[id] = parts[1] }
            }
        }
        return outcome
    }
}

/// Hands out batch indexes to the workers and records the first connection-level failure.
final class BatchQueue: Sendable {
    let next = Atomic<Int>(0)
    let failure = Mutex<DestinationError?>(nil)
}

extension Array {
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
