import Foundation
import Hashing
import LocalFS
import Logging
import Synchronization
import SystemPackage

/// `restore`: brings recorded copies back from one destination into a target folder. Each file is
/// written to a temp in its final folder, fsynced, checked against the ledger's size and SHA-256,
/// then renamed into place without replacing anything (RENAME_NOREPLACE). A file that does not
/// match leaves nothing under its final name. A file already there with the ledger's SHA-256 is
/// left alone (`already_there`: running a restore again is harmless); any other file there is
/// never overwritten (that copy fails).
public struct Restorer: Sendable {
    public let destination: any Destination
    public let target: FilePath
    public let logger: Logger
    /// Copies per `fetch` (one NAS stream each).
    public var batchSize = 500

    public init(destination: any Destination, target: FilePath, logger: Logger = Logger(label: "dji-media-sync")) {
        self.destination = destination
        self.target = target
        self.logger = logger
    }

    /// Where `entry` goes: the target folder + the copy's path below the destination's base (its
    /// file name alone when it is not below the base); nil for an unusable path.
    public func targetPath(_ entry: StateStore.LedgerEntry) -> FilePath? {
        let relative = destination.relativeRemotePath(entry.remotePath) ?? entry.remotePath.lastComponent.map { FilePath(root: nil, [$0]).bytes } ?? []
        let parts = relative.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init)
        guard !parts.isEmpty, !parts.contains([46]), !parts.contains([46, 46]), !parts.contains(where: { $0.contains(0) }) else { return nil }
        var bytes = target.bytes
        for part in parts {
            if bytes.last != UInt8(ascii: "/") { bytes.append(UInt8(ascii: "/")) }
            bytes += part
        }
        return FilePath(bytes: bytes)
    }

    /// Restores `entries` through `session`; `onOutcome` hears each file as it ends (progress).
    /// Outcomes in the order of `entries`.
    public func run(
        _ entries: [StateStore.LedgerEntry], session: any DestinationSession,
        onOutcome: @escaping @Sendable (RestoreOutcome) -> Void = { _ in }
    ) async -> [RestoreOutcome] {
        let sink = RestoreTemps(entries: entries, targets: entries.map(targetPath), logger: logger, onOutcome: onOutcome)
        // Files already there, or with no usable target or digest, are settled without a fetch.
        let pending = (try? await runBlocking { sink.prepare() }) ?? []
        var start = 0
        while start < pending.count {
            let batch = Array(pending[start..<min(start + batchSize, pending.count)])
            start += batch.count
            let copies = batch.map { RemoteCopy(remotePath: entries[$0].remotePath, size: entries[$0].identity.size, sha256: entries[$0].sha256!) }
            do throws(DestinationError) {
                try await session.fetch(copies, into: BatchSink(indices: batch, temps: sink))
                _ = try? await runBlocking { sink.drain() }
                sink.settleUnfinished(batch, "the destination did not deliver it")
                _ = try? await runBlocking { sink.syncFolders() }
            } catch {
                // The destination failed as a whole: this batch and every later one fail with it.
                _ = try? await runBlocking { sink.drain() }
                sink.settleUnfinished(Array(pending[(start - batch.count)...]), error.description)
                _ = try? await runBlocking { sink.syncFolders() }
                break
            }
        }
        return sink.outcomes()
    }
}

/// Maps a batch's copy numbers to the restore's entry numbers.
private struct BatchSink: RestoreSink {
    let indices: [Int]
    let temps: RestoreTemps
    func receive(_ index: Int, _ bytes: UnsafeRawBufferPointer) { temps.receive(indices[index], bytes) }
    func receive(_ index: Int, at offset: Int64, _ bytes: UnsafeRawBufferPointer) { temps.receive(indices[index], at: offset, bytes) }
    func finished(_ index: Int, error: DestinationError?) { temps.finished(indices[index], error: error) }
}

/// One file being received. In order, it is touched by one transport thread at a time
/// (RestoreSink's contract: such calls for one copy never overlap); in ranges, every access holds
/// `lock`. That is what makes the unchecked Sendable safe.
private final class Slot: @unchecked Sendable {
    var file: NoClobberFile?
    let hasher = SHA256Hasher()
    var size: Int64 = 0
    var error: String?
    /// Received in ranges: hashed from the temp once complete, not as it arrives.
    var ranged = false
    let lock = NSLock()
}

/// The restore's state: the temp of each file in flight and each file's outcome.
private final class RestoreTemps: RestoreSink {
    let entries: [StateStore.LedgerEntry]
    let targets: [FilePath?]
    let onOutcome: @Sendable (RestoreOutcome) -> Void
    let logger: Logger
    private let slots = Mutex<[Int: Slot]>([:])
    private let results = Mutex<[Int: RestoreOutcome]>([:])
    /// Folders that got a file since their last fsync (one fsync per folder and batch, not per file).
    private let unsynced = Mutex<Set<FilePath>>([])
    /// Finishing a file (fsync, check, rename) runs on a few threads of its own, so the stream goes
    /// on meanwhile and the fsyncs overlap (the file system commits them together: 1000 × 64 KiB
    /// took 3.3 s one after the other, 0.44 s four at a time). At most `backlog` files wait, each
    /// holding its open temp.
    private let finishing: OperationQueue = {
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 4
        return queue
    }()
    private let backlog = DispatchSemaphore(value: 64)

    init(entries: [StateStore.LedgerEntry], targets: [FilePath?], logger: Logger, onOutcome: @escaping @Sendable (RestoreOutcome) -> Void) {
        self.logger = logger
        self.entries = entries
        self.targets = targets
        self.onOutcome = onOutcome
    }

    private func settle(_ index: Int, _ status: RestoreOutcome.Status, _ message: String? = nil) {
        let outcome = RestoreOutcome(entry: entries[index], target: targets[index] ?? FilePath(""), status: status, message: message)
        let first = results.withLock { r -> Bool in
            guard r[index] == nil else { return false }
            r[index] = outcome
            return true
        }
        if first { onOutcome(outcome) }
    }

    /// Settles what needs no fetch; returns the indices to fetch (their folders exist).
    func prepare() -> [Int] {
        var pending: [Int] = []
        var folders: Set<FilePath> = []
        for (i, entry) in entries.enumerated() {
            guard let target = targets[i] else {
                settle(i, .failed, "no usable file name in remote path \(entry.remotePath.displayString)")
                continue
            }
            guard entry.sha256 != nil else {
                settle(i, .failed, "the ledger's SHA-256 of \(entry.remotePath.displayString) is damaged")
                continue
            }
            if let message = existing(i, target) {
                settle(i, message.status, message.text)
                continue
            }
            let folder = target.removingLastComponent()
            if !folders.contains(folder) {
                do { try LocalFS.createDirectories(folder) } catch {
                    settle(i, .failed, "\(error)")
                    continue
                }
                folders.insert(folder)
            }
            pending.append(i)
        }
        return pending
    }

    /// A file at `target`: the same content (already there) or another one (not overwritten).
    private func existing(_ i: Int, _ target: FilePath) -> (status: RestoreOutcome.Status, text: String?)? {
        let status: FileStatus?
        do { status = try LocalFS.statusIfExists(target) } catch { return (.failed, "\(error)") }
        guard let status else { return nil }
        if status.kind == .regular, status.identity.size == entries[i].identity.size {
            if (try? FileIO.sha256(of: target)) == entries[i].sha256 {
                return (.alreadyThere, nil)
            }
        }
        return (.failed, "\(target.displayString) exists and differs from the copy; not overwritten")
    }

    private func slot(_ index: Int) -> Slot {
        slots.withLock { s in
            if let slot = s[index] { return slot }
            let slot = Slot()
            s[index] = slot
            return slot
        }
    }

    func receive(_ index: Int, at offset: Int64, _ bytes: UnsafeRawBufferPointer) {
        let slot = slot(index)
        slot.lock.lock()
        defer { slot.lock.unlock() }
        guard slot.error == nil else { return }
        do {
            if slot.file == nil { slot.file = try NoClobberFile(temp: tempPath(index)) }
            try slot.file!.write(bytes, at: offset)
            slot.ranged = true
            slot.size += Int64(bytes.count)
        } catch {
            slot.error = "\(error)"
        }
    }

    func receive(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        let slot = slot(index)
        guard slot.error == nil else { return }
        do {
            if slot.file == nil { slot.file = try NoClobberFile(temp: tempPath(index)) }
            try slot.file!.write(bytes)
            slot.hasher.update(bytes)
            slot.size += Int64(bytes.count)
        } catch {
            slot.error = "\(error)"
        }
    }

    /// A hidden name next to the final one (same file system: the rename is atomic).
    private func tempPath(_ index: Int) -> FilePath {
        let final = targets[index]!
        let name = final.lastComponent.map { FilePath(root: nil, [$0]).bytes } ?? []
        let suffix = ".dms-restore-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        return FilePath(bytes: final.removingLastComponent().bytes + [UInt8(ascii: "/"), UInt8(ascii: ".")] + name.prefix(200) + Array(suffix.utf8))
    }

    /// Blocks while `backlog` files wait to be finished: call it off the cooperative pool.
    func finished(_ index: Int, error: DestinationError?) {
        backlog.wait()
        finishing.addOperation { [self] in
            defer { backlog.signal() }
            complete(index, error: error)
        }
    }

    /// Waits until every file handed to `finished` has its outcome.
    func drain() { finishing.waitUntilAllOperationsAreFinished() }

    private func complete(_ index: Int, error: DestinationError?) {
        let slot = slots.withLock { $0.removeValue(forKey: index) } ?? Slot()
        let entry = entries[index]
        let remote = entry.remotePath.displayString
        if let error {
            slot.file?.discard()
            return settle(index, .failed, "reading \(remote): \(error)")
        }
        if let problem = slot.error {
            slot.file?.discard()
            return settle(index, .failed, "writing \(targets[index]!.displayString): \(problem)")
        }
        do {
            if slot.file == nil { slot.file = try NoClobberFile(temp: tempPath(index)) } // an empty file
            let file = slot.file!
            // Ranges came in any order: hashed from the temp once complete.
            let digest = slot.ranged ? try FileIO.sha256(of: file.temp) : slot.hasher.finalize()
            guard slot.size == entry.identity.size, digest == entry.sha256 else {
                file.discard()
                return settle(
                    index, .failed,
                    "\(remote) differs from the ledger (size \(slot.size), SHA-256 \(digest.hex); "
                        + "recorded size \(entry.identity.size), SHA-256 \(entry.sha256?.hex ?? "?")); not restored")
            }
            if try file.publish(as: targets[index]!, syncFolder: false) {
                unsynced.withLock { _ = $0.insert(targets[index]!.removingLastComponent()) }
                return settle(index, .restored)
            }
            // Someone put a file there meanwhile (or two copies share the name): compare, never replace.
            let now = existing(index, targets[index]!) ?? (.failed, "\(targets[index]!.displayString) appeared and vanished; not restored")
            settle(index, now.status, now.text)
        } catch {
            slot.file?.discard()
            settle(index, .failed, "\(error)")
        }
    }

    /// Fails `indices` not settled yet (their temps, if any, are removed).
    func settleUnfinished(_ indices: [Int], _ why: String) {
        for i in indices where results.withLock({ $0[i] == nil }) {
            (slots.withLock { $0.removeValue(forKey: i) })?.file?.discard()
            settle(i, .failed, "\(entries[i].remotePath.displayString): \(why)")
        }
    }

    /// fsync of every folder a file was renamed into. A failure is reported, not fatal: the files
    /// are complete; only their names might not survive a power cut (a later restore brings them).
    func syncFolders() {
        for folder in unsynced.withLock({ s in
            defer { s.removeAll() }
            return s
        }) {
            do { try LocalFS.syncDirectory(folder) } catch {
                logger.warning("restore: the restored files in \(folder.displayString) are complete, but the folder could not be synced: \(error)")
            }
        }
    }

    func outcomes() -> [RestoreOutcome] {
        results.withLock { r in entries.indices.map { r[$0]! } }
    }
}
