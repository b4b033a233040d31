import Configuration
import Foundation

extension MediaSyncConfig.RetryPolicy {
    /// The wait before attempt `attempts + 1`: base × 2^(attempts−1), capped, with ± jitter so
    /// that many files failing together do not all come back at the same instant.
    public func delay(afterAttempts attempts: Int, random: Double = Double.random(in: -1...1)) -> Double {
        let exponent = Double(min(max(0, attempts - 1), 60))
        let raw = min(maxDelaySeconds, baseDelaySeconds * pow(2, exponent))
        return max(0, raw * (1 + jitterFraction * random))
    }
}
