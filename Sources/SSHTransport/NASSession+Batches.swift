import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

/// Batches: the rounds of a transfer, probing final names, publishing verified temps.
extension NASSession {
    // MARK: transfer

    func transfer(
        _ items: [TransferItem], progress: any TransferProgress,
        onResult: @escaping @Sendable ([TransferResult]) async -> Void
    ) async throws(DestinationError) {
        for round in TransferItem.roundsByRemoteName(items) where !progress.stopRequested {
            let batches = makeBatches(round)
            let queue = BatchQueue()
            let workers = max(1, min(destination.concurrency.parallelTransfers, batches.count))
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask { [self] in
                        await work(batches, queue: queue, progress: progress, onResult: onResult)
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

    /// One worker of a round: takes batches from `queue` until none is left, a pause or stop is
    /// asked for, or the connection fails (recorded in `queue`, which stops the other workers).
    ///
    /// Two things overlap each batch's stream and the NAS's hashing of it: the probe of the worker's
    /// next batch (a round trip on the control session, and the receiver's look at the names) and
    /// the recording of its previous results. At most one batch is prepared ahead and one recording
    /// pending; the worker ends only after both. A batch prepared but never sent (a pause, a stop, a
    /// failure) had nothing written: its data session ends unused and its files are planned again.
    func work(
        _ batches: [[TransferItem]], queue: BatchQueue, progress: any TransferProgress,
        onResult: @escaping @Sendable ([TransferResult]) async -> Void
    ) async {
        // A batch prepared ahead opens its data session early too only while the control session and
        // two data sessions per worker stay within OpenSSH's default MaxSessions (10): beyond it, a
        // refused session would cut the batch. Otherwise it opens when the batch is sent.
        let sessionsAhead = 1 + 2 * destination.concurrency.parallelTransfers <= Self.defaultMaxSessions
        // Not after a stop, a pause or a failed connection.
        func mayStart() -> Bool { !Task.isCancelled && !progress.stopRequested && queue.failure.withLock({ $0 }) == nil }
        func claim(first: Bool) -> Task<PreparedBatch, any Error>? {
            guard mayStart() else { return nil }
            let index = queue.next.add(1, ordering: .relaxed).oldValue
            guard index < batches.count else { return nil }
            let open = first || sessionsAhead
            return Task { try await self.prepare(batches[index], openingSession: open) }
        }
        var recording: Task<Void, Never>?
        var ahead = claim(first: true)
        while let current = ahead {
            ahead = nil
            do {
                let prepared = try await withTaskCancellationHandler {
                    try await current.value
                } onCancel: {
                    current.cancel()
                }
                // A pause lets the batches in flight finish and starts no more.
                guard mayStart() else {
                    Self.discard(prepared.session)
                    break
                }
                ahead = claim(first: false)
                let results = try await send(prepared, progress: progress)
                // Files cut off by a lost connection are not failures of their own: report the
                // rest, and let the caller reconnect for these.
                var lost: DestinationError?
                let kept = results.filter { result in
                    // A full NAS stops the whole destination too: no retry storm.
                    if case let .failed(e) = result.outcome, e.kind.isConnectionLoss || e.kind == .destinationFull {
                        lost = lost ?? e
                        return false
                    }
                    return true
                }
                await recording?.value
                recording = kept.isEmpty ? nil : Task { await onResult(kept) }
                if let lost { throw lost }
            } catch {
                let error = (error as? DestinationError) ?? DestinationError(.transient, "\(error)")
                // The connection itself failed: stop the other workers; the caller reconnects or
                // reports the destination unavailable. Files not reported are not recorded, and
                // are planned again.
                queue.failure.withLock { if $0 == nil { $0 = error } }
                break
            }
        }
        if let ahead {
            if Task.isCancelled || queue.failure.withLock({ $0 }) != nil { ahead.cancel() }
            if let unused = try? await ahead.value { Self.discard(unused.session) }
        }
        await recording?.value
    }

    /// A batch examined (its probe answered), with its data session opened meanwhile, not yet sent.
    struct PreparedBatch: Sendable {
        let count: Int
        let decided: [TransferResult]
        let toSend: [Send]
        let session: SSHProcess?
        let started: ContinuousClock.Instant
        let probeTime: Duration
    }

    /// OpenSSH's default limit of sessions on one connection (sshd_config MaxSessions).
    static let defaultMaxSessions = 10

    /// Probe → (hash locally where a same-size file exists): what ``send(_:progress:)`` needs.
    /// `openingSession`: the batch's data session opens meanwhile.
    func prepare(_ batch: [TransferItem], openingSession: Bool) async throws(DestinationError) -> PreparedBatch {
        let clock = ContinuousClock()
        let t0 = clock.now
        // The data session opens (ssh channel, the receiver starting on the NAS) while the probe is
        // answered: on a slow link that is a round trip or two less per batch. (It writes nothing
        // until its temps are journaled; unused, it just ends.)
        let early = Task { openingSession ? try? await openDataSession() : nil }
        let decided: [TransferResult]
        let toSend: [Send]
        do { (decided, toSend) = try await examine(batch) } catch {
            Self.discard(await early.value)
            throw error
        }
        let probeTime = clock.now - t0
        var session: SSHProcess?
        if toSend.isEmpty { Self.discard(await early.value) } else { session = await early.value }
        return PreparedBatch(count: batch.count, decided: decided, toSend: toSend, session: session, started: t0, probeTime: probeTime)
    }

    /// Stream → compare → publish, for a prepared batch.
    func send(_ batch: PreparedBatch, progress: any TransferProgress) async throws(DestinationError) -> [TransferResult] {
        var results = batch.decided
        if !batch.toSend.isEmpty {
            results += try await sendAndPublish(batch.toSend, progress: progress, session: batch.session)
        }
        logger.debug("batch of \(batch.count) files: probe \(batch.probeTime), total \(ContinuousClock.now - batch.started)")
        return results
    }

    typealias Send = (item: TransferItem, finalName: [UInt8], conflictIndex: Int)

    /// A batch's look before anything is sent (read-only; the dry run stops here): one probe round
    /// trip, then a local hash of each file that meets a same-size file under its names. Returns the
    /// files decided (already there, changed, failed) and those to send, with their free name.
    func examine(_ batch: [TransferItem]) async throws(DestinationError) -> (decided: [TransferResult], toSend: [Send]) {
        var results: [TransferResult] = []
        let probes = try await probe(batch)
        var toSend: [Send] = []
        for item in batch {
            guard let probe = probes[item.id] else {
                results.append(.init(item: item, outcome: .failed(DestinationError(.transient, "no probe answer")), bytesSent: 0))
                continue
            }
            guard let free = probe.free else {
                results.append(
                    .init(
                        item: item,
                        outcome: .failed(
                            DestinationError(
                                .permanent, "more than 9999 files named like this one",
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
        return (results, toSend)
    }

    /// The dry run: `examine`, batch by batch, with nothing sent or published.
    func lookUp(_ items: [TransferItem], progress: any TransferProgress) async throws(DestinationError) -> LookUp {
        var lookUp = LookUp(compared: "size, then SHA-256 (\(receiver.hashTool) on the NAS, the local file hashed here)")
        for batch in makeBatches(items) {
            if Task.isCancelled { throw DestinationError(.cancelled, "stopping") }
            let (decided, toSend) = try await examine(batch)
            progress.heartbeat()
            for result in decided {
                switch result.outcome {
                case let .alreadyPresent(path, _): lookUp.outcomes[result.item.id] = .alreadyPresent(remotePath: path)
                case .sourceChanged: lookUp.outcomes[result.item.id] = .sourceChanged
                case let .failed(error): lookUp.outcomes[result.item.id] = .failed(error)
                case let .placed(path, _, index): lookUp.outcomes[result.item.id] = .wouldCopy(remotePath: path, conflictIndex: index)
                }
            }
            for send in toSend {
                lookUp.outcomes[send.item.id] = .wouldCopy(remotePath: absolute(send.finalName), conflictIndex: send.conflictIndex)
            }
        }
        return lookUp
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
        let newFolders = try await foldersNotThere(Set(batch.map(\.remoteDirectory)))
        var probes: [Int: Probe] = [:]
        var script: [UInt8] = []
        for item in batch {
            if newFolders.contains(item.remoteDirectory) {
                probes[item.id] = Probe(free: 0)
                continue
            }
            let (stem, ext) = RemoteLayout.conflictParts(item.remoteName)
            script += RemoteProtocol.probe(
                id: item.id, directory: Array(item.remoteDirectory.utf8), name: item.remoteName,
                stem: stem, ext: ext, size: item.identity.size)
        }
        guard !script.isEmpty else { return probes }
        let asked = Set(batch.map(\.id))
        for line in try await channel.request(RemoteProtocol.bulk(script, if: receiver.bulk), stall: stall, what: "checking existing files") {
            guard let (id, reply) = RemoteProtocol.probeLine(line), asked.contains(id) else { continue }
            var p = probes[id] ?? Probe()
            switch reply {
            case let .free(n): p.free = n
            case let .sameSize(n, hash): p.sameSize.append((n, hash))
            case .tooMany: p.free = nil
            }
            probes[id] = p
        }
        return probes
    }

    /// Those of `folders` that are not on the NAS (`dx`): no name is taken in them, so their files
    /// need no probe (a first sync into new day folders skips the probe's process and its look at
    /// every name). A folder seen is remembered for the connection; one not there is asked about
    /// again each batch (an earlier batch may have created it meanwhile).
    func foldersNotThere(_ folders: Set<String>) async throws(DestinationError) -> Set<String> {
        guard receiver.folderCheck else { return [] }
        let unknown = folders.subtracting(existingFolders.withLock { $0 }).sorted()
        guard !unknown.isEmpty else { return [] }
        let script = unknown.enumerated().flatMap { RemoteProtocol.folderCheck(id: $0.offset, directory: Array($0.element.utf8)) }
        var absent = Set<String>()
        var seen: [String] = []
        for line in try await channel.request(script, stall: stall, what: "checking folders") {
            guard let (id, exists) = RemoteProtocol.folderLine(line), unknown.indices.contains(id) else { continue }
            if exists { seen.append(unknown[id]) } else { absent.insert(unknown[id]) }
        }
        existingFolders.withLock { $0.formUnion(seen) }
        return absent
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
        /// The file continued a kept temp that held this many bytes.
        var resumedAt: Int64? = nil

        /// Streamed whole, and the source did not change while it was read: its local SHA-256.
        var wholeHash: SHA256Digest? {
            if case let .success(r) = result, r.change == nil { r.sha256 } else { nil }
        }
    }

    /// A data session's stream that ended early: the files streamed, and the one in flight.
    struct StreamFailure: Error, Sendable {
        var error: DestinationError
        var streamed: [Streamed] = []
        var inFlight: (index: Int, temp: [UInt8])?
    }

    struct SourceStreamError: Error, Sendable {
        var change: SourceChanged?
        var message: String
    }

    /// Publishes temp → final without ever overwriting (the receiver links, or renames after a
    /// check); outcomes by id, for the ids asked only.
    /// `thenRemoving`: temp and session files (absolute) removed right after, in the same request
    /// (the caller forgets them in the journal).
    func publish(
        _ entries: [(id: Int, temp: [UInt8], final: [UInt8])], thenRemoving: [FilePath] = []
    ) async throws(DestinationError) -> [Int: RemoteProtocol.Publish] {
        var outcome: [Int: RemoteProtocol.Publish] = [:]
        // (Removals alone still go: one empty chunk carries them.)
        let chunks = entries.isEmpty ? [entries[...]] : entries.chunked(by: 400)
        for (n, chunk) in chunks.enumerated() {
            let asked = Set(chunk.map(\.id))
            var script = chunk.isEmpty ? [] : RemoteProtocol.bulk(RemoteProtocol.publish(chunk), if: receiver.bulk)
            if n == chunks.count - 1 {
                for names in thenRemoving.compactMap(relative).chunked(by: 500) { script += RemoteProtocol.removeTemps(names) }
            }
            for line in try await channel.request(script, stall: stall, what: "publishing verified files") {
                if let (id, reply) = RemoteProtocol.publishLine(line), asked.contains(id) { outcome[id] = reply }
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
