import MediaSync
import Testing

@Suite struct WatchScheduleTests {
    @Test func aBurstOfChangesArmsOneDeadlineSettleAfterTheFirst() {
        var w = WatchSchedule(settle: 31)
        #expect(w.changed(now: 100) == 131)
        #expect(w.changed(now: 100.5) == nil)
        #expect(w.changed(now: 101) == nil)
        // Not yet: nothing starts, the deadline stays armed.
        #expect(w.due(now: 130) == (false, nil))
        #expect(w.deadline == 131)
        // The cycle at 131 takes files closed up to 100; those of 100.5 and 101 get a second one.
        let first = w.due(now: 131)
        #expect(first.startCycle)
        #expect(first.next == 132)
        let second = w.due(now: 132)
        #expect(second.startCycle && second.next == nil)
        #expect(w.deadline == nil)
    }

    @Test func aChangeAfterTheDeadlineArmsANewOne() {
        var w = WatchSchedule(settle: 10)
        #expect(w.changed(now: 0) == 10)
        let due = w.due(now: 10)
        #expect(due.startCycle && due.next == nil)
        #expect(w.changed(now: 50) == 60)
    }

    @Test func aSteadyTrickleStillGetsACycleEverySettleSeconds() {
        var w = WatchSchedule(settle: 5)
        var starts: [Double] = []
        var armed: Double? = nil
        // One file closed every second for a minute.
        for tenth in 0...600 {
            let now = Double(tenth) / 10
            if tenth % 10 == 0, let d = w.changed(now: now) { armed = d }
            if let d = armed, now >= d {
                let r = w.due(now: now)
                if r.startCycle { starts.append(now) }
                armed = r.next
            }
        }
        #expect(starts.first == 5)
        #expect(starts.count >= 10)
        #expect(zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 <= 5.0001 })
    }

    @Test func dueWithoutAnArmedDeadlineDoesNothing() {
        var w = WatchSchedule(settle: 3)
        #expect(w.due(now: 100) == (false, nil))
    }
}
