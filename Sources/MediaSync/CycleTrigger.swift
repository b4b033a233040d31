/// When to start a cycle. Requests (the timer, SIGUSR1) while a cycle runs are remembered as one:
/// exactly one more cycle follows the running one, however many requests came in the meantime.
public struct CycleTrigger: Sendable, Equatable {
    public private(set) var running = false
    public private(set) var pending = false

    public init() {}

    /// A cycle is wanted. True: start one now. False: one is running; one more will follow it.
    public mutating func request() -> Bool {
        if running {
            pending = true
            return false
        }
        running = true
        return true
    }

    /// The running cycle ended. True: start the one that was asked for meanwhile.
    public mutating func finished() -> Bool {
        precondition(running, "finished() without a running cycle")
        if pending {
            pending = false
            return true   // still running: the next one starts now
        }
        running = false
        return false
    }

    /// Stopping: forget what was asked for.
    public mutating func cancelPending() { pending = false }
}
