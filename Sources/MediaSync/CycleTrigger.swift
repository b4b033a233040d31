/// When to start a cycle. Requests (the timer, SIGUSR1) coalesce whether a cycle runs or not:
/// while one runs, any number of requests make exactly one more; when idle, cycles start at most
/// every `minimumSpacing` seconds, so a burst of signals against an idle daemon (each cycle with
/// nothing to do ends in milliseconds) is one cycle now and at most one more after the spacing.
public struct CycleTrigger: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Start a cycle now.
        case start
        /// Start one at this time (seconds on the caller's monotonic clock); ask `deferredDue` then.
        case later(at: Double)
        /// Folded into a cycle that is already running, pending or scheduled.
        case merged
    }

    public private(set) var running = false
    public private(set) var pending = false
    public private(set) var scheduledAt: Double?
    public private(set) var lastStart: Double?
    public var minimumSpacing: Double

    public init(minimumSpacing: Double = 5) { self.minimumSpacing = minimumSpacing }

    /// A cycle is wanted (`now`: the caller's monotonic clock, in seconds).
    public mutating func request(now: Double) -> Decision {
        if running {
            pending = true
            return .merged
        }
        if scheduledAt != nil { return .merged }
        return startOrSchedule(now: now)
    }

    /// The time given by `.later` has come.
    public mutating func deferredDue(now: Double) -> Bool {
        guard scheduledAt != nil else { return false }
        scheduledAt = nil
        if running {
            pending = true
            return false
        }
        running = true
        lastStart = now
        return true
    }

    /// The running cycle ended: start (or schedule) the one asked for meanwhile, if any.
    public mutating func finished(now: Double) -> Decision {
        precondition(running, "finished() without a running cycle")
        running = false
        guard pending else { return .merged }
        pending = false
        return startOrSchedule(now: now)
    }

    /// Stopping: forget what was asked for.
    public mutating func cancelPending() {
        pending = false
        scheduledAt = nil
    }

    private mutating func startOrSchedule(now: Double) -> Decision {
        if let last = lastStart, now - last < minimumSpacing {
            scheduledAt = last + minimumSpacing
            return .later(at: last + minimumSpacing)
        }
        running = true
        lastStart = now
        return .start
    }
}
