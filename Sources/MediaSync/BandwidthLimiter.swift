import Configuration
import Foundation
import Synchronization

/// A token bucket. The global one is shared by all transfers of the process (NAS and object
/// storage alike), so that its limit is the total, whatever the parallelism; a destination's
/// own one by that destination's transfers only. `consume` blocks the calling thread: call it
/// only from the blocking threads that stream data, never from the cooperative pool.
///
/// With a ``BandwidthSchedule`` the rate is looked up from the wall clock each time the bucket
/// refills, so a long transfer changes pace as it crosses a boundary.
public final class BandwidthLimiter: Sendable {
    /// nil: the constant `constantRate`.
    public let schedule: BandwidthSchedule?
    let constantRate: Double
    let timeZone: TimeZone
    private let state: Mutex<State>
    private let now: @Sendable () -> ContinuousClock.Instant
    private let wallClock: @Sendable () -> Date
    private let sleep: @Sendable (Duration) -> Void

    struct State {
        var available: Double
        var last: ContinuousClock.Instant
        /// The wall-clock minute `rate` was looked up for (the schedule's resolution).
        var minute: Double = -1
        var rate: Double = 0
    }

    /// A constant limit. `bytesPerSecond` ≤ 0: unlimited. The bucket holds a quarter second of
    /// bytes, so bursts stay short.
    public convenience init(
        bytesPerSecond: Double,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        sleep: @escaping @Sendable (Duration) -> Void = { Thread.sleep(forTimeInterval: $0.inSeconds) }
    ) {
        self.init(schedule: nil, constantRate: bytesPerSecond, timeZone: .current, wallClock: { Date() }, now: now, sleep: sleep)
    }

    /// A limit by time of day, in `timeZone` (the process's: the dock's local time).
    public convenience init(
        schedule: BandwidthSchedule, timeZone: TimeZone = .current,
        wallClock: @escaping @Sendable () -> Date = { Date() },
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        sleep: @escaping @Sendable (Duration) -> Void = { Thread.sleep(forTimeInterval: $0.inSeconds) }
    ) {
        self.init(schedule: schedule, constantRate: 0, timeZone: timeZone, wallClock: wallClock, now: now, sleep: sleep)
    }

    private init(
        schedule: BandwidthSchedule?, constantRate: Double, timeZone: TimeZone, wallClock: @escaping @Sendable () -> Date,
        now: @escaping @Sendable () -> ContinuousClock.Instant, sleep: @escaping @Sendable (Duration) -> Void
    ) {
        self.schedule = schedule
        self.constantRate = constantRate
        self.timeZone = timeZone
        self.now = now
        self.wallClock = wallClock
        self.sleep = sleep
        state = Mutex(State(available: 0, last: now()))
        state.withLock { s in
            s.rate = rate(&s)
            s.available = s.rate / 4
        }
    }

    /// Never limits anything (a constant 0, or a schedule of `off` only).
    public var isUnlimited: Bool { schedule?.neverLimits ?? (constantRate <= 0) }

    /// The rate in force now (0: unlimited).
    public var bytesPerSecond: Double { inForce().bytesPerSecond }

    /// The rate in force now and the next change (nil: it never changes).
    public func inForce() -> BandwidthSchedule.InForce {
        schedule?.inForce(at: wallClock(), in: timeZone) ?? .init(bytesPerSecond: max(0, constantRate), next: nil)
    }

    /// "2 MiB/s until 19:00 (schedule)", "unlimited until 08:00 (schedule)", "2 MiB/s": for logs and `status`.
    public func describe() -> String {
        let now = inForce()
        let rate = BandwidthSchedule.describe(now.bytesPerSecond)
        guard schedule != nil else { return rate }
        guard let next = now.next else { return "\(rate) (schedule)" }
        return "\(rate) until \(Self.clockText(next.at, from: wallClock(), in: timeZone)) (schedule)"
    }

    /// "19:00" within a day, else "Sat 08:00".
    static func clockText(_ date: Date, from now: Date, in timeZone: TimeZone) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        f.dateFormat = date.timeIntervalSince(now) < 86_400 ? "HH:mm" : "EEE HH:mm"
        return f.string(from: date)
    }

    /// The rate for the current wall-clock minute (looked up once per minute).
    private func rate(_ s: inout State) -> Double {
        guard let schedule else { return max(0, constantRate) }
        let date = wallClock()
        let minute = (date.timeIntervalSince1970 / 60).rounded(.down)
        if minute != s.minute {
            s.minute = minute
            s.rate = schedule.bytesPerSecond(atMinuteOfWeek: BandwidthSchedule.minuteOfWeek(date, in: timeZone))
        }
        return s.rate
    }

    /// Takes `bytes` from the bucket, waiting as long as the rate in force requires.
    public func consume(_ bytes: Int) {
        guard !isUnlimited, bytes > 0 else { return }
        let wait: Double = state.withLock { s in
            let t = now()
            let seconds = (t - s.last).inSeconds
            s.last = t
            let rate = rate(&s)
            guard rate > 0 else {
                s.available = 0 // an unlimited period leaves no credit behind
                return 0
            }
            s.available = min(rate / 4, s.available + seconds * rate)
            s.available -= Double(bytes)
            return s.available < 0 ? -s.available / rate : 0
        }
        if wait > 0 { sleep(.nanoseconds(Int64(wait * 1e9))) }
    }
}

/// The one place bandwidth limits apply: the engine wraps the progress it hands to every
/// destination's `transfer`, and every destination reports each chunk of local source data it
/// sends through `bytesMoved`, on the thread that reads it (NAS: the streaming thread; object
/// storage: curl's read callback). Blocking there holds back the next read, so the global limit
/// is the total of all destinations and transfers without any destination knowing about it.
/// Each chunk waits for every limiter in turn (the global one, then the destination's own): the
/// waits overlap, so the tighter of the two sets the pace.
public struct ThrottledProgress: TransferProgress {
    public let inner: any TransferProgress
    public let limiters: [BandwidthLimiter]

    public init(_ inner: any TransferProgress, limiter: BandwidthLimiter) {
        self.init(inner, limiters: [limiter])
    }

    public init(_ inner: any TransferProgress, limiters: [BandwidthLimiter]) {
        self.inner = inner
        self.limiters = limiters
    }

    public func fileStarted(_ item: TransferItem) { inner.fileStarted(item) }
    public func bytesMoved(_ count: Int) {
        for limiter in limiters { limiter.consume(count) }
        inner.bytesMoved(count)
    }
    public func heartbeat() { inner.heartbeat() }
    public var stopRequested: Bool { inner.stopRequested }
}

extension BandwidthLimiter {
    /// The process's global limiter (nil: no limit), as the configuration sets it.
    public static func global(_ config: MediaSyncConfig) -> BandwidthLimiter? {
        let limiter =
            config.concurrency.bandwidthSchedule.map { BandwidthLimiter(schedule: $0) }
            ?? BandwidthLimiter(bytesPerSecond: config.concurrency.bandwidthLimitBytesPerSecond)
        return limiter.isUnlimited ? nil : limiter
    }

    /// The destinations' own limiters, by destination name (only those with a schedule that limits).
    public static func perDestination(_ config: MediaSyncConfig) -> [String: BandwidthLimiter] {
        var limiters: [String: BandwidthLimiter] = [:]
        for destination in config.destinations {
            let schedule: BandwidthSchedule? =
                switch destination {
                case let .nas(nas): nas.bandwidthSchedule
                case let .s3(s3): s3.bandwidthSchedule
                }
            if let schedule, !schedule.neverLimits { limiters[destination.name] = BandwidthLimiter(schedule: schedule) }
        }
        return limiters
    }
}
