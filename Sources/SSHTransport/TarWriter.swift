/// Writes POSIX ustar headers for the data stream. Only our own temp names ever go into a tar
/// header (short, ASCII), so names never need the pax or GNU long-name extensions; sizes of
/// 8 GiB and more use the base-256 form that GNU tar, BusyBox and bsdtar read.
public enum TarWriter {
    public static let blockSize = 512

    public static func fileHeader(name: [UInt8], size: Int64, mode: UInt32, mtime: Int64) -> [UInt8] {
        precondition(name.count < 100, "tar name too long: temp names are short by construction")
        var h = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = Array(String(value, radix: 8).utf8)
            return Array(repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)) + digits + [0]
        }
        put(name, at: 0)
        put(octal(Int64(mode & 0o7777), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)   // uid
        put(octal(0, width: 8), at: 116)   // gid
        if size < 0o77777777777 {
            put(octal(size, width: 12), at: 124)
        } else {
            var field = [UInt8](repeating: 0, count: 12)
            var v = UInt64(size)
            for i in stride(from: 11, through: 1, by: -1) { field[i] = UInt8(v & 0xff); v >>= 8 }
            field[0] = 0x80
            put(field, at: 124)
        }
        put(octal(max(0, mtime), width: 12), at: 136)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148) // checksum placeholder
        h[156] = UInt8(ascii: "0")                                 // regular file
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        let sum = h.reduce(0) { $0 + Int($1) }
        let digits = Array(String(sum, radix: 8).utf8)
        put(Array(repeating: UInt8(ascii: "0"), count: 6 - digits.count) + digits + [0, UInt8(ascii: " ")], at: 148)
        return h
    }

    /// Zero bytes that pad `size` bytes of data to a whole block.
    public static func padding(for size: Int64) -> Int {
        let rest = Int(size % Int64(blockSize))
        return rest == 0 ? 0 : blockSize - rest
    }

    /// Two zero blocks end an archive.
    public static let endOfArchive = [UInt8](repeating: 0, count: 2 * blockSize)
}
