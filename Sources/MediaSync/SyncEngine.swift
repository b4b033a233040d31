import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import Synchronization
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
///
/// Its cost follows what is new: the scan is one compact list, the plan one merge with the live
/// part of the ledger, and files go out in chunks (`chunkFiles`) whose items exist only while they
/// are sent. Every phase stops at cancellation (SIGTERM, `max_sync_duration_seconds`).
public struct SyncEngine: Sendable {
    public let config: MediaSyncConfig
    public let store: StateStore
    public let destinations: [any Destination]
    public let logger: Logger
    public var layout = RemoteLayout()
    /// Files handed to a destination per `transfer` call: bounds the memory of a 100k-file cycle.
    /// Each call ends with a barrier (its last batch finishes before the next call's first starts),
    /// so a chunk holds two rounds of the default batches (1000 files, 2 at a time): 2000 left the
    /// machine idle a quarter of a 100k-file first sync; 4000 costs about 3 MiB more at its peak.
    public var chunkFiles = 4000
    /// The process's total rate for local source data sent anywhere (nil: unlimited). Shared by
    /// every engine of the process; applied to every destination through ``ThrottledProgress``.
    public var bandwidthLimiter: BandwidthLimiter?
    /// Destinations' own limits by name (`bandwidth_schedule` of a destination), on top of the global one.
    public var destinationLimiters: [String: BandwidthLimiter] = [:]
    /// Wall-clock seconds since 1970: every due time, age and timestamp of a cycle comes from here
    /// (the fault simulation steps and jumps it).
    public var clock: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    /// Asked between phases, chunks and (by the transports) files: true stops the cycle after the
    /// files in flight (`dji-media-sync pause`). Must be cheap: the daemon answers from memory.
    public var shouldPause: @Sendable () -> Bool = { false }

    public init(config: MediaSyncConfig, store: StateStore, destinations: [any Destination], logger: Logger) {
        self.config = config
        self.store = store
        self.destinations = destinations
        self.logger = logger
        layout = RemoteLayout(config.layout)
    }

    var destinationNames: [String] { destinations.map(\.name) }

    static func trimmingSlashes(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    func transferProgress(_ observer: any CycleObserver, destination: String) -> any TransferProgress {
        let limiters = [bandwidthLimiter, destinationLimiters[destination]].compactMap { $0 }.filter { !$0.isUnlimited }
        return limiters.isEmpty ? observer : ThrottledProgress(observer, limiters: limiters)
    }

    /// How often a cycle reconnects after losing the NAS mid-transfer before giving up until the
    /// next cycle.
    static let reconnectsPerCycle = 3

    public func runCycle(dryRun: Bool = false, observer: any CycleObserver = SilentObserver()) async -> CycleSummary {
        let started = clock()
        var summary: CycleSummary
        let store = store
        let begun = await offPool { () -> Result<Int64, any Error> in
            Result {
                try store.checkStillOnDisk()
                return dryRun ? 0 : try store.beginCycle(now: started)
            }
        }
        switch begun {
        case let .success(cycleID):
            summary = CycleSummary(cycleID: cycleID, startedAt: started)
        case let .failure(error):
            var failed = CycleSummary(cycleID: 0, startedAt: started)
            failed.status = .failed
            failed.messages.append("state database: \(error)")
            failed.finishedAt = clock()
            failed.stateDatabaseLost = error is StateStore.DatabaseGone
            if failed.stateDatabaseLost {
                logger.critical("no cycle runs: \(error)")
            } else {
                logger.error("cannot start a cycle: state database: \(error)")
            }
            return failed
        }
        var log = logger
        log[metadataKey: "cycle_id"] = "\(summary.cycleID)"
        log.info("cycle started", metadata: SyncEvent.cycleStarted.metadata(["dry_run": "\(dryRun)"]))

        await runPhases(&summary, dryRun: dryRun, observer: PausingObserver(base: observer, shouldPause: shouldPause), log: log)

        summary.finishedAt = clock()
        if Task.isCancelled {
            summary.status = .cancelled
        } else if let unreadable = summary.unreadableMediaRoots?.count, unreadable > 0, unreadable >= config.local.mediaRoots.count {
            // No media root could be read (an unmounted card): nothing was synced, whatever else went well.
            summary.status = .failed
        } else if summary.failed > 0 || !summary.unavailableDestinations.isEmpty || summary.deleteChecksFailed > 0
            || !(summary.unreadableMediaRoots ?? []).isEmpty
        {
            summary.status =
                (summary.filesCopied + summary.filesAlreadyPresent) > 0 || summary.unavailableDestinations.count < destinations.count
                ? .partial : .failed
        }
        if !dryRun {
            let log = log
            await offPool(&summary) { summary in
                do { try store.finishCycle(summary) } catch { log.error("cannot record the cycle: \(error)") }
                assessHealth(&summary, log: log)
            }
        }
        log.log(
            level: summary.status == .ok ? .info : .warning,
            dryRun
                ? "dry run finished: \(summary.status.rawValue)\(summary.dryRun.map { " — " + $0.shortLine } ?? "")"
                : "cycle finished: \(summary.status.rawValue) — \(summary.shortLine), \(summary.filesAlreadyPresent) already there, \(summary.skipped) skipped, \(summary.deleted) sources deleted",
            metadata: SyncEvent.cycleFinished.metadata([
                "status": "\(summary.status.rawValue)", "files": "\(summary.filesCopied)", "bytes": "\(summary.bytesCopied)",
                "failed": "\(summary.failed)", "skipped": "\(summary.skipped)", "deleted": "\(summary.deleted)",
                "duration_s": "\(String(format: "%.3f", summary.duration))"
            ]))
        return summary
    }

    /// Scans the media roots on a thread of its own; cancellation stops the walk between folders.
    /// A dry run (`readOnly`) reads the sightings of future-dated files without recording any.
    func discover(log: Logger, readOnly: Bool = false) async throws -> Discovery.Report {
        let discovery = Discovery(config.local)
        let store = store
        let minimumAge = config.local.minFileAgeSeconds
        return try await cancellableBlocking { stop in
            let started = clock()
            let report = discovery.scan(
                now: Int64(exactly: (started * 1e9).rounded()) ?? LocalFS.currentTimeNanoseconds(), shouldStop: { stop.isSet },
                onHidden: { name in
                    log.debug("skipped hidden \(FilePath.display(name)) (local.skip_hidden)")
                },
                settled: { path, identity in
                    // Dated in the future (a camera or dock clock that is wrong): eligible once unchanged
                    // between two observations `min_file_age_seconds` apart.
                    let file = FilePath.display(path)
                    let date = Date(timeIntervalSince1970: identity.mtimeSeconds)
                    do {
                        let seen = try store.sighting(path: path, identity: identity, minimumAge: minimumAge, now: started, record: !readOnly)
                        if seen.settled {
                            log.debug(
                                "\(file) is dated in the future (\(date)); it has not changed for \(Format.duration(started - seen.firstSeen)), so it is synced",
                                metadata: ["file": "\(file)"])
                        } else if seen.firstSeen == started {
                            log.warning(
                                "\(file) is dated in the future (\(date)); it will be synced once it stays unchanged for \(Format.duration(minimumAge))",
                                metadata: ["file": "\(file)"])
                        }
                        return seen.settled
                    } catch {
                        log.error("cannot record a sighting of \(file): \(error)")
                        return false
                    }
                })
            if report.complete, !readOnly {
                do { try store.forgetSightings(notSeenSince: started) } catch { log.warning("cannot prune the sightings of future-dated files: \(error)") }
            }
            return report
        }
    }

    private func runPhases(_ summary: inout CycleSummary, dryRun: Bool, observer: any CycleObserver, log: Logger) async {
        // 1. Discovery (local only).
        observer.phase("scanning")
        let report: Discovery.Report
        do { report = try await discover(log: log, readOnly: dryRun) } catch {
            if Task.isCancelled { return }
            summary.messages.append("scan: \(error)")
            summary.unreadableMediaRoots = []
            summary.scanErrors = ["\(error)"]
            return
        }
        guard !Task.isCancelled, report.complete else { return }
        // A media root that cannot be read (an unmounted card) is a problem of the set-up, not a
        // quiet empty scan: health says so.
        let roots = Set(config.local.mediaRoots.map(Self.trimmingSlashes))
        summary.unreadableMediaRoots = []
        for error in report.errors {
            if roots.contains(Self.trimmingSlashes(error.path)) {
                log.error("media root \(error.path) cannot be read: \(error.message) (is the card or disk mounted?)")
                summary.unreadableMediaRoots?.append("\(error.path): \(error.message)")
                summary.messages.append("media root \(error.path): \(error.message)")
            } else {
                log.warning("scan: \(error)")
                summary.scanErrors.append("\(error)")
                summary.messages.append("scan: \(error)")
            }
        }
        if report.oddDateCount > 0 {
            log.warning(
                "\(report.oddDateCount) file\(report.oddDateCount == 1 ? " has" : "s have") a modification time outside 1677–2262 (clamped; synced all the same): \(report.oddDates.joined(separator: ", "))"
            )
        }
        summary.skipped += report.tooYoung
        summary.hidden = report.hidden
        if !dryRun {
            await offPool(&summary) { summary in housekeeping(&summary, log: log) }
        }
        let store = store
        let read = await offPool { () -> Result<[StateStore.DeleteEntry], any Error> in
            Result { dryRun ? [] : try store.dueDeletes(now: clock()) }
        }
        let due: [StateStore.DeleteEntry]
        switch read {
        case let .success(entries): due = entries
        case let .failure(error):
            summary.messages.append("delete queue: \(error)")
            log.error("cannot read the delete queue: \(error)")
            return
        }
        observer.phase("planning")
        var plan: CyclePlan
        do { plan = try await makePlan(report.eligible, log: log, readOnly: dryRun) } catch {
            if Task.isCancelled { return }
            summary.messages.append("ledger: \(error)")
            log.error("cannot read the ledger: \(error)")
            return
        }
        summary.deferred = plan.deferred
        log.info(
            "\(report.eligible.count) complete media files found, \(plan.files) to copy (\(Format.bytes(plan.bytes))), \(report.tooYoung) too recent, \(plan.deferred) waiting to be retried, \(report.hidden) hidden skipped, \(due.count) due for deletion"
        )
        if dryRun {
            await askDestinations(plan, report: report, observer: observer, summary: &summary, log: log)
            return
        }
        let checkDue = consistencyCheckDue(now: clock())
        // Nothing to copy, delete or check: do not even connect (every destination is in sync).
        guard plan.files > 0 || !due.isEmpty || checkDue, !Task.isCancelled else {
            if !Task.isCancelled { summary.destinationsInSync = destinationNames }
            return
        }
        guard !pauseRequested(&summary, log: log) else { return }

        // 2. Connect; a destination that cannot be reached is skipped this cycle (nothing is
        //    queued for deletion without it).
        observer.phase("connecting")
        var sessions = await connect(
            where: { index in !due.isEmpty || checkDue || plan.count(for: index) > 0 },
            observer: observer, summary: &summary, log: log)

        // 3. Due deletions first: they free the edge disk. A copy that failed re-verification is
        //    forgotten, so the plan is made again to copy its source in this same cycle.
        if !due.isEmpty, !Task.isCancelled, !pauseRequested(&summary, log: log) {
            observer.phase("verifying before delete")
            if await processDeleteQueue(&summary, due: due, sessions: sessions, log: log) {
                do { plan = try await makePlan(report.eligible, log: log) } catch { summary.messages.append("ledger: \(error)") }
            }
        }

        // 4. Now and then, re-verify recent copies; a lost one is copied again below.
        if checkDue, !Task.isCancelled, !pauseRequested(&summary, log: log) {
            observer.phase("consistency check")
            let since = clock() - config.consistencyCheck.lookbackHours * 3600
            if await runConsistencyCheck(since: since, sessions: sessions, summary: &summary, log: log) > 0 {
                do { plan = try await makePlan(report.eligible, log: log) } catch { summary.messages.append("ledger: \(error)") }
            }
            let now = clock()
            await offPool {
                do { try store.setMeta(Self.lastCheckKey, "\(now)") } catch {
                    log.warning("cannot record the consistency check time: \(error)")
                }
            }
        }
        summary.deferred = plan.deferred

        // 5. Copy, destination by destination, in chunks, oldest first.
        observer.planned(files: plan.files, bytes: plan.bytes)
        for (index, destination) in destinations.enumerated() where plan.count(for: index) > 0 {
            guard !Task.isCancelled, !pauseRequested(&summary, log: log) else { break }
            guard let position = sessions.firstIndex(where: { $0.destination.name == destination.name }) else { continue }
            observer.phase("syncing to \(destination.name)")
            await transferAll(
                plan, index: index, candidates: report.eligible, session: &sessions[position].session,
                observer: observer, summary: &summary, log: log)
        }
        for entry in sessions { await entry.session.close() }
        if !Task.isCancelled, !pauseRequested(&summary, log: log) {
            summary.destinationsInSync = destinationNames.filter { !summary.unavailableDestinations.contains($0) }
        }
    }

    /// Connects every destination `wanted` says is needed; one that cannot be reached is reported
    /// and left out (nothing is queued for deletion without it). Also used by `verify` and
    /// `retention`.
    public func connect(
        where wanted: (Int) -> Bool = { _ in true }, observer: any TransferProgress = SilentObserver(),
        summary: inout CycleSummary, log: Logger
    ) async -> [(destination: any Destination, session: any DestinationSession)] {
        var sessions: [(destination: any Destination, session: any DestinationSession)] = []
        for (index, destination) in destinations.enumerated() where wanted(index) {
            guard !Task.isCancelled else { break }
            do {
                sessions.append((destination, try await destination.connect(journal: store, progress: observer, logger: log)))
                summary.connectedDestinations.append(destination.name)
            } catch {
                // Stopping is not a destination's fault: no "unreachable", no alert.
                if Task.isCancelled || error.kind == .cancelled { break }
                unavailable(destination, error, summary: &summary, log: log)
            }
        }
        return sessions
    }

    /// Sends what `plan` says destination `index` needs, a chunk at a time; reconnects (with
    /// backoff) when the link drops, and stops at a full destination or cancellation.
    func transferAll(
        _ plan: CyclePlan, index: Int, candidates: Candidates, session: inout any DestinationSession,
        observer: any CycleObserver, summary: inout CycleSummary, log: Logger
    ) async {
        let destination = destinations[index]
        let collector = ResultCollector()
        let names = destinationNames
        let cycleID = summary.cycleID
        let fingerprint = destination.configurationFingerprint
        let delay = config.deletePolicy.delayMinutes * 60
        let space = await spaceBudget(
            bytesNeeded: plan.bytes(for: index), destination: destination, session: session,
            summary: &summary, log: log)
        var budget = space.budget
        var waiting = 0
        var reconnects = 0
        var stopped = false
        let wanted = plan.needs[index].indices.filter { plan.needs[index][$0] }
        var start = 0
        while start < wanted.count, !stopped, !Task.isCancelled, !pauseRequested(&summary, log: log) {
            let chunk = wanted[start..<min(start + chunkFiles, wanted.count)]
            start = chunk.endIndex
            await collector.newChunk()
            var items: [TransferItem] = []
            for i in chunk {
                let size = candidates.identities[i].size
                if let b = budget {
                    guard size <= b else {
                        waiting += 1
                        continue
                    }
                    budget = b - size
                }
                items.append(plan.item(i, of: candidates, layout: layout))
            }
            while !items.isEmpty {
                do {
                    try await session.transfer(items, progress: transferProgress(observer, destination: destination.name)) { results in
                        let recorded = await offPool {
                            record(
                                results, destination: destination.name, allDestinations: names, cycleID: cycleID,
                                delaySeconds: delay, fingerprint: fingerprint, log: log)
                        }
                        observer.filesFinished(results)
                        await collector.add(recorded, answered: results.map(\.item.id))
                    }
                    break
                } catch {
                    // The link dropped mid-transfer: wait (backoff with jitter), reconnect, and go
                    // on with what is not recorded yet. Nothing is lost: temps are journaled.
                    if error.kind == .destinationFull {
                        summary.messages.append("\(destination.name): full")
                        log.error(
                            "\(destination.displayName) is full (\(error)); no more transfers to it this cycle, sources are kept",
                            metadata: SyncEvent.destinationLowSpace.metadata(["destination": "\(destination.name)"]))
                        // What this chunk did not get to, and every later chunk, waits.
                        let answered = await collector.answered
                        waiting += items.filter { !answered.contains($0.id) }.count + wanted.count - start
                        stopped = true
                        break
                    }
                    if error.kind.isConnectionLoss, reconnects < Self.reconnectsPerCycle, !Task.isCancelled {
                        reconnects += 1
                        let wait = config.retryPolicy.delay(afterAttempts: reconnects)
                        log.warning(
                            "connection to \(destination.displayName) lost (\(error)); reconnecting in \(Format.duration(wait)) (attempt \(reconnects) of \(Self.reconnectsPerCycle))",
                            metadata: SyncEvent.destinationUnavailable.metadata(["destination": "\(destination.name)"]))
                        await session.close()
                        do {
                            try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                            session = try await destination.connect(journal: store, progress: observer, logger: log)
                            // Go on with what this chunk still lacks (recorded results are done).
                            let held = try store.destinationsHolding(items.map { ($0.localPath, $0.identity) }, among: [destination.name])
                            items = zip(items, held).filter { $0.1.isEmpty }.map(\.0)
                            continue
                        } catch {
                            log.error("reconnecting to \(destination.displayName) failed: \(error)")
                        }
                    }
                    if Task.isCancelled || error.kind == .cancelled {
                        stopped = true
                        break
                    }
                    summary.messages.append("\(destination.name): \(error)")
                    summary.unavailableKinds[destination.name] = error.kind
                    log.error(
                        "transfer to \(destination.displayName) stopped: \(error)",
                        metadata: SyncEvent.destinationUnavailable.metadata(["destination": "\(destination.name)"]))
                    if !summary.unavailableDestinations.contains(destination.name) { summary.unavailableDestinations.append(destination.name) }
                    stopped = true
                    break
                }
            }
        }
        if waiting > 0, budget != nil, !stopped {
            reportWaitingForSpace(waiting, free: space.free, destination: destination, summary: &summary, log: log)
        }
        summary.waitingForSpace += waiting
        if waiting > 0 { summary.waitingForSpaceOn[destination.name, default: 0] += waiting }
        let tally = await collector.tally
        summary.filesCopied += tally.copied
        summary.filesAlreadyPresent += tally.present
        summary.bytesCopied += tally.bytes
        summary.failed += tally.failed
        summary.skipped += tally.changed
        summary.quarantined += tally.quarantined
        summary.messages += tally.messages.prefix(10)
        let before = summary.copiedByDestination[destination.name] ?? (0, 0)
        summary.copiedByDestination[destination.name] = (before.files + tally.copied, before.bytes + tally.bytes)
        summary.failuresByKind.merge(tally.failuresByKind, uniquingKeysWith: +)
    }
}
