extension SystemdNotifier {
    /// Sends `WATCHDOG=1` every half ``watchdogInterval`` while `gate` allows it, until the task
    /// is cancelled. Returns at once when the watchdog is off for this process.
    ///
    /// - Parameters:
    ///   - gate: withholds pings while a cycle makes no progress (see ``WatchdogGate``).
    ///   - stallLimit: how long a cycle may go without progress before pings stop.
    ///   - onWithheld: called once each time pings stop, with how long work has been stalled
    ///     (log it: systemd will kill and restart us once `WatchdogSec=` passes without a ping).
    public func runWatchdog(gate: WatchdogGate, stallLimit: Duration,
                            onWithheld: @Sendable (Duration) -> Void = { _ in }) async {
        guard let interval = watchdogInterval, interval > .zero, isEnabled else { return }
        let period = interval / 2
        var withholding = false
        while !Task.isCancelled {
            if gate.shouldPing(stallLimit: stallLimit) {
                withholding = false
                watchdog()
            } else if !withholding {
                withholding = true
                onWithheld(gate.stalledFor() ?? .zero)
            }
            do { try await Task.sleep(for: period) } catch { return }
        }
    }
}
