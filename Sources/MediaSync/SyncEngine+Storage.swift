import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

extension SyncEngine {
    // MARK: space

    /// Keeps `storage_management.min_free_space_gb` free on the destination: when the planned
    /// files would cut into it, runs retention (if enabled). Returns how many bytes may be sent
    /// (nil: no limit known); what does not fit waits for a later cycle, and the oldest files get
    /// the space there is.
    func spaceBudget(
        bytesNeeded pending: Int64, destination: any Destination, session: any DestinationSession,
        summary: inout CycleSummary, log: Logger
    ) async -> (budget: Int64?, free: Int64) {
        let storage = config.storageManagement
        guard storage.enableSpaceCheck, pending > 0 else { return (nil, 0) }
        let space: DestinationSpace
        do {
            guard let s = try await session.space() else { return (nil, 0) }
            space = s
        } catch {
            log.warning("cannot read the free space of \(destination.displayName): \(error); copying anyway")
            return (nil, 0)
        }
        let (store, name, now) = (store, destination.name, clock())
        await offPool {
            do { try store.setMeta("space:\(name)", "\(space.freeBytes) \(space.totalBytes) \(now)") } catch {
                log.warning("cannot record the free space of \(name): \(error)")
            }
        }
        var budget = space.freeBytes - Int64(storage.minFreeSpaceGB * 1e9)
        if budget < pending, storage.enableRetention {
            budget += await runRetention(
                destination: destination, session: session, bytesNeeded: pending - budget,
                dryRun: false, summary: &summary, log: log
            ).freed
        }
        return (budget < pending ? budget : nil, space.freeBytes)
    }

    func reportWaitingForSpace(_ waiting: Int, free: Int64, destination: any Destination, summary: inout CycleSummary, log: Logger) {
        let storage = config.storageManagement
        let reserve = Int64(storage.minFreeSpaceGB * 1e9)
        summary.messages.append("\(destination.name): low on space")
        log.error(
            "\(destination.displayName) has \(Format.bytes(free)) free, reserve \(Format.bytes(reserve)) (storage_management.min_free_space_gb): \(Format.count(waiting, "file")) \(waiting == 1 ? "waits" : "wait"), their sources are kept\(storage.enableRetention ? "" : "; retention is off (storage_management.enable_retention)")",
            metadata: SyncEvent.destinationLowSpace.metadata([
                "destination": "\(destination.name)", "free_bytes": "\(free)", "reserve_bytes": "\(reserve)",
                "waiting_files": "\(waiting)"
            ]))
    }

    public struct RetentionReport: Sendable {
        public var freed: Int64 = 0
        public var removed: [StateStore.LedgerEntry] = []
    }

    /// Deletes the oldest copies this daemon placed until `bytesNeeded` are freed (see
    /// `StateStore.retentionCandidates`: never a file it did not write, never a copy whose source
    /// is still here, never one younger than `preserve_recent_days`).
    public func runRetention(
        destination: any Destination, session: any DestinationSession, bytesNeeded: Int64,
        dryRun: Bool, summary: inout CycleSummary, log: Logger
    ) async -> RetentionReport {
        let storage = config.storageManagement
        var report = RetentionReport()
        let cutoff = Int64(clock() * 1e9) - Int64(storage.preserveRecentDays * 86400 * 1e9)
        let candidates: [StateStore.LedgerEntry]
        do { candidates = try store.retentionCandidates(destination: destination.name, olderThanNanoseconds: cutoff) } catch {
            log.error("retention: cannot read the ledger: \(error)")
            return report
        }
        var chosen: [StateStore.LedgerEntry] = []
        var planned: Int64 = 0
        for c in candidates where planned < bytesNeeded {
            // A damaged row is never acted on: which file it names is not certain.
            guard c.sha256 != nil else {
                log.error("retention: ledger row \(c.id) (\(c.remotePath.displayString)) has a damaged SHA-256; left alone")
                continue
            }
            if !storage.extensions.isEmpty {
                let name = c.remotePath.lastComponent?.extension?.lowercased() ?? ""
                guard storage.extensions.contains(name) else { continue }
            }
            chosen.append(c)
            planned += c.identity.size
        }
        if dryRun {
            report.removed = chosen
            report.freed = planned
            return report
        }
        guard !chosen.isEmpty else {
            log.warning("retention: no copy may be removed from \(destination.displayName) (none older than \(Int(storage.preserveRecentDays)) days whose source is gone)")
            return report
        }
        let copies = chosen.map {
            RemoteCopy(remotePath: $0.remotePath, size: $0.identity.size, sha256: $0.sha256!, sourceModifiedNanoseconds: $0.identity.mtimeNanoseconds)
        }
        let results: [RemovalResult]
        do { results = try await session.removeCopies(copies) } catch {
            log.error("retention on \(destination.displayName) failed: \(error)")
            return report
        }
        guard results.count == chosen.count else {
            log.error("retention on \(destination.displayName): \(results.count) answers for \(chosen.count) copies; nothing recorded")
            return report
        }
        let (store, before, picked) = (store, report, chosen)
        return await offPool(&summary) { summary in
            var report = before
            for (entry, result) in zip(picked, results) {
                let path = entry.remotePath.displayString
                do {
                    switch result {
                    case .removed, .missing:
                        try store.markCopyRemoved(entry.id, state: .expired)
                        if result == .removed {
                            report.freed += entry.identity.size
                            report.removed.append(entry)
                            summary.retentionRemoved += 1
                        }
                        log.notice(
                            "retention: removed \(path) from \(destination.name) (\(Format.bytes(entry.identity.size)), oldest first)",
                            metadata: SyncEvent.retentionDeleted.metadata([
                                "remote_path": "\(path)", "bytes": "\(entry.identity.size)",
                                "destination": "\(destination.name)"
                            ]))
                    case let .notOurs(size):
                        try store.markCopyRemoved(entry.id, state: .foreign)
                        log.warning("retention: \(path) now has \(size) bytes, not the \(entry.identity.size) we placed; left alone")
                    case let .replaced(modified):
                        try store.markCopyRemoved(entry.id, state: .foreign)
                        let found = JSONOutput.time(Date(timeIntervalSince1970: Double(modified)))
                        let placed = JSONOutput.time(Date(timeIntervalSince1970: Double(entry.identity.mtimeNanoseconds / 1_000_000_000)))
                        log.warning(
                            """
                            retention: \(path) has the size we placed but was modified at \(found), not \(placed): another file \
                            was written over it (or the NAS does not keep modification times); left alone
                            """)
                    case let .failed(why):
                        log.error("retention: could not remove \(path): \(why)")
                    }
                } catch {
                    log.error("retention: cannot record the removal of \(path): \(error)")
                }
            }
            return report
        }
    }

}
