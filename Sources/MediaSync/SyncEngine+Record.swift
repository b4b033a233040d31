import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

extension SyncEngine {
    struct Tally: Sendable {
        var copied = 0, present = 0, failed = 0, changed = 0, quarantined = 0
        var bytes: Int64 = 0
        var messages: [String] = []
        var failuresByKind: [String: Int] = [:]
        static func + (a: Tally, b: Tally) -> Tally {
            // Only the first messages are ever shown: keep a 100k-file cycle's list bounded.
            Tally(
                copied: a.copied + b.copied, present: a.present + b.present, failed: a.failed + b.failed,
                changed: a.changed + b.changed, quarantined: a.quarantined + b.quarantined, bytes: a.bytes + b.bytes,
                messages: Array((a.messages + b.messages).prefix(20)),
                failuresByKind: a.failuresByKind.merging(b.failuresByKind, uniquingKeysWith: +))
        }
    }

    actor ResultCollector {
        var tally = Tally()
        /// Items of the current chunk with an outcome (the rest were never answered).
        var answered = Set<Int>()
        func add(_ t: Tally, answered ids: [Int]) {
            tally = tally + t
            answered.formUnion(ids)
        }
        func newChunk() { answered = [] }
    }

    /// Logs each outcome and records the verified copies in one transaction.
    func record(
        _ results: [TransferResult], destination: String, allDestinations: [String], cycleID: Int64,
        delaySeconds: Double, fingerprint: String = "", log: Logger
    ) -> Tally {
        var tally = Tally()
        var placements: [StateStore.Placement] = []
        for result in results {
            let file = result.item.localPath.displayString
            switch result.outcome {
            case let .placed(remotePath, sha256, conflictIndex):
                placements.append(.init(item: result.item, remotePath: remotePath, sha256: sha256, alreadyPresent: false))
                tally.copied += 1
                tally.bytes += result.item.identity.size
                if conflictIndex > 0 {
                    log.warning(
                        "a different file named \(FilePath.display(result.item.remoteName)) already exists on \(destination); stored this one as \(remotePath.displayString)",
                        metadata: SyncEvent.nameConflict.metadata(["file": "\(file)", "remote_path": "\(remotePath.displayString)"]))
                }
                log.info(
                    "synced \(file) → \(remotePath.displayString)",
                    metadata: SyncEvent.fileSynced.metadata([
                        "file": "\(file)", "remote_path": "\(remotePath.displayString)", "bytes": "\(result.item.identity.size)",
                        "sha256": "\(sha256.hex)", "destination": "\(destination)"
                    ]))
            case let .alreadyPresent(remotePath, sha256):
                placements.append(.init(item: result.item, remotePath: remotePath, sha256: sha256, alreadyPresent: true))
                tally.present += 1
                log.info(
                    "already on \(destination): \(file) = \(remotePath.displayString) (same SHA-256), not copied",
                    metadata: SyncEvent.fileSynced.metadata([
                        "file": "\(file)", "remote_path": "\(remotePath.displayString)", "bytes": "0", "sha256": "\(sha256.hex)",
                        "destination": "\(destination)", "already_present": "true"
                    ]))
            case let .sourceChanged(change):
                tally.changed += 1
                log.notice("skipped \(file): \(change); will try again next cycle", metadata: ["file": "\(file)"])
            case let .failed(error):
                tally.failed += 1
                tally.messages.append("\(file): \(error)")
                tally.failuresByKind[error.kind.rawValue, default: 0] += 1
                let event: SyncEvent = error.kind == .verificationFailed ? .verificationFailed : .fileFailed
                log.error(
                    "failed \(file): \(error)",
                    metadata: event.metadata([
                        "file": "\(file)", "destination": "\(destination)", "error_kind": "\(error.kind.rawValue)",
                        "remote_path": "\(error.remotePath ?? "")"
                    ]))
                // Failures of the file itself are retried with backoff; failures of the whole
                // destination (down, full, stopping) do not count against the file.
                guard error.kind.isPerFile else { continue }
                do {
                    let f = try store.recordFailure(
                        destination: destination, item: result.item, permanent: error.kind == .permanent,
                        kind: error.kind.rawValue, message: error.description,
                        policy: config.retryPolicy, fingerprint: fingerprint, now: clock())
                    if f.quarantined {
                        tally.quarantined += 1
                        log.error(
                            "quarantined \(file) after \(f.attempts) failed attempt\(f.attempts == 1 ? "" : "s") (\(error.kind.rawValue)); it is not retried until `dji-media-sync queue retry` or a change of the destination's settings",
                            metadata: SyncEvent.fileQuarantined.metadata([
                                "file": "\(file)", "destination": "\(destination)",
                                "error_kind": "\(error.kind.rawValue)", "attempts": "\(f.attempts)"
                            ]))
                    } else {
                        log.notice(
                            "will retry \(file) in \(Format.duration(max(0, f.nextAttemptAt - clock()))) (attempt \(f.attempts) of \(config.retryPolicy.maxAttempts))",
                            metadata: ["file": "\(file)", "destination": "\(destination)"])
                    }
                } catch {
                    log.error("cannot record the failure of \(file): \(error); it will be retried next cycle")
                }
            }
        }
        if !placements.isEmpty {
            do {
                try store.recordPlacements(
                    placements, destination: destination, allDestinations: allDestinations,
                    cycleID: cycleID, deleteDelaySeconds: delaySeconds, now: clock())
            } catch {
                // The copies are on the destination but not recorded: nothing is queued for deletion,
                // and the next cycle finds them "already there" and records them then.
                tally.failed += placements.count
                tally.failuresByKind["state_database", default: 0] += placements.count
                tally.copied = 0
                tally.present = 0
                tally.messages.append("state database: \(error)")
                log.error("cannot record \(placements.count) verified copies: \(error); they will be re-checked next cycle")
            }
        }
        return tally
    }

}
