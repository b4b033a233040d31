/// Typed decoders for the lines the remote scripts (RemoteScripts) print and the daemon parses.
/// Each takes one line without its LF; none needs a connection (unit-tested without sshd).
enum RemoteReplies {
    /// `ver`: "<i> M" missing, "<i> Z <size>", "<i> H <size> <sha256>", "<i> U ..." unknown.
    enum Verify: Equatable {
        case missing
        case size(Int64)
        case sizeAndHash(Int64, String)
        case unknown(String)
    }

    static func verifyLine(_ line: [UInt8]) -> (index: Int?, reply: Verify) {
        let f = fields(line)
        let index = f.first.flatMap { Int($0) }
        guard index != nil, f.count >= 2 else { return (index, .unknown(f.joined(separator: " "))) }
        switch f[1] {
        case "M": return (index, .missing)
        case "Z": if f.count > 2, let n = Int64(f[2]) { return (index, .size(n)) }
        case "H": if f.count > 3, let n = Int64(f[2]) { return (index, .sizeAndHash(n, f[3])) }
        default: break
        }
        return (index, .unknown(f.dropFirst().joined(separator: " ")))
    }

    /// `spc`: the last line of POSIX `df -P -k .` (filesystem, 1024-blocks, used, available,
    /// capacity, mount point).
    static func freeSpace(_ line: [UInt8]) -> (freeBytes: Int64, totalBytes: Int64)? {
        let f = fields(line, whitespace: true)
        guard f.count >= 4, let total = Int64(f[1]), let available = Int64(f[3]) else { return nil }
        return (available * 1024, total * 1024)
    }

    static func fields(_ line: [UInt8], whitespace: Bool = false) -> [String] {
        let text = String(decoding: line, as: UTF8.self)
        return whitespace ? text.split(whereSeparator: \.isWhitespace).map(String.init) : text.split(separator: " ").map(String.init)
    }
}
