import Glibc

/// The instant a request is signed at, in whole seconds (UTC), with the two spellings SigV4 uses:
/// `20150830T123600Z` (`X-Amz-Date`) and `20150830` (the credential scope's date).
public struct SigV4Date: Sendable, Hashable, CustomStringConvertible {
    public let secondsSince1970: Int64

    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// The system clock (CLOCK_REALTIME), truncated to the second.
    public static func now() -> SigV4Date {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return SigV4Date(secondsSince1970: Int64(ts.tv_sec))
    }

    /// Parses the `X-Amz-Date` form (`yyyyMMdd'T'HHmmss'Z'`); nil for anything else.
    public init?(amzDate: String) {
        let digits = Array(amzDate.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for c in digits[range] {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int32(c - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var broken = tm()
        broken.tm_year = year - 1900
        broken.tm_mon = month - 1
        broken.tm_mday = day
        broken.tm_hour = hour
        broken.tm_min = minute
        broken.tm_sec = second
        secondsSince1970 = Int64(timegm(&broken))
    }

    /// `20150830T123600Z`.
    public var amzDate: String { format("%Y%m%dT%H%M%SZ") }
    /// `20150830`.
    public var dateStamp: String { format("%Y%m%d") }

    public var description: String { amzDate }

    private func format(_ pattern: String) -> String {
        var seconds = time_t(secondsSince1970)
        var broken = tm()
        gmtime_r(&seconds, &broken)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, pattern, &broken)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
