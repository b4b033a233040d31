import SystemPackage

extension FilePath {
    /// Builds a path from raw bytes (file names on Linux are bytes, not necessarily UTF-8).
    public init(bytes: [UInt8]) {
        var cString = bytes.map { CChar(bitPattern: $0) }
        cString.append(0)
        self = cString.withUnsafeBufferPointer { FilePath(platformString: $0.baseAddress!) }
    }

    /// The path's raw bytes, without a terminating NUL.
    public var bytes: [UInt8] {
        withPlatformString { cString in
            var length = 0
            while cString[length] != 0 { length += 1 }
            return cString.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        }
    }

    /// For logs and messages only: invalid UTF-8 shows as U+FFFD, control characters escaped.
    public var displayString: String { FilePath.display(bytes) }

    public static func display(_ bytes: [UInt8]) -> String {
        // Most names are printable ASCII: one copy, no per-character work (this runs for every
        // file a cycle records).
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return String(decoding: bytes, as: UTF8.self) }
        var out = ""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out += "\\x" + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
