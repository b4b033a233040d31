/// POSIX shell quoting for bytes. Everything inside single quotes is literal except the single
/// quote itself, which becomes `'\''`. This holds for newlines, `$(...)`, backticks, leading
/// dashes (we also always pass `--` or a path starting with a folder) and non-UTF-8 bytes, because
/// sh treats the quoted bytes as opaque. NUL cannot occur in a file name.
public enum ShellQuote {
    public static func quote(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x27]
        out.reserveCapacity(bytes.count + 2)
        for byte in bytes {
            precondition(byte != 0, "NUL in a shell word")
            if byte == 0x27 { out += [0x27, 0x5C, 0x27, 0x27] } else { out.append(byte) }
        }
        out.append(0x27)
        return out
    }

    public static func quote(_ string: String) -> [UInt8] { quote(Array(string.utf8)) }

    /// For command strings that must be a Swift String (ssh's argv): only for UTF-8 input.
    public static func quoted(_ string: String) -> String { String(decoding: quote(string), as: UTF8.self) }
}
