import Configuration
import Dispatch
import Foundation
import Glibc
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage
import SystemdSupport

/// The daemon's main loop. Everything that changes its state arrives as an event on one stream
/// (timer, signals, a finished cycle, the tick that drives STATUS and the watchdog), so the loop
/// itself needs no locks and a stuck loop stops the watchdog pings.
final class Daemon: Sendable {
    enum Event: Sendable {
        case timer, runNow, deferredRun, reload, stop(Int32), tick
        /// The media roots' watch saw files closed or moved in; its deadline came.
        case filesChanged, watchDue
        case cycleFinished(CycleSummary)
    }

    let configPath: String
    let notifier: SystemdNotifier
    let gate = WatchdogGate()
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    /// Replaced on a successful reload; read by the loop only.
    private let runtime: Mutex<Runtime>

    init(configPath: String, runtime: Runtime, notifier: SystemdNotifier) {
        self.configPath = configPath
        self.notifier = notifier
        self.runtime = Mutex(runtime)
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    var current: Runtime { runtime.withLock { $0 } }

    /// Runs until SIGTERM/SIGINT; returns the exit status.
    func run() async -> Int32 {
        let log = current.logger
        let queue = DispatchQueue(label: "dji-media-sync.events")
        let continuation = self.continuation
        // Re-read on this queue before each event that may start a cycle, and at every tick.
        let pauses = PauseWatch(store: current.store, log: log)
        pauses.refresh()
        let signals = SignalSources([SIGUSR1, SIGHUP, SIGTERM, SIGINT], queue: queue) { number in
            switch number {
            case SIGUSR1:
                pauses.refresh()
                continuation.yield(.runNow)
            case SIGHUP: continuation.yield(.reload)
            default: continuation.yield(.stop(number))
            }
        }
        defer { signals.cancel() }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler {
            pauses.refresh()
            continuation.yield(.timer)
        }
        timer.schedule(deadline: .now()) // the first cycle right after start
        timer.resume()
        defer { timer.cancel() }
        // The tick drives STATUS updates and watchdog pings from this loop, so pings stop if the
        // loop stops.
        let tickPeriod = notifier.watchdogInterval.map { min($0 / 2, .seconds(2)) } ?? .seconds(2)
        let ticker = DispatchSource.makeTimerSource(queue: queue)
        ticker.setEventHandler {
            pauses.refresh()
            continuation.yield(.tick)
        }
        let tickNanos = Int(tickPeriod.components.seconds * 1_000_000_000 + tickPeriod.components.attoseconds / 1_000_000_000)
        ticker.schedule(deadline: .now(), repeating: .nanoseconds(max(tickNanos, 1_000_000)))
        ticker.resume()
        defer { ticker.cancel() }
        let stallLimit = notifier.watchdogInterval ?? .seconds(120)

        var trigger = CycleTrigger()
        let clock = ContinuousClock()
        let epoch = clock.now
        func now() -> Double { (clock.now - epoch).inSeconds }
        // A one-shot for a cycle the trigger spaced out (a SIGUSR1 burst against an idle daemon).
        let deferred = DispatchSource.makeTimerSource(queue: queue)
        deferred.setEventHandler {
            pauses.refresh()
            continuation.yield(.deferredRun)
        }
        deferred.schedule(deadline: .distantFuture)
        deferred.resume()
        defer { deferred.cancel() }
        // New media starts a cycle once it passes the stability rule (schedule.watch).
        let watchTimer = DispatchSource.makeTimerSource(queue: queue)
        watchTimer.setEventHandler { continuation.yield(.watchDue) }
        watchTimer.schedule(deadline: .distantFuture)
        watchTimer.resume()
        defer { watchTimer.cancel() }
        let changed: @Sendable () -> Void = { continuation.yield(.filesChanged) }
        var mediaWatch = MediaWatch(current.config, log: log, changed: changed)
        defer { mediaWatch.stop() }
        var watchSchedule = WatchSchedule(settle: mediaWatch.settle)
        func armWatch() {
            guard let at = watchSchedule.deadline else { return }
            watchTimer.schedule(deadline: .now() + max(0, at - now()))
        }
        func act(_ decision: CycleTrigger.Decision) {
            switch decision {
            case .start: startCycle()
            case let .later(at): deferred.schedule(deadline: .now() + max(0, at - now()))
            case .merged: break
            }
        }
        var cycleTask: Task<Void, Never>?
        var cycleStarted: ContinuousClock.Instant?
        var nextDue = Date()
        var status = StatusLine()
        let observer = DaemonObserver(gate: gate)
        let s3Cleanup = S3CleanupSchedule() // stale multipart uploads on s3 destinations
        var bandwidth = BandwidthWatch() // logs each change of a limit in force

        // The pause last acted on, and whether a cycle came due while paused (it starts at the end).
        var pauseSeen: StateStore.Pause?
        var dueAfterPause = false

        notifier.ready()
        log.info(
            "dji-media-sync started: \(current.destinations.map(\.displayName).joined(separator: ", ")); every \(Format.duration(current.config.schedule.intervalMinutes * 60))")
        notifier.status("starting — first cycle now")

        func startCycle() {
            let runtime = current
            let interval = runtime.config.schedule.intervalMinutes * 60
            nextDue = Date().addingTimeInterval(interval)
            timer.schedule(deadline: .now() + interval)
            cycleStarted = .now
            observer.reset()
            gate.beginWork()
            cycleTask = Task {
                let summary = await Self.lockedCycle(runtime, observer: observer, shouldPause: { pauses.isPaused })
                continuation.yield(.cycleFinished(summary))
            }
        }

        /// Logs a pause that began, changed or ended; at its end, starts the cycle that came due.
        func followPause() {
            let pause = pauses.current()
            guard pause != pauseSeen else { return }
            defer { pauseSeen = pause }
            if let pause {
                log.notice(
                    "paused \(pause.untilText)\(trigger.running ? ": the running cycle finishes the files in flight and starts no more" : ": no cycle starts")",
                    metadata: SyncEvent.paused.metadata(["until": "\(pause.until.map { "\($0)" } ?? "resume")"]))
                return
            }
            let timed = pauseSeen?.until.map { Date().timeIntervalSince1970 >= $0 } ?? false
            log.notice(
                timed ? "the timed pause ended: syncing goes on" : "resumed: syncing goes on",
                metadata: SyncEvent.resumed.metadata([:]))
            if dueAfterPause, !trigger.running {
                dueAfterPause = false
                act(trigger.request(now: now()))
            }
        }

        // The loop's own events never count as progress: while a cycle runs, only the cycle's
        // bytes and the NAS's answers do. Idle, the gate lets pings through, and they are sent
        // from this loop, so a stuck loop stops them too.
        for await event in events {
            followPause()
            switch event {
            case .runNow where pauseSeen != nil:
                log.notice("SIGUSR1 ignored: \(pauseSeen.map { PauseWatch.statusText($0) } ?? "paused") (dji-media-sync resume ends the pause)")
            case .timer where pauseSeen != nil, .deferredRun where pauseSeen != nil:
                // Not started: the cycle that came due starts when the pause ends.
                trigger.cancelPending()
                dueAfterPause = true
            case .timer, .runNow:
                let decision = trigger.request(now: now())
                if case .runNow = event {
                    switch decision {
                    case .start: log.notice("SIGUSR1: sync requested")
                    case .merged: log.notice("SIGUSR1: sync requested; \(trigger.running ? "one more cycle will follow the running one" : "a cycle is already scheduled")")
                    case let .later(at):
                        log.notice(
                            "SIGUSR1: sync requested; the next cycle starts in \(Format.duration(max(0, at - now()))) (cycles start at most every \(Int(trigger.minimumSpacing)) s)"
                        )
                    }
                }
                act(decision)
            case .deferredRun:
                if trigger.deferredDue(now: now()) { startCycle() }
            case .filesChanged:
                if watchSchedule.changed(now: now()) != nil { armWatch() }
            case .watchDue:
                let due = watchSchedule.due(now: now())
                armWatch() // the next deadline, or the same one if the timer fired early
                if due.startCycle {
                    if pauseSeen != nil {
                        dueAfterPause = true
                    } else {
                        log.debug("new media in the media roots: cycle requested")
                        act(trigger.request(now: now()))
                    }
                }
            case let .cycleFinished(summary) where summary.stateDatabaseLost:
                // Running on would record into an unlinked file: exit non-zero, systemd restarts
                // the service on a database that is the one on disk.
                gate.endWork()
                notifier.status("stopping: the state database was removed or replaced")
                notifier.stopping()
                continuation.finish()
                return ExitStatus.failed
            case let .cycleFinished(summary):
                let finishedPaused = pauseSeen != nil
                if finishedPaused {
                    // What was asked for meanwhile waits for the end of the pause.
                    if trigger.pending { dueAfterPause = true }
                    trigger.cancelPending()
                }
                if let webhook = current.webhook, !summary.alerts.isEmpty {
                    // Delivered beside the loop: a slow or dead webhook never delays a cycle.
                    Task { await webhook.deliver(summary.alerts) }
                }
                gate.endWork()
                cycleTask = nil
                cycleStarted = nil
                LiveProgress.remove(current.config)
                status.record(summary)
                s3Cleanup.startIfDue(current)
                var decision = trigger.finished(now: now())
                if !finishedPaused, dueAfterPause, decision == .merged {
                    dueAfterPause = false
                    decision = trigger.request(now: now())
                }
                act(decision)
            case .reload:
                reload(&status)
                mediaWatch = mediaWatch.reloaded(current.config, log: log, changed: changed)
                if mediaWatch.settle != watchSchedule.settle { watchSchedule = WatchSchedule(settle: mediaWatch.settle) }
            case .tick:
                bandwidth.check(current, log: log)
                if trigger.running {
                    do { try LiveProgress.write(observer.snapshot(), config: current.config) } catch {
                        if !status.progressFileFailed { log.warning("cannot write the live progress for `status`: \(error)") }
                        status.progressFileFailed = true
                    }
                }
                if let started = cycleStarted, ContinuousClock.now - started > .seconds(current.config.concurrency.maxSyncDurationSeconds) {
                    log.error("cycle exceeded concurrency_control.max_sync_duration_seconds (\(Int(current.config.concurrency.maxSyncDurationSeconds)) s); stopping it cleanly")
                    cycleTask?.cancel()
                    cycleStarted = nil
                }
                if gate.shouldPing(stallLimit: stallLimit) {
                    notifier.watchdog()
                    status.withheldLogged = false
                } else if !status.withheldLogged {
                    status.withheldLogged = true
                    log.critical("no progress for \(gate.stalledFor() ?? .zero): withholding watchdog pings so that systemd restarts the service")
                }
                notifier.status(status.line(running: trigger.running ? observer.snapshot() : nil, nextDue: nextDue, paused: pauseSeen))
            case let .stop(signal):
                notifier.stopping()
                log.notice("\(signal == SIGTERM ? "SIGTERM" : "SIGINT"): stopping\(trigger.running ? " — aborting the transfer in flight" : "")")
                trigger.cancelPending()
                if let task = cycleTask {
                    task.cancel()
                    let bound = current.config.concurrency.stopTimeoutSeconds
                    let finished = await Self.waitFor(task, seconds: bound)
                    if !finished {
                        log.error(
                            "the cycle did not stop within concurrency_control.stop_timeout_seconds (\(Int(bound)) s); exiting anyway (its temp files are journaled and removed at the next start)"
                        )
                    }
                }
                LiveProgress.remove(current.config)
                await s3Cleanup.atShutdown(current, seconds: current.config.concurrency.stopTimeoutSeconds)
                continuation.finish()
                return 0
            }
        }
        return 0
    }

    /// One cycle under the single-instance lock; waits its turn behind a `sync --once`.
    static func lockedCycle(_ runtime: Runtime, observer: DaemonObserver, shouldPause: @escaping @Sendable () -> Bool) async -> CycleSummary {
        let lockPath = FilePath(runtime.config.concurrency.lockFile)
        let lock: FileLock
        do {
            lock = try await runBlocking {
                guard case let .acquired(l) = try FileLock.acquire(lockPath, wait: true) else {
                    throw LocalFSError("flock", path: lockPath, errno: EWOULDBLOCK)
                }
                return l
            }
        } catch {
            var failed = CycleSummary(cycleID: 0, startedAt: Date().timeIntervalSince1970)
            failed.status = .failed
            failed.messages.append("lock file: \(error)")
            failed.finishedAt = failed.startedAt
            runtime.logger.error("cannot take the lock \(lockPath.displayString): \(error)")
            return failed
        }
        var engine = runtime.engine()
        engine.shouldPause = shouldPause
        let summary = await engine.runCycle(observer: observer)
        withExtendedLifetime(lock) {}
        return summary
    }

    static func waitFor(_ task: Task<Void, Never>, seconds: Double) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await task.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// SIGHUP: a valid new config takes effect from the next cycle; an invalid one is rejected,
    /// logged and shown, and the running one stays in force.
    func reload(_ status: inout StatusLine) {
        notifier.reloading()
        defer { notifier.ready() }
        let log = current.logger
        let config: MediaSyncConfig
        do {
            config = try ConfigLoader.load(path: configPath, requireReferencedFiles: true)
        } catch {
            status.configProblem = "config rejected: \(error)"
            log.error(
                "reload rejected, keeping the running configuration: \(error)",
                metadata: SyncEvent.configRejected.metadata(["config": "\(configPath)"]))
            return
        }
        let old = current
        if config.state.directory != old.config.state.directory || config.concurrency.lockFile != old.config.concurrency.lockFile {
            status.configProblem = "config rejected: state.directory and concurrency_control.lock_file change only with a restart"
            log.error(
                "reload rejected: state.directory and concurrency_control.lock_file change only with a restart (systemctl restart dji-media-sync)",
                metadata: SyncEvent.configRejected.metadata(["config": "\(configPath)"]))
            return
        }
        do {
            let destinations = try Runtime.makeDestinations(config, store: old.store)
            runtime.withLock {
                $0 = Runtime(
                    config: config, store: old.store, destinations: destinations, logger: old.logger,
                    limiter: Runtime.makeLimiter(config),
                    destinationLimiters: BandwidthLimiter.perDestination(config))
            }
        } catch {
            status.configProblem = "config rejected: \(error)"
            log.error("reload rejected: \(error)", metadata: SyncEvent.configRejected.metadata(["config": "\(configPath)"]))
            return
        }
        status.configProblem = nil
        log.notice(
            "configuration reloaded from \(configPath); it applies from the next cycle",
            metadata: SyncEvent.configReloaded.metadata(["config": "\(configPath)"]))
    }
}
