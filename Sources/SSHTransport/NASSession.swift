import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

/// One connection's worth of work against the NAS.
final class NASSession: DestinationSession {
    let destination: NASDestination
    let channel: ControlChannel
    let controlPath: String
    /// What the receiver's greeting said it can do: its hash tool, perl, GNU tail, and the verbs
    /// it knows (an installed dms-receive may be older than some).
    let receiver: RemoteProtocol.Ready
    let journal: any TempJournal
    let logger: Logger
    /// The free space the receiver sent with its greeting, and when: spares the cycle's first
    /// space check a round trip.
    let greetingSpace: Mutex<(DestinationSpace, ContinuousClock.Instant)?>
    /// Files at least this large, alone in their batch, are hashed while written (with GNU tail).
    static let overlappedHashMinimum: Int64 = 64 << 20
    let tempCounter = Atomic<Int>(0)
    /// Data sessions in flight, so that cancellation can stop them at once.
    let live = Mutex<[Int: SSHProcess]>([:])
    /// The data session opened while connecting, for the first batch (taken once).
    let reserve: Mutex<Task<SSHProcess?, Never>?>
    /// Remote folders seen to exist on this connection (`dx`): their files are probed without asking.
    let existingFolders = Mutex<Set<String>>([])

    init(
        destination: NASDestination, channel: ControlChannel, controlPath: String, receiver: RemoteProtocol.Ready,
        journal: any TempJournal, logger: Logger, reserve: Task<SSHProcess?, Never>? = nil, greetingSpace: DestinationSpace? = nil
    ) {
        self.receiver = receiver
        self.reserve = Mutex(reserve)
        self.greetingSpace = Mutex(greetingSpace.map { ($0, ContinuousClock.now) })
        self.destination = destination
        self.channel = channel
        self.controlPath = controlPath
        self.journal = journal
        self.logger = logger
    }

    var base: [UInt8] { Array(destination.config.basePath.utf8) }

    /// An ssh session multiplexed on the control connection, running `command`, its stdin ours.
    func spawnSession(_ command: String) async throws(DestinationError) -> SSHProcess {
        try await destination.spawnSession(command, controlPath: controlPath)
    }
    var stall: Double { destination.integrity.transferTimeoutSeconds }

    func absolute(_ relative: [UInt8]) -> FilePath {
        var b = base
        if b.last != UInt8(ascii: "/") { b.append(UInt8(ascii: "/")) }
        return FilePath(bytes: b + relative)
    }

    func close() async {
        await Self.discard(reserve.withLock { $0.take() })
        await channel.close()
    }

    /// A data session: the one opened while connecting if it is still there, else a new one.
    func openDataSession() async throws(DestinationError) -> SSHProcess {
        if let task = reserve.withLock({ $0.take() }), let process = await task.value { return process }
        return try await spawnSession(destination.dataCommand)
    }

    // MARK: temp files

    func newTempName(directory: String) -> [UInt8] {
        Array("\(directory)/\(destination.integrity.tempPrefix)\(destination.instanceID)-\(uniqueName())\(destination.integrity.tempSuffix)".utf8)
    }

    func uniqueName() -> String {
        let n = tempCounter.add(1, ordering: .relaxed).newValue
        return String(n, radix: 36) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Removes the temp files a crashed run left (exactly the journaled names, nothing else),
    /// except recent ones kept for resuming a cut transfer.
    func reclaimTemps() async throws(DestinationError) {
        var leftovers: [FilePath]
        do { leftovers = try journal.pending(destination: destination.name) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        let kept = try keptForResume()
        // (Their data sessions are ended all the same: no old writer may still append to them.)
        let sessionFiles = leftovers.filter(isSessionFile).compactMap(relative)
        leftovers.removeAll { kept.contains($0) }
        guard !leftovers.isEmpty else { return }
        // Data sessions of an earlier run may still write (their master was stopped, but a receiver
        // can still hold buffered stream): end them before their temps are removed.
        if !sessionFiles.isEmpty {
            _ = try await channel.request(
                RemoteProtocol.endSessions(sessionFiles), stall: stall,
                what: "ending the data sessions of an interrupted run")
            logger.notice("ended \(sessionFiles.count) data session(s) of an interrupted run on the NAS before removing its temp files")
        }
        try await removeRemote(leftovers)
        logger.notice(
            "removed \(leftovers.count) temp files left by an interrupted run",
            metadata: SyncEvent.tempReclaimed.metadata(["count": "\(leftovers.count)", "destination": "\(destination.name)"]))
    }

    /// The protocol's name (relative to the base) of an absolute remote path; nil outside the base.
    func relative(_ path: FilePath) -> [UInt8]? { RemoteProtocol.relative(path, base: destination.config.basePath) }

    /// Removes temp and session files (absolute remote paths), then forgets them in the journal.
    /// (A journaled path outside the base, from an older base_path, is only forgotten.)
    func removeRemote(_ paths: [FilePath]) async throws(DestinationError) {
        for chunk in paths.chunked(by: 500) {
            let names = chunk.compactMap(relative)
            if !names.isEmpty {
                _ = try await channel.request(RemoteProtocol.removeTemps(names), stall: stall, what: "removing temp files")
            }
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
            var asked = Set<Int>()
            for (i, copy) in chunk.enumerated() {
                guard let path = relative(copy.remotePath) else { continue }
                script += RemoteProtocol.verify(index: i, path: path, mode: mode.rawValue)
                asked.insert(i)
            }
            var byIndex: [Int: RemoteProtocol.Verify] = [:]
            if !script.isEmpty {
                for line in try await channel.request(RemoteProtocol.bulk(script, if: receiver.bulkVerify), stall: stall, what: "verifying copies") {
                    let (index, reply) = RemoteProtocol.verifyLine(line)
                    if let index, asked.contains(index) { byIndex[index] = reply }
                }
            }
            for (i, copy) in chunk.enumerated() {
                guard asked.contains(i) else {
                    results.append(.unknown("\(copy.remotePath.displayString) is not below base_path \(destination.config.basePath)"))
                    continue
                }
                guard let reply = byIndex[i] else {
                    results.append(.unknown("no answer for \(copy.remotePath.displayString) (batch \(chunkIndex))"))
                    continue
                }
                switch reply {
                case .missing: results.append(.missing)
                case let .size(size): results.append(size == copy.size ? .verified : .sizeMismatch(found: size))
                case let .sizeAndHash(size, hash):
                    if size != copy.size {
                        results.append(.sizeMismatch(found: size))
                    } else if hash != copy.sha256.hex {
                        results.append(.hashMismatch(found: hash))
                    } else {
                        results.append(.verified)
                    }
                case let .unknown(text): results.append(.unknown(text))
                }
            }
        }
        return results
    }

    // MARK: space and retention

    func space() async throws(DestinationError) -> DestinationSpace? {
        // The greeting's reading, once, while fresh (the cycle asks right after connecting).
        let greeting = greetingSpace.withLock { s in
            defer { s = nil }
            return s
        }
        if let (space, at) = greeting, ContinuousClock.now - at < .seconds(10) { return space }
        let lines = try await channel.request(RemoteProtocol.space, stall: stall, what: "reading free space")
        guard let space = RemoteProtocol.freeSpace(lines.last ?? []) else { return nil }
        return DestinationSpace(freeBytes: space.freeBytes, totalBytes: space.totalBytes)
    }

    func removeCopies(_ copies: [RemoteCopy]) async throws(DestinationError) -> [RemovalResult] {
        if !receiver.removalChecksTime, !copies.isEmpty {
            logger.notice(
                "\(destination.displayName): the installed dms-receive is older than this dji-media-sync: retention tells a copy from a file written over it by its size alone until it is reinstalled (docs/nas-receiver.md)"
            )
        }
        var results: [RemovalResult] = []
        for chunk in copies.chunked(by: 200) {
            var script: [UInt8] = []
            for (i, copy) in chunk.enumerated() {
                // The modification time as `put` gave it, where the receiver checks it.
                let mtime = receiver.removalChecksTime ? copy.sourceModifiedNanoseconds.map { RemoteProtocol.seconds(nanoseconds: $0) } : nil
                if let path = relative(copy.remotePath) { script += RemoteProtocol.removeCopy(index: i, path: path, size: copy.size, mtime: mtime) }
            }
            var byIndex: [Int: RemoteProtocol.Removal] = [:]
            if !script.isEmpty {
                for line in try await channel.request(script, stall: stall, what: "removing old copies") {
                    if let (i, reply) = RemoteProtocol.removalLine(line), (0..<chunk.count).contains(i) { byIndex[i] = reply }
                }
            }
            for (i, copy) in chunk.enumerated() {
                guard let reply = byIndex[i] else {
                    results.append(.failed(relative(copy.remotePath) == nil ? "not below base_path" : "no answer"))
                    continue
                }
                switch reply {
                case .removed: results.append(.removed)
                case .missing: results.append(.missing)
                case let .notOurs(size): results.append(.notOurs(foundSize: size))
                case let .replaced(modified): results.append(.replaced(foundModified: modified))
                case let .failed(why): results.append(.failed(why))
                }
            }
        }
        return results
    }
}
