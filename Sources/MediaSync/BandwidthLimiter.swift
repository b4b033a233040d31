import Foundation
import Synchronization

/// One token bucket for all transfers of the process (NAS and object storage alike), so that the
/// configured limit is the total, whatever the parallelism. `consume` blocks the calling thread:
/// call it only from the blocking threads that stream data, never from the cooperative pool.
public final class BandwidthLimiter: Sendable {
    public let bytesPerSecond: Double
    private let state: Mutex<State>
    private let now: @Sendable () -> ContinuousClock.Instant
    private let sleep: @Sendable (Duration) -> Void

    struct State {
        var available: Double
        var last: ContinuousClock.Instant
    }

    /// `bytesPerSecond` ≤ 0: unlimited. The bucket holds a quarter second of bytes, so bursts
    /// stay short.
    public init(bytesPerSecond: Double,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
                sleep: @escaping @Sendable (Duration) -> Void = { Thread.sleep(forTimeInterval: $0.inSeconds) }) {
        self.bytesPerSecond = bytesPerSecond
        self.now = now
        self.sleep = sleep
        state = Mutex(State(available: bytesPerSecond / 4, last: now()))
    }

    public var isUnlimited: Bool { bytesPerSecond <= 0 }

    /// Takes `bytes` from the bucket, waiting as long as the rate requires.
    public func consume(_ bytes: Int) {
        guard !isUnlimited, bytes > 0 else { return }
        let wait: Double = state.withLock { s in
            let t = now()
            let elapsed = t - s.last
            s.last = t
            let seconds = elapsed.inSeconds
            s.available = min(bytesPerSecond / 4, s.available + seconds * bytesPerSecond)
            s.available -= Double(bytes)
            return s.available < 0 ? -s.available / bytesPerSecond : 0
        }
        if wait > 0 { sleep(.nanoseconds(Int64(wait * 1e9))) }
    }
}

/// The one place the bandwidth limit applies: the engine wraps the progress it hands to every
/// destination's `transfer`, and every destination reports each chunk of local source data it
/// sends through `bytesMoved`, on the thread that reads it (NAS: the streaming thread; object
/// storage: curl's read callback). Blocking there holds back the next read, so the limit is the
/// total of all destinations and transfers without any destination knowing about it.
public struct ThrottledProgress: TransferProgress {
    public let inner: any TransferProgress
    public let limiter: BandwidthLimiter

    public init(_ inner: any TransferProgress, limiter: BandwidthLimiter) {
        self.inner = inner
        self.limiter = limiter
    }

    public func fileStarted(_ item: TransferItem) { inner.fileStarted(item) }
    public func bytesMoved(_ count: Int) {
        limiter.consume(count)
        inner.bytesMoved(count)
    }
    public func heartbeat() { inner.heartbeat() }
    public var stopRequested: Bool { inner.stopRequested }
}
