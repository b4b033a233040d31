import Backoff
import Configuration

extension MediaSyncConfig.RetryPolicy {
    /// `retry_policy` as the one backoff formula.
    public var backoff: Backoff { Backoff(base: baseDelaySeconds, maximum: maxDelaySeconds, jitter: jitterFraction) }

    /// The wait before attempt `attempts + 1` (see `Backoff`).
    public func delay(afterAttempts attempts: Int, random: Double = Double.random(in: -1...1)) -> Double {
        backoff.seconds(afterAttempts: attempts, random: random)
    }
}
