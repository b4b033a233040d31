/// xoshiro256** seeded through SplitMix64: tiny, fast, and the same sequence for a seed on every
/// machine and Swift version (the standard library's `random(in:using:)` promises no such thing,
/// so ranges and picks are done here).
struct SimRandom {
    private var s0, s1, s2, s3: UInt64

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func chance(_ p: Double) -> Bool { p > 0 && unit() < p }

    /// Uniform in `range` (the modulo bias is irrelevant at these sizes).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func int64(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(bitPattern: next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// One of `choices`, with the given relative weights.
    mutating func weighted<T>(_ choices: [(T, Double)]) -> T {
        var x = unit() * choices.reduce(0) { $0 + $1.1 }
        for (value, weight) in choices {
            if x < weight { return value }
            x -= weight
        }
        return choices[choices.count - 1].0
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            withUnsafeBytes(of: next().littleEndian) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }
}

/// The simulation's time, in nanoseconds since 1970. Today it only stamps the files the harness
/// writes: the engine still reads the wall clock (`Date()`) for due times, backoff and "too
/// young". Once the engine takes a clock, this is the one to hand it, and random steps
/// (forward, backward, across the delete delay) become one more fault.
struct SimClock {
    /// 2024-06-01 00:00:00 UTC: well in the past, so harness-stamped files are complete at once.
    static let start: Int64 = 1_717_200_000 * 1_000_000_000
    var nanoseconds: Int64 = SimClock.start

    mutating func advance(seconds: Int64) { nanoseconds += seconds * 1_000_000_000 }
}
