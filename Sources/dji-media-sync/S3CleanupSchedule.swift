import Configuration
import Foundation
import Logging
import MediaSync
import S3Sync
import Synchronization

/// The daemon's cleanup of its own stale multipart uploads on the s3 destinations: every
/// `cleanup_interval_hours` (0: never) after a cycle, and at shutdown when `cleanup_on_shutdown`.
/// It runs beside the loop, never inside a cycle; failures are logged by ``S3Cleanup`` and never
/// reach a sync.
final class S3CleanupSchedule: Sendable {
    private struct State {
        /// Per destination name: when its last cleanup started.
        var lastRun: [String: ContinuousClock.Instant] = [:]
        var running: Task<Void, Never>?
    }
    private let state = Mutex(State())

    /// Starts (beside the caller) a cleanup of every s3 destination whose interval has passed
    /// since its last one (the first one after the daemon starts is due at once).
    func startIfDue(_ runtime: Runtime) {
        let now = ContinuousClock.now
        state.withLock { s in
            guard s.running == nil else { return }
            let due = S3Settings.all(in: runtime.config).filter { settings in
                let hours = settings.config.cleanupIntervalHours
                guard hours > 0 else { return false }
                return s.lastRun[settings.config.name].map { now - $0 >= .seconds(hours * 3600) } ?? true
            }
            guard !due.isEmpty else { return }
            for settings in due { s.lastRun[settings.config.name] = now }
            s.running = Task { [self] in
                for settings in due {
                    _ = await S3Cleanup.abortStaleUploads(settings: settings, store: runtime.store, logger: runtime.logger)
                }
                state.withLock { $0.running = nil }
            }
        }
    }

    /// At shutdown: waits for a periodic cleanup still running, then cleans up every s3 destination
    /// with `cleanup_on_shutdown`; gives up waiting after `seconds` (the process is exiting).
    func atShutdown(_ runtime: Runtime, seconds: Double) async {
        let running = state.withLock { $0.running }
        let settings = S3Settings.all(in: runtime.config).filter(\.config.cleanupOnShutdown)
        guard running != nil || !settings.isEmpty else { return }
        let work = Task {
            await running?.value
            for s in settings { _ = await S3Cleanup.abortStaleUploads(settings: s, store: runtime.store, logger: runtime.logger) }
        }
        if !(await Daemon.waitFor(work, seconds: seconds)) {
            work.cancel()
            running?.cancel()
            runtime.logger.warning("s3 cleanup at shutdown did not finish within \(Int(seconds)) s; left for the next start")
        }
    }
}
