import Backoff
import Testing

@Suite struct BackoffTests {
    @Test func doublesFromTheBaseUpToTheCap() {
        let b = Backoff(base: 0.5, maximum: 8, jitter: 0)
        #expect((1...7).map { b.seconds(afterAttempts: $0) } == [0.5, 1, 2, 4, 8, 8, 8])
        #expect(b.seconds(afterAttempts: 0) == 0.5)
        #expect(b.seconds(afterAttempts: 10_000) == 8) // no overflow however many attempts
    }

    @Test func jitterStaysWithinItsFraction() {
        let b = Backoff(base: 10, maximum: 100, jitter: 0.25)
        #expect(b.seconds(afterAttempts: 1, random: -1) == 7.5)
        #expect(b.seconds(afterAttempts: 1, random: 1) == 12.5)
        for _ in 0..<100 { #expect((7.5...12.5).contains(b.seconds(afterAttempts: 1))) }
        #expect(b.duration(afterAttempts: 1) >= .milliseconds(7500))
    }
}
