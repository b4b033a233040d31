import MediaSync
import Synchronization
import Testing

@Suite struct BandwidthLimiterTests {
    /// A clock that only moves when the limiter sleeps.
    final class FakeTime: Sendable {
        let now = Mutex(ContinuousClock.now)
        let slept = Mutex(Duration.zero)
        func sleep(_ d: Duration) { now.withLock { $0 += d }; slept.withLock { $0 += d } }  // sleep-ok: a fake clock; nothing waits
    }

    @Test func theTotalRateIsHeldAfterAQuarterSecondBurst() {
        let time = FakeTime()
        let limiter = BandwidthLimiter(bytesPerSecond: 1_000_000, now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) })  // sleep-ok: fake clock
        for _ in 0..<40 { limiter.consume(100_000) }   // 4 MB
        let slept = time.slept.withLock { $0 }
        // 4 MB at 1 MB/s, minus the 0.25 s the bucket starts with.
        #expect(abs(Double(slept.components.seconds) + Double(slept.components.attoseconds) / 1e18 - 3.75) < 0.01)
    }

    @Test func unlimitedNeverWaits() {
        let time = FakeTime()
        let limiter = BandwidthLimiter(bytesPerSecond: 0, now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) })  // sleep-ok: fake clock
        limiter.consume(1 << 30)
        #expect(time.slept.withLock { $0 } == .zero)
    }
}
