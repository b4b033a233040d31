/// Exponential backoff with jitter, the one formula for every retry: a file's next attempt, a
/// multipart part, a webhook delivery, a reconnect. The wait before attempt `n + 1` is
/// `base × 2^(n−1)`, capped at `maximum`, then scaled by `1 ± jitter` at random so that many
/// failures at the same instant do not all come back at the same instant.
public struct Backoff: Sendable, Equatable {
    public var base: Double
    public var maximum: Double
    public var jitter: Double

    public init(base: Double, maximum: Double, jitter: Double) {
        self.base = base
        self.maximum = maximum
        self.jitter = jitter
    }

    /// Seconds to wait after `attempts` failed attempts (`random` in -1...1 picks the jitter).
    public func seconds(afterAttempts attempts: Int, random: Double = Double.random(in: -1...1)) -> Double {
        let exponent = min(max(0, attempts - 1), 60)
        var raw = base
        for _ in 0..<exponent where raw < maximum { raw *= 2 }
        return max(0, min(maximum, raw) * (1 + jitter * random))
    }

    public func duration(afterAttempts attempts: Int) -> Duration {
        .milliseconds(Int64((seconds(afterAttempts: attempts) * 1000).rounded()))
    }
}
