import Synchronization

/// Decides whether the daemon may send `WATCHDOG=1`.
///
/// A ping must mean "work is moving", not merely "the process exists": a transfer hung on a dead
/// link must stop the pings so that systemd's watchdog (`WatchdogSec=`) restarts us.
///
/// - Idle (no cycle running): the scheduler loop is alive, so ping.
/// - A cycle running (``beginWork()`` … ``endWork()``): ping only while ``progress()`` was seen
///   within `stallLimit` (the scheduler looped, a transfer moved bytes, a file was verified).
///
/// Cycles may nest or overlap; the gate counts them. Thread-safe; all methods are cheap.
public final class WatchdogGate: Sendable {
    private struct State {
        var activeWork = 0
        var lastProgress: ContinuousClock.Instant
    }

    private let state: Mutex<State>
    private let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameter now: the clock; tests inject a manual one.
    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
        self.state = Mutex(State(lastProgress: now()))
    }

    /// Something moved: the scheduler loop turned, or a transfer moved bytes.
    public func progress() {
        let t = now()
        state.withLock { $0.lastProgress = t }
    }

    /// A cycle starts. Starting counts as progress.
    public func beginWork() {
        let t = now()
        state.withLock { s in
            s.activeWork += 1
            s.lastProgress = t
        }
    }

    /// A cycle ended (successfully or not). Unbalanced calls are ignored.
    public func endWork() {
        let t = now()
        state.withLock { s in
            s.activeWork = max(0, s.activeWork - 1)
            s.lastProgress = t
        }
    }

    /// Whether a cycle is in progress.
    public var isWorking: Bool { state.withLock { $0.activeWork > 0 } }

    /// How long work has gone without progress, or nil when idle. For the log line that says
    /// why pings stopped.
    public func stalledFor(now: ContinuousClock.Instant? = nil) -> Duration? {
        let t = now ?? self.now()
        return state.withLock { s in s.activeWork > 0 ? max(.zero, t - s.lastProgress) : nil }
    }

    /// True when idle, or when working and progress was seen within `stallLimit` of `now`.
    public func shouldPing(now: ContinuousClock.Instant? = nil, stallLimit: Duration) -> Bool {
        let t = now ?? self.now()
        return state.withLock { s in
            s.activeWork == 0 || t - s.lastProgress <= stallLimit
        }
    }
}
