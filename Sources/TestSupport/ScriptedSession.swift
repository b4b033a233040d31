import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

// The destination and its sessions over a ScriptedRemote (ScriptedDestination.swift).

/// The ``Destination`` of one process; every process gets a new one from ``ScriptedRemote/destination(fingerprint:)``.
public struct ScriptedDestination: Destination {
    public let remote: ScriptedRemote
    public let configurationFingerprint: String
    /// Files per batch: results are reported to the engine batch by batch.
    public var batchSize = 3

    public var name: String { remote.name }
    public var displayName: String { "scripted \(remote.name) at \(remote.base)" }

    public func connect(journal: any TempJournal, progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession {
        let generation = remote.state.withLock { $0.generation }
        _ = try await remote.answer(.connect, item: nil, generation: generation)
        let id = try remote.live(generation) { s throws(DestinationError) in
            s.sessions += 1
            return s.sessions
        }
        let session = ScriptedSession(remote: remote, id: id, generation: generation, journal: journal, batchSize: batchSize, logger: logger)
        try session.reclaimTemps()
        return session
    }

    /// A session that reclaims nothing (the dry run's).
    public func connectReadOnly(progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession {
        let generation = remote.state.withLock { $0.generation }
        _ = try await remote.answer(.connect, item: nil, generation: generation)
        let id = try remote.live(generation) { s throws(DestinationError) in
            s.sessions += 1
            return s.sessions
        }
        return ScriptedSession(remote: remote, id: id, generation: generation, journal: ReadOnlyJournal(), batchSize: batchSize, logger: logger)
    }
}

/// A read-only session's journal: nothing pending; journaling a temp is an error.
struct ReadOnlyJournal: TempJournal {
    struct ReadOnly: Error {}
    func record(destination: String, paths: [FilePath]) throws { throw ReadOnly() }
    func forget(destination: String, paths: [FilePath]) throws { throw ReadOnly() }
    func pending(destination: String) throws -> [FilePath] { [] }
}

/// One connection. Sequential inside (like one NAS data session), so runs are reproducible.
public final class ScriptedSession: DestinationSession {
    let remote: ScriptedRemote
    public let id: Int
    let generation: Int
    let journal: any TempJournal
    let batchSize: Int
    let logger: Logger

    init(remote: ScriptedRemote, id: Int, generation: Int, journal: any TempJournal, batchSize: Int, logger: Logger) {
        self.remote = remote
        self.id = id
        self.generation = generation
        self.journal = journal
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    /// Removes exactly the journaled temp names (a crashed run's), as the NAS session does.
    func reclaimTemps() throws(DestinationError) {
        let leftovers: [FilePath]
        do { leftovers = try journal.pending(destination: remote.name) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        guard !leftovers.isEmpty else { return }
        try remote.live(generation) { s throws(DestinationError) in
            for p in leftovers where s.files[p]?.isTemp == true { s.files[p] = nil }
        }
        try forget(leftovers)
    }

    func forget(_ paths: [FilePath]) throws(DestinationError) {
        do { try journal.forget(destination: remote.name, paths: paths) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
    }

    public func close() async {}

    public func space() async throws(DestinationError) -> DestinationSpace? {
        _ = try await remote.answer(.space, item: nil, generation: generation)
        return try remote.live(generation) { s throws(DestinationError) in
            guard let capacity = s.capacity else { return DestinationSpace(freeBytes: 1 << 40, totalBytes: 1 << 41) }
            return DestinationSpace(freeBytes: max(0, capacity - ScriptedRemote.used(s)), totalBytes: capacity)
        }
    }

    public func verify(_ copies: [RemoteCopy], mode: VerifyMode) async throws(DestinationError) -> [VerifyResult] {
        _ = try await remote.answer(.verify, item: nil, generation: generation)
        return try remote.live(generation) { s throws(DestinationError) in
            let results: [VerifyResult] = copies.map { copy in
                guard let file = s.files[copy.remotePath], !file.isTemp else { return .missing }
                if Int64(file.bytes.count) != copy.size { return .sizeMismatch(found: Int64(file.bytes.count)) }
                if mode == .sha256, file.sha256 != copy.sha256 { return .hashMismatch(found: file.sha256.hex) }
                return .verified
            }
            for (copy, result) in zip(copies, results) {
                s.verifications.append(RecordedVerification(epoch: s.epoch, session: id, copy: copy, mode: mode, result: result))
            }
            return results
        }
    }

    public func removeCopies(_ copies: [RemoteCopy]) async throws(DestinationError) -> [RemovalResult] {
        _ = try await remote.answer(.removeCopies, item: nil, generation: generation)
        return try remote.live(generation) { s throws(DestinationError) in
            copies.map { copy in
                guard let file = s.files[copy.remotePath], !file.isTemp else { return .missing }
                guard Int64(file.bytes.count) == copy.size else { return .notOurs(foundSize: Int64(file.bytes.count)) }
                s.files[copy.remotePath] = nil
                s.removals.append((s.epoch, copy.remotePath, file.sha256))
                return .removed
            }
        }
    }

    // MARK: transfer

    public func transfer(
        _ items: [TransferItem], progress: any TransferProgress,
        onResult: @escaping @Sendable ([TransferResult]) async -> Void
    ) async throws(DestinationError) {
        _ = try await remote.answer(.transfer, item: nil, generation: generation)
        for round in TransferItem.roundsByRemoteName(items) {
            for batch in round.chunked(by: batchSize) {
                // A pause: the batch in flight was reported; start no more (as the NAS does).
                if progress.stopRequested { return }
                var results: [TransferResult] = []
                var stop: DestinationError?
                for item in batch {
                    switch try await one(item, progress: progress) {
                    case .result(let r): results.append(r)
                    case .stop(let e): stop = e
                    }
                    if stop != nil { break }
                }
                _ = try await remote.answer(.report, item: nil, generation: generation)
                if !results.isEmpty { await onResult(results) }
                if let stop { throw stop }
                if Task.isCancelled { throw DestinationError(.cancelled, "stopping") }
            }
        }
    }

    enum Step { case result(TransferResult), stop(DestinationError) }

    /// The first free name among the item's name, `<stem>_1<ext>`, …, and the same-size files met
    /// on the way (as the NAS receiver's `pr` answers).
    func probe(_ item: TransferItem) throws(DestinationError) -> (free: Int?, sameSize: [(Int, SHA256Digest)]) {
        try remote.live(generation) { s throws(DestinationError) -> (free: Int?, sameSize: [(Int, SHA256Digest)]) in
            var n = 0
            var sameSize: [(Int, SHA256Digest)] = []
            while true {
                guard let existing = s.files[finalPath(item, n)] else { return (n, sameSize) }
                if Int64(existing.bytes.count) == item.identity.size { sameSize.append((n, existing.sha256)) }
                n += 1
                if n > 9999 { return (nil, sameSize) }
            }
        }
    }

    func finalPath(_ item: TransferItem, _ index: Int) -> FilePath {
        remote.path(directory: item.remoteDirectory, name: index == 0 ? item.remoteName : RemoteLayout.conflictName(item.remoteName, index: index))
    }

    /// The dry run: the same probe, a local hash where a same-size file is met; nothing written.
    public func lookUp(_ items: [TransferItem], progress: any TransferProgress) async throws(DestinationError) -> LookUp {
        _ = try await remote.answer(.lookUp, item: nil, generation: generation)
        var lookUp = LookUp(compared: "size and SHA-256")
        for item in items {
            let probe = try probe(item)
            guard let free = probe.free else {
                lookUp.outcomes[item.id] = .failed(DestinationError(.permanent, "more than 9999 files named like this one"))
                continue
            }
            if !probe.sameSize.isEmpty {
                let local: Read
                do { local = try await read(item, change: nil) } catch {
                    lookUp.outcomes[item.id] = .sourceChanged
                    continue
                }
                if local.result.change != nil {
                    lookUp.outcomes[item.id] = .sourceChanged
                    continue
                }
                if let match = probe.sameSize.first(where: { $0.1 == local.result.sha256 }) {
                    lookUp.outcomes[item.id] = .alreadyPresent(remotePath: finalPath(item, match.0))
                    continue
                }
            }
            lookUp.outcomes[item.id] = .wouldCopy(remotePath: finalPath(item, free), conflictIndex: free)
        }
        return lookUp
    }

    static func endsTransfer(_ e: DestinationError) -> Bool { e.kind.isConnectionLoss || e.kind == .destinationFull || e.kind == .cancelled }

    /// Probe, (hash if a same-size file has the name), send to a journaled temp, compare, publish.
    func one(_ item: TransferItem, progress: any TransferProgress) async throws(DestinationError) -> Step {
        let answer = try await remote.answer(.file, item: item, generation: generation)
        if case .fail(let e) = answer {
            return Self.endsTransfer(e) ? .stop(e) : .result(.init(item: item, outcome: .failed(e), bytesSent: 0))
        }
        let probe = try probe(item)
        func finalPath(_ index: Int) -> FilePath { self.finalPath(item, index) }
        guard let free = probe.free else {
            return .result(.init(item: item, outcome: .failed(DestinationError(.permanent, "more than 9999 files named like this one")), bytesSent: 0))
        }
        var change: (@Sendable (FilePath) -> Void)?
        if case .changeSourceDuringRead(let c) = answer { change = c }

        if !probe.sameSize.isEmpty {
            let local: Read
            do { local = try await read(item, change: change) } catch { return failure(item, error) }
            change = nil
            if let c = local.result.change { return .result(.init(item: item, outcome: .sourceChanged(c), bytesSent: 0)) }
            if let match = probe.sameSize.first(where: { $0.1 == local.result.sha256 }) {
                return .result(.init(item: item, outcome: .alreadyPresent(remotePath: finalPath(match.0), sha256: local.result.sha256), bytesSent: 0))
            }
        }

        // The temp name is journaled before any byte lands (so a crash leaves nothing unknown).
        let temp = try remote.live(generation) { s throws(DestinationError) -> FilePath in
            s.tempCounter += 1
            return remote.path(directory: item.remoteDirectory, name: Array(".dms-sim-\(s.tempCounter).part".utf8))
        }
        do { try journal.record(destination: remote.name, paths: [temp]) } catch {
            return .stop(DestinationError(.transient, "temp journal: \(error)"))
        }
        progress.fileStarted(item)
        let local: Read
        do { local = try await read(item, change: change) } catch {
            try forget([temp])
            return failure(item, error)
        }
        progress.bytesMoved(local.bytes.count)
        var arrived = local.bytes
        if case .corrupt = answer {
            if arrived.isEmpty { arrived = [0] } else { arrived[arrived.count / 2] ^= 0x5a }
        }
        let stored = try remote.live(generation) { s throws(DestinationError) -> RemoteFile? in
            if let capacity = s.capacity, ScriptedRemote.used(s) + Int64(arrived.count) > capacity { return nil }
            let file = RemoteFile(bytes: arrived, isTemp: true)
            s.files[temp] = file
            return file
        }
        guard let stored else {
            try forget([temp])
            return .stop(DestinationError(.destinationFull, "no space left on the scripted destination", remotePath: temp.displayString))
        }
        progress.heartbeat()
        if let c = local.result.change {
            try discard(temp)
            return .result(.init(item: item, outcome: .sourceChanged(c), bytesSent: item.identity.size))
        }
        if stored.sha256 != local.result.sha256 {
            try discard(temp)
            return .result(
                .init(
                    item: item,
                    outcome: .failed(
                        DestinationError(
                            .verificationFailed, "SHA-256 differs: local \(local.result.sha256.hex), remote \(stored.sha256.hex); not published",
                            remotePath: finalPath(free).displayString)), bytesSent: item.identity.size))
        }
        let publish = try await remote.answer(.publish, item: item, generation: generation)
        if case .fail(let e) = publish {
            // A lost connection leaves the temp where it is: journaled, removed at the next connect.
            if Self.endsTransfer(e) { return .stop(e) }
            try discard(temp)
            return .result(.init(item: item, outcome: .failed(e), bytesSent: item.identity.size))
        }
        let final = finalPath(free)
        // link(2) semantics: fails if the final name exists; never overwrites.
        let published = try remote.live(generation) { s throws(DestinationError) -> Bool in
            guard s.files[final] == nil, var file = s.files.removeValue(forKey: temp) else {
                s.files[temp] = nil
                return false
            }
            file.isTemp = false
            s.files[final] = file
            return true
        }
        try forget([temp])
        guard published else {
            return .result(
                .init(
                    item: item,
                    outcome: .failed(
                        DestinationError(
                            .transient, "another file appeared under the final name during the transfer; not overwritten, will retry",
                            remotePath: final.displayString)), bytesSent: item.identity.size))
        }
        return .result(
            .init(
                item: item, outcome: .placed(remotePath: final, sha256: stored.sha256, conflictIndex: free),
                bytesSent: item.identity.size))
    }

    func discard(_ temp: FilePath) throws(DestinationError) {
        try remote.live(generation) { s throws(DestinationError) in s.files[temp] = nil }
        try forget([temp])
    }

    func failure(_ item: TransferItem, _ error: any Error) -> Step {
        if let change = error as? SourceChanged { return .result(.init(item: item, outcome: .sourceChanged(change), bytesSent: 0)) }
        return .result(.init(item: item, outcome: .failed(DestinationError(.transient, "reading \(item.localPath.displayString): \(error)")), bytesSent: 0))
    }

    struct Read: Sendable {
        var bytes: [UInt8]
        var result: SourceFile.Result
    }

    /// Reads the local file once, hashing it (SourceFile: identity checked at open and after the
    /// last byte); `change` runs after the first chunk.
    func read(_ item: TransferItem, change: (@Sendable (FilePath) -> Void)?) async throws -> Read {
        try await runBlocking {
            let file = try SourceFile(path: item.localPath, expected: item.identity)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
            defer { buffer.deallocate() }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(item.identity.size))
            var pending = change
            // An empty file has no chunk: it changes between the open and the (empty) read.
            if item.identity.size == 0, let c = pending {
                pending = nil
                c(item.localPath)
            }
            let result = try file.stream(buffer: buffer) { chunk in
                bytes.append(contentsOf: chunk)
                if let c = pending {
                    pending = nil
                    c(item.localPath)
                }
            }
            return Read(bytes: bytes, result: result)
        }
    }
}
