import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

/// Observes a cycle as it runs: the daemon turns this into STATUS= lines and watchdog liveness;
/// the CLI into a progress display.
public protocol CycleObserver: TransferProgress {
    func phase(_ text: String)
    func planned(files: Int, bytes: Int64)
    func filesFinished(_ results: [TransferResult])
}

extension CycleObserver {
    public func phase(_ text: String) {}
    public func planned(files: Int, bytes: Int64) {}
    public func filesFinished(_ results: [TransferResult]) {}
}

public struct SilentObserver: CycleObserver {
    public init() {}
    public func fileStarted(_ item: TransferItem) {}
    public func bytesMoved(_ count: Int) {}
}

/// One sync cycle: handle due deletions (re-verify, then delete), discover complete files, copy
/// them to every destination, record what was verified and queue sources for delayed deletion.
/// The caller holds the single-instance lock.
public struct SyncEngine: Sendable {
    public let config: MediaSyncConfig
    public let store: StateStore
    public let destinations: [any Destination]
    public let logger: Logger
    public var layout = RemoteLayout()

    public init(config: MediaSyncConfig, store: StateStore, destinations: [any Destination], logger: Logger) {
        self.config = config
        self.store = store
        self.destinations = destinations
        self.logger = logger
    }

    var destinationNames: [String] { destinations.map(\.name) }

    /// Rates the daemon after a cycle, logs alerts (raised/resolved, with suppression) and writes
    /// the Prometheus textfile.
    func assessHealth(_ summary: inout CycleSummary, log: Logger) {
        do {
            let report = try HealthEvaluator.evaluate(store: store, config: config)
            summary.health = report
            summary.alerts = try AlertDecider.decide(report, store: store, suppressionMinutes: config.health.alertSuppressionMinutes)
            for alert in summary.alerts {
                if alert.state == "raised" {
                    log.log(level: alert.level == "critical" ? .critical : .warning, "ALERT \(alert.level): \(alert.message)",
                            metadata: SyncEvent.alertRaised.metadata(["rule": "\(alert.rule)", "alert_level": "\(alert.level)"]))
                } else {
                    log.notice("alert resolved: \(alert.rule)", metadata: SyncEvent.alertResolved.metadata(["rule": "\(alert.rule)"]))
                }
            }
            if let path = config.health.prometheusTextfile {
                try AtomicFile.write(Array(MetricsText.render(report, last: summary).utf8), to: FilePath(path))
            }
        } catch {
            log.error("cannot assess health: \(error)")
        }
    }

    static let lastCheckKey = "last_consistency_check"

    func consistencyCheckDue(now: Double = Date().timeIntervalSince1970) -> Bool {
        guard config.consistencyCheck.enable else { return false }
        let last = (try? store.meta(Self.lastCheckKey)).flatMap { $0.flatMap(Double.init) } ?? 0
        return now - last >= config.consistencyCheck.intervalHours * 3600
    }

    /// Re-verifies the copies made since `since` on each connected destination; returns how many
    /// were missing or different. Those are forgotten in the ledger, so a source still on the edge
    /// disk is copied again; one whose source is gone is reported loudly.
    @discardableResult
    public func runConsistencyCheck(since: Double, sessions: [(destination: any Destination, session: any DestinationSession)],
                                    summary: inout CycleSummary, log: Logger) async -> Int {
        let mode = VerifyMode(rawValue: config.consistencyCheck.mode) ?? .sha256
        var bad = 0
        for (destination, session) in sessions {
            let copies: [StateStore.LedgerEntry]
            do { copies = try store.recentCopies(destination: destination.name, since: since) } catch {
                log.error("consistency check: cannot read the ledger: \(error)")
                continue
            }
            guard !copies.isEmpty else { continue }
            let remote = copies.compactMap { c in SHA256Digest(hex: c.sha256).map { RemoteCopy(remotePath: c.remotePath, size: c.identity.size, sha256: $0) } }
            let results: [VerifyResult]
            do { results = try await session.verify(remote, mode: mode) } catch {
                log.error("consistency check on \(destination.displayName) failed: \(error)")
                continue
            }
            var good: [Int64] = []
            for (copy, result) in zip(copies, results) {
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
                    log.error("consistency check: \(copy.remotePath.displayString) on \(destination.name) \(what); \(sourceHere ? "its source is still here and will be copied again" : "its source is gone: this copy is lost")",
                              metadata: SyncEvent.consistencyMismatch.metadata([
                                "remote_path": "\(copy.remotePath.displayString)", "file": "\(copy.localPath.displayString)",
                                "destination": "\(destination.name)", "source_present": "\(sourceHere)",
                              ]))
                    do { try store.markCopyLost(copy.id, reason: "consistency check: \(what)") } catch {
                        log.error("cannot record the lost copy \(copy.remotePath.displayString): \(error)")
                    }
                }
            }
            do { try store.markVerified(good) } catch { log.error("cannot record verification times: \(error)") }
        }
        log.info("consistency check: \(summary.copiesChecked) copies re-verified, \(bad) missing or different")
        return bad
    }

    var trash: SafeDeleter.Trash { SafeDeleter.Trash(mediaRoots: config.local.mediaRoots.map { FilePath($0) }) }

    /// Purges trashed files past `trash_retention_days`, and earlier (oldest first) while an edge
    /// disk holding a media root has less than `min_local_free_gb` free.
    func purgeTrash(_ summary: inout CycleSummary, log: Logger, now: Double = Date().timeIntervalSince1970) {
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
            let decision = SafeDeleter.purge(entry)
            do {
                switch decision {
                case .deleted, .gone:
                    try store.finishDelete(entry.id, state: "purged")
                    summary.purged += 1
                    log.info("purged \(entry.trashPath.displayString) from the trash (\(expired ? "older than \(policy.trashRetentionDays) days" : "edge disk below \(policy.minLocalFreeGB) GB free"))",
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

    /// How often a cycle reconnects after losing the NAS mid-transfer before giving up until the
    /// next cycle.
    static let reconnectsPerCycle = 3

    public func runCycle(dryRun: Bool = false, observer: any CycleObserver = SilentObserver()) async -> CycleSummary {
        let started = Date().timeIntervalSince1970
        var summary: CycleSummary
        do {
            summary = CycleSummary(cycleID: dryRun ? 0 : try store.beginCycle(now: started), startedAt: started)
        } catch {
            var failed = CycleSummary(cycleID: 0, startedAt: started)
            failed.status = .failed
            failed.messages.append("state database: \(error)")
            failed.finishedAt = Date().timeIntervalSince1970
            logger.error("cannot start a cycle: state database: \(error)")
            return failed
        }
        var log = logger
        log[metadataKey: "cycle_id"] = "\(summary.cycleID)"
        log.info("cycle started", metadata: SyncEvent.cycleStarted.metadata(["dry_run": "\(dryRun)"]))

        await runPhases(&summary, dryRun: dryRun, observer: observer, log: log)

        summary.finishedAt = Date().timeIntervalSince1970
        if Task.isCancelled { summary.status = .aborted }
        else if summary.failed > 0 || !summary.unavailableDestinations.isEmpty || summary.deleteChecksFailed > 0 {
            summary.status = (summary.filesCopied + summary.filesAlreadyPresent) > 0 || summary.unavailableDestinations.count < destinations.count
                ? .partial : .failed
        }
        if !dryRun {
            do { try store.finishCycle(summary) } catch { log.error("cannot record the cycle: \(error)") }
            assessHealth(&summary, log: log)
        }
        log.log(level: summary.status == .ok ? .info : .warning,
                "cycle finished: \(summary.status.rawValue) — \(summary.shortLine), \(summary.filesAlreadyPresent) already there, \(summary.skipped) skipped, \(summary.deleted) sources deleted",
                metadata: SyncEvent.cycleFinished.metadata([
                    "status": "\(summary.status.rawValue)", "files": "\(summary.filesCopied)", "bytes": "\(summary.bytesCopied)",
                    "failed": "\(summary.failed)", "skipped": "\(summary.skipped)", "deleted": "\(summary.deleted)",
                    "duration_s": "\(String(format: "%.3f", summary.duration))",
                ]))
        return summary
    }

    private func runPhases(_ summary: inout CycleSummary, dryRun: Bool, observer: any CycleObserver, log: Logger) async {
        // 1. Discovery (local only).
        observer.phase("scanning")
        let discovery = Discovery(config.local)
        let report: Discovery.Report
        do { report = try await runBlocking { discovery.scan() } } catch {
            summary.messages.append("scan: \(error)")
            return
        }
        for error in report.errors {
            log.warning("scan: \(error)")
            summary.messages.append("scan: \(error)")
        }
        summary.skipped += report.tooYoung
        if !dryRun { purgeTrash(&summary, log: log) }
        let due: [StateStore.DeleteEntry]
        do { due = dryRun ? [] : try store.dueDeletes() } catch {
            summary.messages.append("delete queue: \(error)")
            log.error("cannot read the delete queue: \(error)")
            return
        }
        var plans: [[TransferItem]]
        do { (plans, summary.deferred) = try plan(report) } catch {
            summary.messages.append("ledger: \(error)")
            log.error("cannot read the ledger: \(error)")
            return
        }
        let (files, bytes) = Self.size(of: plans)
        log.info("\(report.eligible.count) complete media files found, \(files) to copy (\(Format.bytes(bytes))), \(report.tooYoung) too recent, \(summary.deferred) waiting to be retried, \(due.count) due for deletion")
        if dryRun {
            for (index, items) in plans.enumerated() {
                for item in items {
                    log.notice("would copy \(item.localPath.displayString) → \(destinations[index].displayName)/\(item.remoteDirectory)/\(FilePath.display(item.remoteName))")
                }
            }
            return
        }
        let checkDue = consistencyCheckDue()
        // Nothing to copy, delete or check: do not even connect.
        guard files > 0 || !due.isEmpty || checkDue else { return }

        // 2. Connect; a destination that cannot be reached is skipped this cycle (nothing is
        //    queued for deletion without it).
        observer.phase("connecting")
        var sessions: [(destination: any Destination, session: any DestinationSession)] = []
        for (index, destination) in destinations.enumerated() where !due.isEmpty || checkDue || !plans[index].isEmpty {
            do {
                sessions.append((destination, try await destination.connect(journal: store, progress: observer, logger: log)))
            } catch {
                summary.unavailableDestinations.append(destination.name)
                summary.messages.append("\(destination.name): \(error)")
                log.error("destination \(destination.displayName) unavailable: \(error)",
                          metadata: SyncEvent.destinationUnavailable.metadata(["destination": "\(destination.name)"]))
            }
        }

        // 3. Due deletions first: they free the edge disk. A copy that failed re-verification is
        //    forgotten, so the plan is made again to copy its source in this same cycle.
        if !due.isEmpty, !Task.isCancelled {
            observer.phase("verifying before delete")
            if await processDeleteQueue(&summary, due: due, sessions: sessions, log: log) {
                do { (plans, summary.deferred) = try plan(report) } catch { summary.messages.append("ledger: \(error)") }
            }
        }

        // 4. Now and then, re-verify recent copies; a lost one is copied again below.
        if checkDue, !Task.isCancelled {
            observer.phase("consistency check")
            let since = Date().timeIntervalSince1970 - config.consistencyCheck.lookbackHours * 3600
            if await runConsistencyCheck(since: since, sessions: sessions, summary: &summary, log: log) > 0 {
                do { (plans, summary.deferred) = try plan(report) } catch { summary.messages.append("ledger: \(error)") }
            }
            do { try store.setMeta(Self.lastCheckKey, String(Date().timeIntervalSince1970)) } catch {
                log.error("cannot record the consistency check time: \(error)")
            }
        }

        // 5. Transfer, recording every verified copy as soon as its batch is done.
        let (total, totalBytes) = Self.size(of: plans)
        observer.planned(files: total, bytes: totalBytes)
        for (index, planned) in plans.enumerated() where !planned.isEmpty {
            guard !Task.isCancelled else { break }
            let destination = destinations[index]
            guard var session = sessions.first(where: { $0.destination.name == destination.name })?.session else { continue }
            observer.phase("syncing to \(destination.name)")
            let collector = ResultCollector()
            let names = destinationNames
            let cycleID = summary.cycleID
            let fingerprint = destination.configurationFingerprint
            let delay = config.deletePolicy.delayMinutes * 60
            var items = await fitToSpace(planned, destination: destination, session: session, summary: &summary, log: log)
            var reconnects = 0
            while !items.isEmpty {
                do {
                    try await session.transfer(items, progress: observer) { results in
                        let recorded = record(results, destination: destination.name, allDestinations: names, cycleID: cycleID,
                                              delaySeconds: delay, fingerprint: fingerprint, log: log)
                        observer.filesFinished(results)
                        await collector.add(recorded)
                    }
                    break
                } catch {
                    // The link dropped mid-transfer: wait (backoff with jitter), reconnect, and go
                    // on with what is not recorded yet. Nothing is lost: temps are journaled.
                    if error.kind == .destinationFull {
                        summary.messages.append("\(destination.name): full")
                        log.error("\(destination.displayName) is full (\(error)); no more transfers to it this cycle, sources are kept",
                                  metadata: SyncEvent.destinationLowSpace.metadata(["destination": "\(destination.name)"]))
                        summary.waitingForSpace += items.count
                        break
                    }
                    if error.kind.isConnectionLoss, reconnects < Self.reconnectsPerCycle, !Task.isCancelled {
                        reconnects += 1
                        let wait = config.retryPolicy.delay(afterAttempts: reconnects)
                        log.warning("connection to \(destination.displayName) lost (\(error)); reconnecting in \(Format.duration(wait)) (attempt \(reconnects) of \(Self.reconnectsPerCycle))",
                                    metadata: SyncEvent.destinationUnavailable.metadata(["destination": "\(destination.name)"]))
                        await session.close()
                        do {
                            try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                            session = try await destination.connect(journal: store, progress: observer, logger: log)
                            sessions = sessions.map { $0.destination.name == destination.name ? ($0.destination, session) : $0 }
                            let remaining = try plan(report).plans[index]
                            let ids = Set(planned.map(\.localPath))
                            items = remaining.filter { ids.contains($0.localPath) }
                            continue
                        } catch {
                            log.error("reconnecting to \(destination.displayName) failed: \(error)")
                        }
                    }
                    summary.messages.append("\(destination.name): \(error)")
                    log.error("transfer to \(destination.displayName) stopped: \(error)",
                              metadata: SyncEvent.destinationUnavailable.metadata(["destination": "\(destination.name)"]))
                    if !summary.unavailableDestinations.contains(destination.name) { summary.unavailableDestinations.append(destination.name) }
                    break
                }
            }
            let tally = await collector.tally
            summary.filesCopied += tally.copied
            summary.filesAlreadyPresent += tally.present
            summary.bytesCopied += tally.bytes
            summary.failed += tally.failed
            summary.skipped += tally.changed
            summary.quarantined += tally.quarantined
            summary.messages += tally.messages.prefix(10)
        }
        for entry in sessions { await entry.session.close() }
    }

    // MARK: space

    /// Keeps `storage_management.min_free_space_gb` free on the destination: when the planned
    /// files would cut into it, runs retention (if enabled); what still does not fit waits for a
    /// later cycle (oldest files first get the space there is).
    func fitToSpace(_ items: [TransferItem], destination: any Destination, session: any DestinationSession,
                    summary: inout CycleSummary, log: Logger) async -> [TransferItem] {
        let storage = config.storageManagement
        guard storage.enableSpaceCheck, !items.isEmpty else { return items }
        let space: DestinationSpace
        do {
            guard let s = try await session.space() else { return items }
            space = s
        } catch {
            log.warning("cannot read the free space of \(destination.displayName): \(error); copying anyway")
            return items
        }
        do { try store.setMeta("space:\(destination.name)", "\(space.freeBytes) \(space.totalBytes) \(Date().timeIntervalSince1970)") } catch {
            log.warning("cannot record the free space of \(destination.name): \(error)")
        }
        let reserve = Int64(storage.minFreeSpaceGB * 1e9)
        let pending = items.reduce(Int64(0)) { $0 + $1.identity.size }
        var budget = space.freeBytes - reserve
        if budget < pending, storage.enableRetention {
            budget += await runRetention(destination: destination, session: session, bytesNeeded: pending - budget,
                                         dryRun: false, summary: &summary, log: log).freed
        }
        guard budget < pending else { return items }
        var fit: [TransferItem] = []
        for item in items where item.identity.size <= budget {
            fit.append(item)
            budget -= item.identity.size
        }
        let waiting = items.count - fit.count
        summary.waitingForSpace += waiting
        summary.messages.append("\(destination.name): low on space")
        log.error("\(destination.displayName) has \(Format.bytes(space.freeBytes)) free, reserve \(Format.bytes(reserve)) (storage_management.min_free_space_gb): \(waiting) files wait, their sources are kept\(storage.enableRetention ? "" : "; retention is off (storage_management.enable_retention)")",
                  metadata: SyncEvent.destinationLowSpace.metadata([
                    "destination": "\(destination.name)", "free_bytes": "\(space.freeBytes)", "reserve_bytes": "\(reserve)",
                    "waiting_files": "\(waiting)",
                  ]))
        return fit
    }

    public struct RetentionReport: Sendable {
        public var freed: Int64 = 0
        public var removed: [StateStore.LedgerEntry] = []
    }

    /// Deletes the oldest copies this daemon placed until `bytesNeeded` are freed (see
    /// `StateStore.retentionCandidates`: never a file it did not write, never a copy whose source
    /// is still here, never one younger than `preserve_recent_days`).
    public func runRetention(destination: any Destination, session: any DestinationSession, bytesNeeded: Int64,
                             dryRun: Bool, summary: inout CycleSummary, log: Logger) async -> RetentionReport {
        let storage = config.storageManagement
        var report = RetentionReport()
        let cutoff = LocalFS.currentTimeNanoseconds() - Int64(storage.preserveRecentDays * 86400 * 1e9)
        let candidates: [StateStore.LedgerEntry]
        do { candidates = try store.retentionCandidates(destination: destination.name, olderThanNanoseconds: cutoff) } catch {
            log.error("retention: cannot read the ledger: \(error)")
            return report
        }
        var chosen: [StateStore.LedgerEntry] = []
        var planned: Int64 = 0
        for c in candidates where planned < bytesNeeded {
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
        let copies = chosen.compactMap { c in SHA256Digest(hex: c.sha256).map { RemoteCopy(remotePath: c.remotePath, size: c.identity.size, sha256: $0) } }
        let results: [RemovalResult]
        do { results = try await session.removeCopies(copies) } catch {
            log.error("retention on \(destination.displayName) failed: \(error)")
            return report
        }
        for (entry, result) in zip(chosen, results) {
            let path = entry.remotePath.displayString
            do {
                switch result {
                case .removed, .missing:
                    try store.markCopyRemoved(entry.id, state: "expired")
                    if result == .removed {
                        report.freed += entry.identity.size
                        report.removed.append(entry)
                        summary.retentionRemoved += 1
                    }
                    log.notice("retention: removed \(path) from \(destination.name) (\(Format.bytes(entry.identity.size)), oldest first)",
                               metadata: SyncEvent.retentionDeleted.metadata(["remote_path": "\(path)", "bytes": "\(entry.identity.size)",
                                                                             "destination": "\(destination.name)"]))
                case let .notOurs(size):
                    try store.markCopyRemoved(entry.id, state: "foreign")
                    log.warning("retention: \(path) now has \(size) bytes, not the \(entry.identity.size) we placed; left alone")
                case let .failed(why):
                    log.error("retention: could not remove \(path): \(why)")
                }
            } catch {
                log.error("retention: cannot record the removal of \(path): \(error)")
            }
        }
        return report
    }

    /// Per destination (same order as `destinations`): the files it does not hold yet and that
    /// are not waiting for a retry; and how many are waiting.
    func plan(_ report: Discovery.Report) throws -> (plans: [[TransferItem]], deferred: Int) {
        var nextID = 0
        var deferredCount = 0
        let files = report.eligible.map { ($0.path, $0.identity) }
        let holders = try store.destinationsHolding(files, among: destinationNames)
        let plans = try destinations.map { destination in
            let deferred = try store.isDeferred(files, destination: destination.name, fingerprint: destination.configurationFingerprint)
            var items: [TransferItem] = []
            for ((candidate, held), waiting) in zip(zip(report.eligible, holders), deferred) {
                if held.contains(destination.name) { continue }
                if waiting { deferredCount += 1; continue }
                let day = layout.day(forName: candidate.name, mtimeNanoseconds: candidate.identity.mtimeNanoseconds)
                items.append(TransferItem(id: nextID, localPath: candidate.path, identity: candidate.identity,
                                          remoteDirectory: day.description, remoteName: candidate.name))
                nextID += 1
            }
            return items
        }
        return (plans, deferredCount)
    }

    static func size(of plans: [[TransferItem]]) -> (files: Int, bytes: Int64) {
        (plans.reduce(0) { $0 + $1.count }, plans.reduce(Int64(0)) { $0 + $1.reduce(0) { $0 + $1.identity.size } })
    }

    struct Tally: Sendable {
        var copied = 0, present = 0, failed = 0, changed = 0, quarantined = 0
        var bytes: Int64 = 0
        var messages: [String] = []
        static func + (a: Tally, b: Tally) -> Tally {
            Tally(copied: a.copied + b.copied, present: a.present + b.present, failed: a.failed + b.failed,
                  changed: a.changed + b.changed, quarantined: a.quarantined + b.quarantined, bytes: a.bytes + b.bytes,
                  messages: a.messages + b.messages)
        }
    }

    actor ResultCollector {
        var tally = Tally()
        func add(_ t: Tally) { tally = tally + t }
    }

    /// Logs each outcome and records the verified copies in one transaction.
    func record(_ results: [TransferResult], destination: String, allDestinations: [String], cycleID: Int64,
                delaySeconds: Double, fingerprint: String = "", log: Logger) -> Tally {
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
                    log.warning("a different file named \(FilePath.display(result.item.remoteName)) already exists on \(destination); stored this one as \(remotePath.displayString)",
                                metadata: SyncEvent.nameConflict.metadata(["file": "\(file)", "remote_path": "\(remotePath.displayString)"]))
                }
                log.info("synced \(file) → \(remotePath.displayString)", metadata: SyncEvent.fileSynced.metadata([
                    "file": "\(file)", "remote_path": "\(remotePath.displayString)", "bytes": "\(result.item.identity.size)",
                    "sha256": "\(sha256.hex)", "destination": "\(destination)",
                ]))
            case let .alreadyPresent(remotePath, sha256):
                placements.append(.init(item: result.item, remotePath: remotePath, sha256: sha256, alreadyPresent: true))
                tally.present += 1
                log.info("already on \(destination): \(file) = \(remotePath.displayString) (same SHA-256), not copied",
                         metadata: SyncEvent.fileSynced.metadata([
                            "file": "\(file)", "remote_path": "\(remotePath.displayString)", "bytes": "0", "sha256": "\(sha256.hex)",
                            "destination": "\(destination)", "already_present": "true",
                         ]))
            case let .sourceChanged(change):
                tally.changed += 1
                log.notice("skipped \(file): \(change); will try again next cycle", metadata: ["file": "\(file)"])
            case let .failed(error):
                tally.failed += 1
                tally.messages.append("\(file): \(error)")
                let event: SyncEvent = error.kind == .verificationFailed ? .verificationFailed : .fileFailed
                log.error("failed \(file): \(error)", metadata: event.metadata([
                    "file": "\(file)", "destination": "\(destination)", "error_kind": "\(error.kind.rawValue)",
                    "remote_path": "\(error.remotePath ?? "")",
                ]))
                // Failures of the file itself are retried with backoff; failures of the whole
                // destination (down, full, stopping) do not count against the file.
                guard error.kind.isPerFile else { continue }
                do {
                    let f = try store.recordFailure(destination: destination, item: result.item, permanent: error.kind == .permanent,
                                                    kind: error.kind.rawValue, message: error.description,
                                                    policy: config.retryPolicy, fingerprint: fingerprint)
                    if f.quarantined {
                        tally.quarantined += 1
                        log.error("quarantined \(file) after \(f.attempts) failed attempt\(f.attempts == 1 ? "" : "s") (\(error.kind.rawValue)); it is not retried until `dji-media-sync queue retry` or a change of the destination's settings",
                                  metadata: SyncEvent.fileQuarantined.metadata(["file": "\(file)", "destination": "\(destination)",
                                                                                "error_kind": "\(error.kind.rawValue)", "attempts": "\(f.attempts)"]))
                    } else {
                        log.notice("will retry \(file) in \(Format.duration(max(0, f.nextAttemptAt - Date().timeIntervalSince1970))) (attempt \(f.attempts) of \(config.retryPolicy.maxAttempts))",
                                   metadata: ["file": "\(file)", "destination": "\(destination)"])
                    }
                } catch {
                    log.error("cannot record the failure of \(file): \(error); it will be retried next cycle")
                }
            }
        }
        if !placements.isEmpty {
            do {
                try store.recordPlacements(placements, destination: destination, allDestinations: allDestinations,
                                           cycleID: cycleID, deleteDelaySeconds: delaySeconds)
            } catch {
                // The copies are on the destination but not recorded: nothing is queued for deletion,
                // and the next cycle finds them "already there" and records them then.
                tally.failed += placements.count
                tally.copied = 0
                tally.present = 0
                tally.messages.append("state database: \(error)")
                log.error("cannot record \(placements.count) verified copies: \(error); they will be re-checked next cycle")
            }
        }
        return tally
    }

    // MARK: delayed delete

    /// Re-verifies and deletes due sources; true when a copy was found lost (its source must be
    /// copied again).
    func processDeleteQueue(_ summary: inout CycleSummary, due: [StateStore.DeleteEntry],
                            sessions: [(destination: any Destination, session: any DestinationSession)], log: Logger) async -> Bool {
        var foundLost = false
        let mode = VerifyMode(rawValue: config.integrity.verifyBeforeDelete) ?? .sha256
        var copiesByEntry: [Int64: [StateStore.LedgerEntry]] = [:]
        for entry in due {
            do { copiesByEntry[entry.id] = try store.copies(of: entry) } catch {
                log.error("cannot read the copies of \(entry.localPath.displayString): \(error); not deleting it now")
            }
        }

        // Verify all copies on each destination in one request.
        var results: [Int64: VerifyResult] = [:]  // ledger id → result
        for (destination, session) in sessions {
            let copies = due.flatMap { copiesByEntry[$0.id] ?? [] }.filter { $0.destination == destination.name }
            guard !copies.isEmpty else { continue }
            let remote = copies.compactMap { c in SHA256Digest(hex: c.sha256).map { RemoteCopy(remotePath: c.remotePath, size: c.identity.size, sha256: $0) } }
            do {
                let verdicts = try await session.verify(remote, mode: mode)
                for (copy, verdict) in zip(copies, verdicts) { results[copy.id] = verdict }
            } catch {
                log.warning("cannot re-verify copies on \(destination.displayName): \(error); deletions wait")
            }
        }

        for entry in due {
            let copies = copiesByEntry[entry.id] ?? []
            let file = entry.localPath.displayString
            // A copy that is gone or different is not a copy: re-sync the source.
            if let bad = copies.first(where: { c in
                guard let r = results[c.id] else { return false }
                if case .missing = r { return true }
                if case .sizeMismatch = r { return true }
                if case .hashMismatch = r { return true }
                return false
            }) {
                let reason = "remote copy \(bad.remotePath.displayString) on \(bad.destination) failed re-verification: \(results[bad.id].map { "\($0)" } ?? "")"
                summary.deleteChecksFailed += 1
                log.error("not deleting \(file): \(reason); the file will be copied again",
                          metadata: SyncEvent.deleteVerificationFailed.metadata(["file": "\(file)", "remote_path": "\(bad.remotePath.displayString)"]))
                foundLost = true
                do { try store.markCopyLost(bad.id, reason: reason) } catch {
                    log.error("cannot record the lost copy of \(file): \(error)")
                }
                continue
            }
            let checks = copies.compactMap { c in results[c.id].map { SafeDeleter.Check(copy: c, result: $0) } }
            let decision = SafeDeleter.deleteSource(entry, checks: checks, requiredDestinations: destinationNames,
                                                    deleteEnabled: config.deletePolicy.deleteSources,
                                                    trash: config.deletePolicy.enableSoftDelete ? trash : nil)
            do {
                switch decision {
                case .deleted:
                    summary.deleted += 1
                    try store.finishDelete(entry.id, state: "deleted")
                    log.info("deleted source \(file) (copies verified on \(destinationNames.joined(separator: ", ")))",
                             metadata: SyncEvent.sourceDeleted.metadata(["file": "\(file)", "sha256": "\(entry.sha256)", "bytes": "\(entry.identity.size)"]))
                case let .trashed(target):
                    summary.deleted += 1
                    try store.markTrashed(entry.id, trashPath: target)
                    log.info("moved source \(file) to the trash \(target.displayString) (copies verified on \(destinationNames.joined(separator: ", ")))",
                             metadata: SyncEvent.sourceDeleted.metadata(["file": "\(file)", "sha256": "\(entry.sha256)", "bytes": "\(entry.identity.size)",
                                                                        "trash_path": "\(target.displayString)"]))
                case .kept:
                    summary.kept += 1
                    try store.finishDelete(entry.id, state: "kept")
                    log.info("verified and kept \(file) (delete_policy.delete_sources is false)", metadata: ["file": "\(file)"])
                case .gone:
                    try store.finishDelete(entry.id, state: "gone")
                    log.notice("source \(file) was already removed by someone else", metadata: ["file": "\(file)"])
                case let .changed(reason):
                    try store.finishDelete(entry.id, state: "changed")
                    log.warning("not deleting \(file): \(reason)", metadata: SyncEvent.deleteVerificationFailed.metadata(["file": "\(file)"]))
                case let .refused(reason):
                    summary.deleteChecksFailed += 1
                    try store.noteDeleteAttemptFailed(entry.id, error: reason)
                    log.warning("not deleting \(file) yet: \(reason); will retry", metadata: SyncEvent.deleteVerificationFailed.metadata(["file": "\(file)"]))
                }
            } catch {
                log.error("cannot update the delete queue for \(file): \(error)")
            }
        }
        return foundLost
    }
}
