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

/// The limit is applied once, by the engine, around every destination's progress: what any
/// transport reports as sent (from its reading thread) waits for the bucket.
@Suite struct ThrottledProgressTests {
    final class Counting: TransferProgress {
        let bytes = Mutex(0)
        func fileStarted(_ item: TransferItem) {}
        func bytesMoved(_ count: Int) { bytes.withLock { $0 += count } }
    }

    @Test func everyChunkASourceReaderReportsWaitsForTheSharedBucket() {
        let time = BandwidthLimiterTests.FakeTime()
        let limiter = BandwidthLimiter(bytesPerSecond: 2_000_000, now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) })  // sleep-ok: fake clock
        let a = Counting(), b = Counting()
        // Two destinations' readers share the one limiter.
        let pa = ThrottledProgress(a, limiter: limiter), pb = ThrottledProgress(b, limiter: limiter)
        for _ in 0..<20 { pa.bytesMoved(250_000); pb.bytesMoved(250_000) }   // 10 MB in all
        let slept = time.slept.withLock { $0 }
        let seconds = Double(slept.components.seconds) + Double(slept.components.attoseconds) / 1e18
        // 10 MB at 2 MB/s, minus the 0.5 MB (a quarter second) the bucket starts with.
        #expect(abs(seconds - 4.75) < 0.01)
        #expect(a.bytes.withLock { $0 } == 5_000_000 && b.bytes.withLock { $0 } == 5_000_000)
    }
}
