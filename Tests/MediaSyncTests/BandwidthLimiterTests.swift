import Configuration
import Foundation
import MediaSync
import Synchronization
import Testing

@Suite struct BandwidthLimiterTests {
    /// A clock that only moves when the limiter sleeps.
    final class FakeTime: Sendable {
        let now = Mutex(ContinuousClock.now)
        let slept = Mutex(Duration.zero)
        func sleep(_ d: Duration) {
            now.withLock { $0 += d }
            slept.withLock { $0 += d }
        } // sleep-ok: a fake clock; nothing waits
        /// The wall clock, moving with `now` from `wallStart`.
        let start = ContinuousClock.now
        let wallStart: Date
        init(wallStart: Date = Date(timeIntervalSince1970: 0)) {
            self.wallStart = wallStart
            now.withLock { $0 = start }
        }
        func wall() -> Date { wallStart.addingTimeInterval((now.withLock { $0 } - start).inSeconds) }
        var sleptSeconds: Double { slept.withLock { $0 }.inSeconds }
    }

    @Test func theTotalRateIsHeldAfterAQuarterSecondBurst() {
        let time = FakeTime()
        let limiter = BandwidthLimiter(bytesPerSecond: 1_000_000, now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) }) // sleep-ok: fake clock
        for _ in 0..<40 { limiter.consume(100_000) } // 4 MB
        let slept = time.slept.withLock { $0 }
        // 4 MB at 1 MB/s, minus the 0.25 s the bucket starts with.
        #expect(abs(Double(slept.components.seconds) + Double(slept.components.attoseconds) / 1e18 - 3.75) < 0.01)
    }

    @Test func unlimitedNeverWaits() {
        let time = FakeTime()
        let limiter = BandwidthLimiter(bytesPerSecond: 0, now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) }) // sleep-ok: fake clock
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
        let limiter = BandwidthLimiter(bytesPerSecond: 2_000_000, now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) }) // sleep-ok: fake clock
        let a = Counting(), b = Counting()
        // Two destinations' readers share the one limiter.
        let pa = ThrottledProgress(a, limiter: limiter), pb = ThrottledProgress(b, limiter: limiter)
        for _ in 0..<20 {
            pa.bytesMoved(250_000)
            pb.bytesMoved(250_000)
        } // 10 MB in all
        let slept = time.slept.withLock { $0 }
        let seconds = Double(slept.components.seconds) + Double(slept.components.attoseconds) / 1e18
        // 10 MB at 2 MB/s, minus the 0.5 MB (a quarter second) the bucket starts with.
        #expect(abs(seconds - 4.75) < 0.01)
        #expect(a.bytes.withLock { $0 } == 5_000_000 && b.bytes.withLock { $0 } == 5_000_000)
    }
}

/// A schedule's rate is looked up from the (here: fake) wall clock at each refill.
@Suite struct ScheduledBandwidthLimiterTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let MiB = 1 << 20
    /// Monday 2026-11-30 00:00:00 UTC.
    static let monday = Date(timeIntervalSince1970: 1_795_996_800)

    static func limiter(_ schedule: String, _ time: BandwidthLimiterTests.FakeTime) throws -> BandwidthLimiter {
        BandwidthLimiter(
            schedule: try BandwidthSchedule.parse(schedule), timeZone: utc, wallClock: { time.wall() },
            now: { time.now.withLock { $0 } }, sleep: { time.sleep($0) }) // sleep-ok: fake clock
    }

    @Test func aLongTransferChangesPaceWhenItCrossesABoundary() throws {
        let time = BandwidthLimiterTests.FakeTime(wallStart: Self.monday)
        let limiter = try Self.limiter("00:00,1M 00:01,4M", time)
        for _ in 0..<1600 { limiter.consume(64 << 10) } // 100 MiB in 64 KiB chunks
        // 60 s at 1 MiB/s move 60.25 MiB (with the quarter second the bucket starts with), the
        // other 39.75 MiB at 4 MiB/s take 9.94 s. Constant 1 MiB/s would be 99.75 s; 4 MiB/s 24.94 s.
        #expect(abs(time.sleptSeconds - 69.94) < 0.15, "\(time.sleptSeconds)")
    }

    @Test func theRateInForceAndTheNextChangeFollowTheClock() throws {
        let time = BandwidthLimiterTests.FakeTime(wallStart: Self.monday.addingTimeInterval(18 * 3600 + 59 * 60 + 59.8))
        let limiter = try Self.limiter("08:00,2M 19:00,off", time)
        #expect(limiter.bytesPerSecond == Double(2 * Self.MiB))
        #expect(limiter.describe() == "2 MiB/s until 19:00 (schedule)")
        #expect(!limiter.isUnlimited)
        limiter.consume(Self.MiB) // 0.5 MiB in the bucket: waits 0.25 s, which passes 19:00
        #expect(abs(time.sleptSeconds - 0.25) < 0.001)
        #expect(limiter.bytesPerSecond == 0)
        #expect(limiter.describe() == "unlimited until 08:00 (schedule)")
        #expect(limiter.inForce().next?.at == Self.monday.addingTimeInterval(32 * 3600))
        limiter.consume(100 * Self.MiB)
        #expect(abs(time.sleptSeconds - 0.25) < 0.001, "no wait while unlimited")
        // Back to 2 MiB/s at 08:00: a quarter second's burst, as after any idle time.
        time.sleep(.seconds(13 * 3600)) // sleep-ok: moves the fake clock
        let before = time.sleptSeconds
        for _ in 0..<8 { limiter.consume(Self.MiB / 2) } // 4 MiB
        #expect(abs(time.sleptSeconds - before - 1.75) < 0.01, "\(time.sleptSeconds - before)")
    }

    @Test func aScheduleOfOffOnlyNeverLimits() throws {
        let time = BandwidthLimiterTests.FakeTime(wallStart: Self.monday)
        #expect(try Self.limiter("08:00,off 19:00,0", time).isUnlimited)
        #expect(try Self.limiter("08:00,1M 19:00,0", time).describe() == "unlimited until 08:00 (schedule)")
        #expect(try Self.limiter("512k", time).describe() == "512 KiB/s (schedule)")
        #expect(BandwidthLimiter(bytesPerSecond: 3 * 1024).describe() == "3 KiB/s")
    }

    /// A destination's own limit and the global one both hold its transfers: the tighter sets the pace.
    @Test(arguments: [("2M", "1M"), ("1M", "4M")])
    func theTighterOfGlobalAndDestinationLimitsSetsThePace(global: String, own: String) throws {
        let time = BandwidthLimiterTests.FakeTime(wallStart: Self.monday)
        let globalLimiter = try Self.limiter(global, time), ownLimiter = try Self.limiter(own, time)
        let sink = ThrottledProgressTests.Counting()
        let progress = ThrottledProgress(sink, limiters: [globalLimiter, ownLimiter])
        for _ in 0..<160 { progress.bytesMoved(64 << 10) } // 10 MiB
        // 10 MiB at 1 MiB/s, less the 0.25 MiB the tighter bucket starts with.
        #expect(abs(time.sleptSeconds - 9.75) < 0.1, "\(time.sleptSeconds)")
        #expect(sink.bytes.withLock { $0 } == 10 * Self.MiB)
    }

    @Test func anotherDestinationIsHeldByTheGlobalLimitOnly() throws {
        let time = BandwidthLimiterTests.FakeTime(wallStart: Self.monday)
        let globalLimiter = try Self.limiter("2M", time), ownOfA = try Self.limiter("512k", time)
        let a = ThrottledProgress(ThrottledProgressTests.Counting(), limiters: [globalLimiter, ownOfA])
        let b = ThrottledProgress(ThrottledProgressTests.Counting(), limiters: [globalLimiter])
        a.bytesMoved(64 << 10)
        let afterA = time.sleptSeconds
        for _ in 0..<160 { b.bytesMoved(64 << 10) } // 10 MiB through the global bucket only
        // 10 MiB at 2 MiB/s, less what was left of the 0.5 MiB starting bucket (A took 64 KiB of it).
        #expect(abs(time.sleptSeconds - afterA - (10 - 0.4375) / 2) < 0.1, "\(time.sleptSeconds - afterA)")
    }
}
