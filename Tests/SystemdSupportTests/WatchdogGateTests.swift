import Testing

@testable import SystemdSupport

@Suite("WatchdogGate lets pings through only while work moves")
struct WatchdogGateTests {
    let limit = Duration.seconds(60)

    @Test("idle: the scheduler is alive, so ping, however long since the last progress")
    func idlePings() {
        let clock = ManualClock()
        let gate = WatchdogGate(now: { clock.now() })
        #expect(gate.shouldPing(stallLimit: limit))
        clock.advance(.seconds(3600))
        #expect(gate.shouldPing(stallLimit: limit))
        #expect(!gate.isWorking)
        #expect(gate.stalledFor() == nil)
    }

    @Test("working with recent progress: ping")
    func workingWithProgress() {
        let clock = ManualClock()
        let gate = WatchdogGate(now: { clock.now() })
        gate.beginWork()
        #expect(gate.shouldPing(stallLimit: limit))
        for _ in 0..<10 {
            clock.advance(.seconds(50))
            gate.progress()
            #expect(gate.shouldPing(stallLimit: limit))
        }
        clock.advance(limit)
        #expect(gate.shouldPing(stallLimit: limit), "exactly at the limit still counts")
    }

    @Test("working, stalled past the limit: no ping, until progress resumes or work ends")
    func stalled() {
        let clock = ManualClock()
        let gate = WatchdogGate(now: { clock.now() })
        gate.beginWork()
        clock.advance(.seconds(61))
        #expect(!gate.shouldPing(stallLimit: limit))
        #expect(gate.stalledFor() == .seconds(61))
        gate.progress()
        #expect(gate.shouldPing(stallLimit: limit))
        clock.advance(.seconds(120))
        #expect(!gate.shouldPing(stallLimit: limit))
        gate.endWork()
        #expect(gate.shouldPing(stallLimit: limit))
    }

    @Test("beginWork counts as progress even after a long idle spell")
    func beginIsProgress() {
        let clock = ManualClock()
        let gate = WatchdogGate(now: { clock.now() })
        clock.advance(.seconds(3600))
        gate.beginWork()
        #expect(gate.shouldPing(stallLimit: limit))
    }

    @Test("overlapping work: idle only when every beginWork has its endWork")
    func nesting() {
        let clock = ManualClock()
        let gate = WatchdogGate(now: { clock.now() })
        gate.beginWork()
        gate.beginWork()
        gate.endWork()
        #expect(gate.isWorking)
        clock.advance(.seconds(61))
        #expect(!gate.shouldPing(stallLimit: limit))
        gate.endWork()
        #expect(!gate.isWorking)
        gate.endWork() // unbalanced: ignored
        gate.beginWork()
        #expect(gate.isWorking)
    }

    @Test("an explicit now overrides the gate's clock")
    func explicitNow() {
        let clock = ManualClock()
        let gate = WatchdogGate(now: { clock.now() })
        gate.beginWork()
        #expect(!gate.shouldPing(now: clock.now() + .seconds(61), stallLimit: limit))
        #expect(gate.shouldPing(now: clock.now() + .seconds(59), stallLimit: limit))
    }
}
