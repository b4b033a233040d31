import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

/// The data session of a batch: one multiplexed ssh session that receives the temp files and
/// hashes what it wrote; then the comparison with the local hashes, and publishing.
extension NASSession {
    /// One multiplexed data session: the receiver writes each temp file, then hashes them all.
    func sendAndPublish(
        _ files: [(item: TransferItem, finalName: [UInt8], conflictIndex: Int)],
        progress: any TransferProgress, session early: SSHProcess? = nil
    ) async throws(DestinationError) -> [TransferResult] {
        // (An early session that has not been written to is ended if anything fails before it is used.)
        var early = early
        defer { Self.discard(early) }
        // A file whose earlier copy was cut continues its kept temp, or if the local prefix differs
        // starts over in a fresh one (journaled too, in case).
        let resumes = try await resumePoints(files.map(\.item))
        let temps = files.indices.map { resumes[$0]?.temp ?? newTempName(directory: files[$0].item.remoteDirectory) }
        let sessionFile = newSessionFileName()
        // Journaled with the temps: the next run ends this session's receiver before removing them.
        let tempPaths = temps.map { absolute($0) } + resumes.values.map { absolute($0.fallback) } + [absolute(sessionFile)]
        do { try journal.record(destination: destination.name, paths: tempPaths) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        let directories = Array(Set(files.map(\.item.remoteDirectory))).sorted()
        // One large file: the receiver reads it back from the NAS's disk and hashes it while it is
        // written (GNU tail follows the temp file), so the check ends with the last byte instead of
        // costing a second pass. Otherwise the hash tool reads the temps once written (with perl, in
        // runs of 4 MiB that start while the rest of the batch streams).
        let overlapped =
            destination.integrity.hashWhileWriting && receiver.gnuTail && files.count == 1 && files[0].item.identity.size >= Self.overlappedHashMinimum
            && destination.faultInjectionAfterExtract == nil && resumes.isEmpty
        // The receiver's perl publishes what it verified (`fin`); the overlapped hash runs in sh.
        let finishing = receiver.finishes && !overlapped
        let finals = files.map(\.finalName)
        // What precedes the files on the session's standard input: the hash tool the control
        // session found, the session file (holds the receiver's pid), the folders.
        let head =
            RemoteProtocol.dataTool(receiver.hashTool) + RemoteProtocol.dataSessionFile(sessionFile)
            + (receiver.tidy ? RemoteProtocol.dataTidy(keepFrom: resumeMinBytes) : [])
            + directories.flatMap { RemoteProtocol.dataDirectory(Array($0.utf8)) }
        let process: SSHProcess
        if let early {
            process = early
        } else {
            process = try await openDataSession()
        }
        early = nil
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
        // On failure: what was streamed, and the file in flight (its temp holds a prefix).
        let streamResult: Result<[Streamed], StreamFailure> = await withTaskCancellationHandler {
            do {
                return try await runBlocking {
                    BlockingIO.setNonBlocking(stdinFD)
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
                    defer { buffer.deallocate() }
                    var streamed: [Streamed] = []
                    var inFlight: (index: Int, temp: [UInt8])?
                    var out = StagedWriter(fd: stdinFD, stall: stall)
                    do {
                        try out.write(head, what: "starting the batch")
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
                            let what = "sending \(item.localPath.displayString)"
                            let mtime = RemoteProtocol.seconds(nanoseconds: item.identity.mtimeNanoseconds)
                            guard let point = resumes[index] else {
                                inFlight = (index, temps[index])
                                try out.write(RemoteProtocol.put(temp: temps[index], size: item.identity.size, mtime: mtime, hashWhileWriting: overlapped), what: what)
                                let result = try file.stream(buffer: buffer, progress: { progress.bytesMoved($0) }) { try out.write($0, what: what) }
                                streamed.append(Streamed(index: index, temp: temps[index], result: .success(result)))
                                inFlight = nil
                                continue
                            }
                            // The NAS's prefix is continued only if it is this file's, byte for byte.
                            let (result, resumed) = try file.stream(
                                buffer: buffer, resumingAfter: point.offset,
                                resume: { prefix in
                                    let same = prefix?.hex == point.sha256
                                    inFlight = (index, same ? point.temp : point.fallback)
                                    try out.write(
                                        same
                                            ? RemoteProtocol.append(temp: point.temp, size: item.identity.size, offset: point.offset, mtime: mtime)
                                            : RemoteProtocol.put(temp: point.fallback, size: item.identity.size, mtime: mtime), what: what)
                                    return same
                                }, prefixProgress: { progress.heartbeat() }, progress: { progress.bytesMoved($0) }
                            ) { try out.write($0, what: what) }
                            streamed.append(
                                Streamed(
                                    index: index, temp: resumed ? point.temp : point.fallback, result: .success(result),
                                    resumedAt: resumed ? point.offset : nil))
                            inFlight = nil
                        }
                        if finishing {
                            for s in streamed {
                                guard let sha = s.wholeHash else { continue }
                                try out.write(
                                    RemoteProtocol.finish(id: items[s.index].id, temp: s.temp, final: finals[s.index], sha256: sha.hex),
                                    what: "finishing the batch")
                            }
                        }
                        try out.write(RemoteProtocol.dataEnd, what: "finishing the batch")
                        try out.flush(what: "finishing the batch")
                        return .success(streamed)
                    } catch let error as DestinationError {
                        return .failure(StreamFailure(error: error, streamed: streamed, inFlight: inFlight))
                    } catch {
                        return .failure(StreamFailure(error: DestinationError(.transient, "reading a local file: \(error)"), streamed: streamed, inFlight: inFlight))
                    }
                }
            } catch {
                return .failure(StreamFailure(error: DestinationError(.transient, "\(error)")))
            }
        } onCancel: {
            process.terminate(grace: .milliseconds(500))
        }
        let streamedAt = ContinuousClock.now
        process.closeStdin()
        // Hashing a large batch remotely takes a while; a silent remote is bounded by the stall
        // limit since the last byte went out.
        let (exitStatus, stalled) = await waitWithStall(process)
        // A receiver still running (stalled behind a hung disk, or its ssh stopped) may yet write
        // what was buffered for it, and keeps the session's pipes open: the ControlMaster holds them,
        // not the ssh we stopped. So it is ended on the NAS before its output is read to the end and
        // its temps are removed. (If that request fails, the channel tears the master down.)
        if stalled || { if case .failure = streamResult { true } else { false } }() {
            await endSession(sessionFile)
        }
        let lines = await hashLines
        let stderr = await process.stderrTail()
        let hashedAt = ContinuousClock.now

        var results: [TransferResult] = []
        var toRemove: [FilePath] = []
        var keptForResume: [[UInt8]] = []
        var toPublish: [(file: (item: TransferItem, finalName: [UInt8], conflictIndex: Int), temp: [UInt8], sha: SHA256Digest)] = []

        let streamed: [Streamed]
        switch streamResult {
        case let .success(s): streamed = s
        case let .failure(failure):
            var error = failure.error
            if Task.isCancelled {
                error = DestinationError(.cancelled, "stopped while sending; temp files removed")
            } else if error.kind != .timeout {
                error = SSHErrors.classify(stderr, exitStatus: exitStatus, context: error.message)
            }
            // A NAS that filled up can end the stream early (the receiver exits): check before the temps go.
            if !Task.isCancelled, error.kind == .transient || error.kind == .permanent,
                let full = await fullDestination(files.indices.map { (temps[$0], files[$0].item.identity.size) })
            {
                error = full
            }
            // A lost connection keeps the temps of large files for the next attempt to continue.
            var kept: [[UInt8]] = []
            if error.kind.isConnectionLoss {
                // (Files streamed whole and unchanged, and the one cut off.)
                let whole = failure.streamed.filter { $0.wholeHash != nil }
                let written = whole.map { ($0.index, $0.temp) } + (failure.inFlight.map { [$0] } ?? [])
                for (index, temp) in written where resumable(files[index].item) {
                    try keepForResume(temp, of: files[index].item)
                    kept.append(temp)
                }
                // Kept temps of files the stream did not reach stay as they were.
                let reached = Set(written.map { $0.0 })
                kept += resumes.filter { !reached.contains($0.key) }.map(\.value.temp)
            }
            // (With a kept temp, its session file stays journaled too: the next connection ends
            // this session's receiver before the temp is continued.)
            try? await removeRemoteLogged(kept.isEmpty ? tempPaths : tempPaths.filter { !kept.map(absolute).contains($0) && $0 != absolute(sessionFile) })
            return files.map { TransferResult(item: $0.item, outcome: .failed(error), bytesSent: 0) }
        }
        // Files whose copy is missing or differs, while their temps still exist: a full NAS shows
        // up as these (a short write; a hash of the partial file), so they are checked for it.
        var suspects: [(result: Int, temp: [UInt8], size: Int64)] = []
        var remoteHashes: [String: String] = [:]
        // What the receiver published itself (`fin`), by item id; nil: its hash differed.
        var publishedBySession: [Int: RemoteProtocol.Publish?] = [:]
        if case let .success(hashOutput) = lines {
            for line in hashOutput {
                if let (temp, hash) = RemoteProtocol.hashLine(line) {
                    remoteHashes[String(decoding: temp, as: UTF8.self)] = hash
                } else if let (id, reply) = RemoteProtocol.sessionPublishLine(line) {
                    publishedBySession[id] = reply
                }
            }
        }
        let sessionError: DestinationError? =
            exitStatus == 0
            ? nil
            : stalled
                ? DestinationError(
                    .timeout, "the NAS sent no checksums for \(Int(stall)) s (transfer_timeout_seconds)",
                    exitStatus: exitStatus, stderrTail: stderr.isEmpty ? nil : String(stderr.suffix(600)))
                : SSHErrors.classify(stderr, exitStatus: exitStatus, context: "the NAS could not store the batch")

        var sent: [Int: Int64] = [:] // by item id, for the files that continued a kept temp
        for s in streamed {
            let file = files[s.index]
            if let point = resumes[s.index] {
                if let offset = s.resumedAt {
                    sent[file.item.id] = file.item.identity.size - offset
                    logger.info("\(file.item.localPath.displayString): resumed the partial copy at byte \(offset) of \(file.item.identity.size)")
                } else {
                    toRemove.append(absolute(point.temp))
                    logger.info("\(file.item.localPath.displayString): the partial copy on the NAS differs from the file; sent it all again")
                }
            }
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
                    var e = sessionError ?? DestinationError(.transient, "the NAS returned no checksum")
                    if e.kind.isConnectionLoss, resumable(file.item) {
                        try keepForResume(s.temp, of: file.item)
                        keptForResume.append(s.temp)
                    } else {
                        toRemove.append(absolute(s.temp))
                    }
                    e.remotePath = absolute(file.finalName).displayString
                    suspects.append((results.count, s.temp, file.item.identity.size))
                    results.append(.init(item: file.item, outcome: .failed(e), bytesSent: file.item.identity.size))
                    continue
                }
                if remote != local.sha256.hex {
                    toRemove.append(absolute(s.temp))
                    suspects.append((results.count, s.temp, file.item.identity.size))
                    results.append(
                        .init(
                            item: file.item,
                            outcome: .failed(
                                DestinationError(
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

        // A kept temp keeps its session file journaled (see the failure above).
        if keptForResume.isEmpty { toRemove.append(absolute(sessionFile)) }
        // A session that finished (`fin`, exit 0) removed its own unpublished temps and session file.
        // (Only when `fin` lines went: without them the receiver ends as it always did.)
        let sentFinish = streamed.contains { $0.wholeHash != nil }
        if finishing, sentFinish, exitStatus == 0 {
            let owned = Set(streamed.map { absolute($0.temp) } + [absolute(sessionFile)])
            toRemove.removeAll { owned.contains($0) }
        }
        if !toPublish.isEmpty {
            // What the session published itself needs no request; what is already known to go is
            // removed in the same round trip as the rest of the publishing.
            var published: [Int: RemoteProtocol.Publish] = [:]
            var rest: [(id: Int, temp: [UInt8], final: [UInt8])] = []
            for p in toPublish {
                switch publishedBySession[p.file.item.id] {
                case let .some(.some(reply)): published[p.file.item.id] = reply
                case .some(.none): published[p.file.item.id] = .failed("the NAS's SHA-256 of the temp differs")
                case .none: rest.append((p.file.item.id, p.temp, p.file.finalName))
                }
            }
            if !rest.isEmpty || !toRemove.isEmpty {
                published.merge(try await publish(rest, thenRemoving: toRemove)) { session, _ in session }
            }
            toRemove = []
            for p in toPublish {
                let final = absolute(p.file.finalName)
                switch published[p.file.item.id] {
                case .published:
                    results.append(
                        .init(
                            item: p.file.item, outcome: .placed(remotePath: final, sha256: p.sha, conflictIndex: p.file.conflictIndex),
                            bytesSent: sent[p.file.item.id] ?? p.file.item.identity.size))
                case .exists:
                    results.append(
                        .init(
                            item: p.file.item,
                            outcome: .failed(
                                DestinationError(
                                    .transient, "another file appeared under the final name during the transfer; not overwritten, will retry",
                                    remotePath: final.displayString)), bytesSent: p.file.item.identity.size))
                case let other:
                    toRemove.append(absolute(p.temp))
                    let why = if case let .failed(text) = other { text } else { "no answer" }
                    results.append(
                        .init(
                            item: p.file.item,
                            outcome: .failed(
                                DestinationError(
                                    .permanent, "rename failed: \(why)", remotePath: final.displayString)), bytesSent: p.file.item.identity.size))
                }
            }
        }
        let publishedAt = ContinuousClock.now
        let keep = Set(keptForResume.map(absolute) + (keptForResume.isEmpty ? [] : [absolute(sessionFile)]))
        if !toRemove.isEmpty { try await removeRemote(toRemove) }
        logger.debug("data session: \(files.count) files; stream until \(streamedAt - spawnedAt), remote hash \(hashedAt - streamedAt), publish \(publishedAt - hashedAt)")
        // Published temps no longer exist under their temp names.
        do { try journal.forget(destination: destination.name, paths: tempPaths.filter { !keep.contains($0) }) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        return results
    }

    /// Whether the NAS is full, judged while the failed files' temps (name, expected size) still
    /// exist: a temp shorter than its file with less free space than the rest needs did not fit.
    /// (dd's ENOSPC message may not reach us before the session ends; a hash computed while writing
    /// just differs.) nil when the NAS has room, or cannot tell.
    func fullDestination(_ temps: [(temp: [UInt8], size: Int64)]) async -> DestinationError? {
        var script: [UInt8] = []
        for (i, t) in temps.enumerated() { script += RemoteProtocol.verify(index: i, path: t.temp, mode: "size") }
        script += RemoteProtocol.space
        guard let lines = try? await channel.request(script, stall: stall, what: "checking free space after a failed write"),
            let free = RemoteProtocol.freeSpace(lines.last ?? [])?.freeBytes
        else { return nil }
        var written: [Int: Int64] = [:]
        for line in lines.dropLast() {
            if case let (i?, .size(n)) = RemoteProtocol.verifyLine(line) { written[i] = n } else if case (let i?, .missing) = RemoteProtocol.verifyLine(line) { written[i] = 0 }
        }
        for (i, t) in temps.enumerated() {
            guard let w = written[i], w < t.size, free < t.size - w else { continue }
            return DestinationError(
                .destinationFull, "the NAS is full: \(free) bytes free, \(t.size - w) more needed for \(FilePath.display(t.temp))",
                remotePath: absolute(t.temp).displayString)
        }
        return nil
    }

    /// Ends a data session opened ahead that was not used (nothing was written to it: its receiver
    /// reads the end of its input and exits). Not awaited: that takes a round trip.
    static func discard(_ process: SSHProcess?) {
        guard let process else { return }
        process.closeStdin()
        Task { _ = await process.wait() }
    }

    /// The same for a data session still being opened: it is not waited for.
    static func discard(_ opening: Task<SSHProcess?, Never>?) async {
        guard let opening else { return }
        opening.cancel()
        discard(await opening.value)
    }

    /// Ends a data session's receiver on the NAS (its process group, if it still runs) before its
    /// temps are removed, so that it cannot create one afterwards. Best effort: if the connection
    /// is gone, the journal keeps the session file and the next connection ends it.
    func endSession(_ sessionFile: [UInt8]) async {
        do {
            _ = try await channel.request(RemoteProtocol.endSessions([sessionFile]), stall: stall, what: "ending a data session")
        } catch {
            logger.debug("could not end the data session \(FilePath.display(sessionFile)) now: \(error)")
        }
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

}
