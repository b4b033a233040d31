import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

extension SyncEngine {
    var mediaRoots: [FilePath] { config.local.mediaRoots.map { FilePath($0) } }

    var trash: SafeDeleter.Trash { SafeDeleter.Trash(mediaRoots: mediaRoots) }

    /// Purges trashed files past `trash_retention_days`, and earlier (oldest first) while an edge
    /// disk holding a media root has less than `min_local_free_gb` free.
    /// Before the delete queue: deletions rescheduled after a backward clock step, the trash purged.
    func housekeeping(_ summary: inout CycleSummary, log: Logger) {
        do {
            let moved = try store.rescheduleAfterClockStep(now: clock())
            if moved > 0 {
                log.warning(
                    "the clock went back: \(moved) pending deletion\(moved == 1 ? "" : "s") or trashed file\(moved == 1 ? "" : "s") rescheduled from now (each keeps its full delay)"
                )
            }
        } catch {
            log.error("cannot reschedule deletions after a clock step: \(error)")
        }
        purgeTrash(&summary, log: log, now: clock())
    }

    func purgeTrash(_ summary: inout CycleSummary, log: Logger, now: Double) {
        let policy = config.deletePolicy
        let entries: [StateStore.TrashedEntry]
        do { entries = try store.trashed() } catch {
            log.error("cannot read the trash list: \(error)")
            return
        }
        guard !entries.isEmpty else { return }
        let floor = Int64(policy.minLocalFreeGB * 1e9)
        func lowOnSpace() -> Bool {
            config.local.mediaRoots.contains { root in ((try? LocalFS.space(FilePath(root)))?.free ?? Int64.max) < floor }
        }
        for entry in entries {
            let expired = now - entry.trashedAt >= policy.trashRetentionDays * 86400
            guard expired || lowOnSpace() else { continue }
            let decision = SafeDeleter.purge(entry, mediaRoots: mediaRoots)
            do {
                switch decision {
                case .deleted, .gone:
                    try store.finishDelete(entry.id, state: .purged, now: now)
                    summary.purged += 1
                    log.info(
                        "purged \(entry.trashPath.displayString) from the trash (\(expired ? "older than \(policy.trashRetentionDays) days" : "edge disk below \(policy.minLocalFreeGB) GB free"))",
                        metadata: ["file": "\(entry.trashPath.displayString)", "bytes": "\(entry.identity.size)"])
                case let .changed(why), let .refused(why):
                    log.warning("not purging \(entry.trashPath.displayString): \(why)")
                default:
                    break
                }
            } catch {
                log.error("cannot record the purge of \(entry.trashPath.displayString): \(error)")
            }
        }
    }

    // MARK: delayed delete

    /// Re-verifies and deletes due sources; true when a copy was found lost (its source must be
    /// copied again).
    func processDeleteQueue(
        _ summary: inout CycleSummary, due: [StateStore.DeleteEntry],
        sessions: [(destination: any Destination, session: any DestinationSession)], log: Logger
    ) async -> Bool {
        let mode = VerifyMode(rawValue: config.integrity.verifyBeforeDelete) ?? .sha256
        let copiesByEntry = await offPool { () -> [Int64: [StateStore.LedgerEntry]] in
            var copies: [Int64: [StateStore.LedgerEntry]] = [:]
            for entry in due {
                do { copies[entry.id] = try store.copies(of: entry) } catch {
                    log.error("cannot read the copies of \(entry.localPath.displayString): \(error); not deleting it now")
                }
            }
            return copies
        }

        // Verify all copies on each destination in one request; verdicts are keyed by ledger id.
        var results: [Int64: VerifyResult] = [:]
        for (destination, session) in sessions {
            let copies = due.flatMap { copiesByEntry[$0.id] ?? [] }.filter { $0.destination == destination.name }
            guard !copies.isEmpty else { continue }
            do {
                results.merge(try await Self.reverify(copies, session: session, mode: mode, log: log)) { a, _ in a }
            } catch {
                log.warning("cannot re-verify copies on \(destination.displayName): \(error); deletions wait")
            }
        }

        let verdicts = results
        return await offPool(&summary) { summary in
            applyDeletions(due, copiesByEntry: copiesByEntry, results: verdicts, summary: &summary, log: log)
        }
    }

    /// Deletes (or keeps, or trashes) each due source on the verdicts of its copies, and records
    /// the outcome; true when a copy was found lost. Blocking (unlink, fsync, SQLite).
    private func applyDeletions(
        _ due: [StateStore.DeleteEntry], copiesByEntry: [Int64: [StateStore.LedgerEntry]],
        results: [Int64: VerifyResult], summary: inout CycleSummary, log: Logger
    ) -> Bool {
        var foundLost = false
        // One fsync per folder after the batch, not one per deleted file (a lost fsync only brings
        // a file back after a power cut, to be re-verified and deleted again).
        var deletedFolders = Set<FilePath>()
        defer { for folder in deletedFolders { _ = try? LocalFS.syncDirectory(folder) } }
        for entry in due {
            let copies = copiesByEntry[entry.id] ?? []
            let file = entry.localPath.displayString
            // A copy that is gone or different is not a copy: re-sync the source.
            let bad = copies.filter { c in
                switch results[c.id] {
                case .missing?, .sizeMismatch?, .hashMismatch?: true
                default: false
                }
            }
            if !bad.isEmpty {
                summary.deleteChecksFailed += 1
                summary.mismatchesBeforeDelete += bad.count
                foundLost = true
                // Every bad copy is forgotten, not only the first: each destination re-copies its own.
                for copy in bad {
                    let reason = "remote copy \(copy.remotePath.displayString) on \(copy.destination) failed re-verification: \(results[copy.id].map { "\($0)" } ?? "")"
                    log.error(
                        "not deleting \(file): \(reason); the file will be copied again",
                        metadata: SyncEvent.deleteVerificationFailed.metadata(["file": "\(file)", "remote_path": "\(copy.remotePath.displayString)"]))
                    do { try store.markCopyLost(copy.id, reason: reason, now: clock()) } catch {
                        log.error("cannot record the lost copy of \(file): \(error)")
                    }
                }
                continue
            }
            let checks = copies.compactMap { c in results[c.id].map { SafeDeleter.Check(copy: c, result: $0) } }
            let decision = SafeDeleter.deleteSource(
                entry, checks: checks, requiredDestinations: destinationNames,
                deleteEnabled: config.deletePolicy.deleteSources, mediaRoots: mediaRoots,
                trash: config.deletePolicy.enableSoftDelete ? trash : nil, syncFolder: false, now: clock())
            do {
                switch decision {
                case .deleted:
                    summary.deleted += 1
                    deletedFolders.insert(entry.localPath.removingLastComponent())
                    try store.finishDelete(entry.id, state: .deleted, now: clock())
                    log.info(
                        "deleted source \(file) (copies verified on \(destinationNames.joined(separator: ", ")))",
                        metadata: SyncEvent.sourceDeleted.metadata(["file": "\(file)", "sha256": "\(entry.sha256?.hex ?? "")", "bytes": "\(entry.identity.size)"]))
                case let .trashed(target):
                    summary.deleted += 1
                    try store.markTrashed(entry.id, trashPath: target, now: clock())
                    log.info(
                        "moved source \(file) to the trash \(target.displayString) (copies verified on \(destinationNames.joined(separator: ", ")))",
                        metadata: SyncEvent.sourceDeleted.metadata([
                            "file": "\(file)", "sha256": "\(entry.sha256?.hex ?? "")", "bytes": "\(entry.identity.size)",
                            "trash_path": "\(target.displayString)"
                        ]))
                case .kept:
                    summary.kept += 1
                    try store.finishDelete(entry.id, state: .kept, now: clock())
                    log.info("verified and kept \(file) (delete_policy.delete_sources is false)", metadata: ["file": "\(file)"])
                case .gone:
                    try store.finishDelete(entry.id, state: .gone, now: clock())
                    log.notice("source \(file) was already removed by someone else", metadata: ["file": "\(file)"])
                case let .changed(reason):
                    try store.finishDelete(entry.id, state: .changed, now: clock())
                    log.warning("not deleting \(file): \(reason)", metadata: SyncEvent.deleteVerificationFailed.metadata(["file": "\(file)"]))
                case let .refused(reason):
                    summary.deleteChecksFailed += 1
                    try store.noteDeleteAttemptFailed(entry.id, error: reason, now: clock())
                    log.warning("not deleting \(file) yet: \(reason); will retry", metadata: SyncEvent.deleteVerificationFailed.metadata(["file": "\(file)"]))
                }
            } catch {
                log.error("cannot update the delete queue for \(file): \(error)")
            }
        }
        return foundLost
    }
}
