import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

extension SyncEngine {
    static let lastCheckKey = "last_consistency_check"
    /// Copies re-verified per request.
    static let verifyPage = 2000

    /// Applies one page's verdicts: verified copies get their time, missing or different ones are
    /// forgotten (and named). Returns how many were bad.
    private func record(
        _ verdicts: [Int64: VerifyResult], of copies: [StateStore.LedgerEntry], on destination: any Destination,
        summary: inout CycleSummary, log: Logger
    ) -> Int {
        var bad = 0
        var good: [Int64] = []
        for copy in copies {
            guard let result = verdicts[copy.id] else { continue }
            summary.copiesChecked += 1
            switch result {
            case .verified: good.append(copy.id)
            case .unknown(let why): log.warning("consistency check: \(copy.remotePath.displayString): \(why)")
            case .missing, .sizeMismatch, .hashMismatch:
                bad += 1
                summary.copiesBad += 1
                let local: FileStatus? = (try? LocalFS.statusIfExists(copy.localPath)) ?? nil
                let sourceHere = local?.identity == copy.identity
                let what = result == .missing ? "is missing" : "differs from what was copied (\(result))"
                log.error(
                    "consistency check: \(copy.remotePath.displayString) on \(destination.name) \(what); \(sourceHere ? "its source is still here and will be copied again" : "its source is gone: this copy is lost")",
                    metadata: SyncEvent.consistencyMismatch.metadata([
                        "remote_path": "\(copy.remotePath.displayString)", "file": "\(copy.localPath.displayString)",
                        "destination": "\(destination.name)", "source_present": "\(sourceHere)"
                    ]))
                do { try store.markCopyLost(copy.id, reason: "consistency check: \(what)", now: clock()) } catch {
                    log.error("cannot record the lost copy \(copy.remotePath.displayString): \(error)")
                }
            }
        }
        do { try store.markVerified(good, now: clock()) } catch { log.error("cannot record verification times: \(error)") }
        return bad
    }

    func consistencyCheckDue(now: Double) -> Bool {
        guard config.consistencyCheck.enable else { return false }
        let last = (try? store.meta(Self.lastCheckKey)).flatMap { $0.flatMap(Double.init) } ?? 0
        return now - last >= config.consistencyCheck.intervalHours * 3600
    }

    /// Re-verifies the copies made since `since` on each connected destination; returns how many
    /// were missing or different. Those are forgotten in the ledger, so a source still on the edge
    /// disk is copied again; one whose source is gone is reported loudly.
    @discardableResult
    public func runConsistencyCheck(
        since: Double, sessions: [(destination: any Destination, session: any DestinationSession)],
        summary: inout CycleSummary, log: Logger
    ) async -> Int {
        let mode = VerifyMode(rawValue: config.consistencyCheck.mode) ?? .sha256
        var bad = 0
        for (destination, session) in sessions {
            // A page at a time: memory stays bounded however long the lookback (`verify --since 90d`).
            var after: (syncedAt: Double, id: Int64)?
            pages: while !Task.isCancelled {
                let copies: [StateStore.LedgerEntry]
                let (store, name, page) = (store, destination.name, after)
                let read = await offPool { Result { try store.recentCopies(destination: name, since: since, after: page, limit: Self.verifyPage) } }
                switch read {
                case let .success(rows): copies = rows
                case let .failure(error):
                    log.error("consistency check: cannot read the ledger: \(error)")
                    break pages
                }
                guard let last = copies.last else { break pages }
                after = (last.syncedAt, last.id)
                let verdicts: [Int64: VerifyResult]
                do { verdicts = try await Self.reverify(copies, session: session, mode: mode, log: log) } catch {
                    log.error("consistency check on \(destination.displayName) failed: \(error)")
                    break pages
                }
                bad += await offPool(&summary) { summary in record(verdicts, of: copies, on: destination, summary: &summary, log: log) }
                if copies.count < Self.verifyPage { break pages }
            }
        }
        log.info("consistency check: \(Format.count(summary.copiesChecked, "copy", "copies")) re-verified, \(bad) missing or different")
        return bad
    }

}
