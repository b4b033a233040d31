import MediaSync
import Testing

@Suite struct CycleTriggerTests {
    @Test func aBurstWhileRunningCoalescesIntoExactlyOneMoreCycle() {
        var t = CycleTrigger()
        var starts: [Bool] = [t.request()]                       // idle: start
        for _ in 0..<5 { starts.append(t.request()) }           // burst while running
        #expect(starts == [true, false, false, false, false, false])
        let afterFirst = t.finished()                           // one more follows
        let afterSecond = t.finished()                          // and no third
        #expect(afterFirst && !afterSecond)
        #expect(!t.running)
        let again = t.request()                                 // idle again: starts at once
        #expect(again)
    }

    @Test func noRequestMeansNoExtraCycle() {
        var t = CycleTrigger()
        _ = t.request()
        let more = t.finished()
        #expect(!more && !t.pending)
    }

    @Test func stoppingForgetsThePendingCycle() {
        var t = CycleTrigger()
        _ = t.request()
        _ = t.request()
        t.cancelPending()
        let more = t.finished()
        #expect(!more)
    }
}
