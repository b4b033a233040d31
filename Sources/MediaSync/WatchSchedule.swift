/// When a cycle is due after the media roots' watch saw new files. A file closed at `t` may be
/// copied from `t + settle` on (`settle`: the stability rule's minimum age plus a margin), so the
/// first change arms one deadline that far ahead; changes meanwhile fold into it. When it comes,
/// a cycle starts, and if files changed after what that cycle can take, a new deadline follows
/// for them. A steady trickle of writes therefore still gets a cycle every `settle` seconds.
public struct WatchSchedule: Sendable, Equatable {
    public let settle: Double
    public private(set) var deadline: Double?
    private var lastChange: Double?

    public init(settle: Double) { self.settle = settle }

    /// Files changed at `now` (the caller's monotonic clock, in seconds). Returns a deadline to
    /// arm, or nil when one is already armed.
    public mutating func changed(now: Double) -> Double? {
        lastChange = max(lastChange ?? now, now)
        guard deadline == nil else { return nil }
        deadline = now + settle
        return deadline
    }

    /// The armed deadline has come: start a cycle, and arm `next` if it is not nil.
    public mutating func due(now: Double) -> (startCycle: Bool, next: Double?) {
        guard let armed = deadline, now >= armed else { return (false, nil) }
        deadline = nil
        // The cycle starting now takes files that changed up to now - settle.
        if let last = lastChange, last > now - settle {
            deadline = last + settle
            return (true, deadline)
        }
        lastChange = nil
        return (true, nil)
    }
}
