import MediaSync
import Testing

@Suite struct CycleTriggerTests {
    @Test func aBurstWhileRunningCoalescesIntoExactlyOneMoreCycle() {
        var t = CycleTrigger(minimumSpacing: 5)
        var starts: [CycleTrigger.Decision] = [t.request(now: 0)] // idle: start
        for _ in 0..<5 { starts.append(t.request(now: 1)) } // burst while running
        #expect(starts == [.start, .merged, .merged, .merged, .merged, .merged])
        #expect(t.finished(now: 10) == .start) // one more follows
        #expect(t.finished(now: 20) == .merged) // and no third
        #expect(!t.running)
        #expect(t.request(now: 30) == .start) // idle again: starts at once
    }

    /// Defect: 100 SIGUSR1 against an idle daemon started 91–100 cycles, since each idle cycle ends
    /// in milliseconds. Idle or busy, a burst is one cycle now and at most one after the spacing.
    @Test func aBurstAgainstAnIdleDaemonIsOneCycleAndAtMostOneMore() {
        var t = CycleTrigger(minimumSpacing: 5)
        var started = 0
        var scheduled: Double?
        var now = 0.0
        for _ in 0..<100 {
            switch t.request(now: now) {
            case .start: started += 1
            case let .later(at): scheduled = at
            case .merged: break
            }
            if t.running, case .later(let at) = t.finished(now: now + 0.001) { scheduled = at } // an idle cycle ends at once
            now += 0.002
        }
        #expect(started == 1)
        #expect(scheduled == 5)
        let due = t.deferredDue(now: 5)
        #expect(due)
        #expect(t.finished(now: 5.01) == .merged)
        #expect(t.request(now: 5.02) == .later(at: 10)) // spacing holds for the next burst too
    }

    @Test func noRequestMeansNoExtraCycle() {
        var t = CycleTrigger()
        _ = t.request(now: 0)
        #expect(t.finished(now: 1) == .merged)
        #expect(!t.pending)
    }

    @Test func stoppingForgetsThePendingCycle() {
        var t = CycleTrigger()
        _ = t.request(now: 0)
        _ = t.request(now: 1)
        t.cancelPending()
        #expect(t.finished(now: 2) == .merged)
        let due = t.deferredDue(now: 100)
        #expect(!due)
    }
}
