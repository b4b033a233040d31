import Glibc

/// A file time for test fixtures, in nanoseconds since the Unix epoch.
public struct FileTime: Sendable, Equatable, Hashable {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    /// `seconds` (plus `nanoseconds`) after the epoch.
    public static func epoch(seconds: Int64, nanoseconds: Int64 = 0) -> FileTime {
        FileTime(nanosecondsSinceEpoch: seconds * 1_000_000_000 + nanoseconds)
    }

    /// Now minus `seconds` on the wall clock, e.g. `.secondsAgo(3600)` for files an hour old.
    public static func secondsAgo(_ seconds: Int64) -> FileTime {
        var now = Glibc.timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return FileTime(
            nanosecondsSinceEpoch: (Int64(now.tv_sec) - seconds) * 1_000_000_000 + Int64(now.tv_nsec))
    }

    var timespecValue: Glibc.timespec {
        let (seconds, nanoseconds) = nanosecondsSinceEpoch.quotientAndRemainder(dividingBy: 1_000_000_000)
        // A negative remainder (times before 1970) borrows a second, as timespec wants 0...999_999_999.
        return nanoseconds < 0
            ? Glibc.timespec(tv_sec: Int(seconds - 1), tv_nsec: Int(nanoseconds + 1_000_000_000))
            : Glibc.timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))
    }
}
