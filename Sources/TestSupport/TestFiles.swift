import Glibc
import LocalFS
import SystemPackage

/// Writing fixture files: exact bytes or a size of deterministic pseudo-random content, with a chosen
/// modification time. Paths are `FilePath`s, so names may be any bytes (`FilePath(bytes:)`).
///
/// These are plain blocking calls. They are fine for the small files most tests use; wrap the
/// writing of large files in `runBlocking { }` so they do not hold a cooperative-pool thread.
public enum TestFiles {
    /// Creates or truncates `path` with exactly `bytes`, then sets its mtime if `modified` is given.
    public static func write(
        _ bytes: [UInt8], to path: FilePath, mode: mode_t = 0o644, modified: FileTime? = nil
    ) throws {
        try withOpenFile(path, mode: mode) { fd in
            try FileIO.writeAll(fd, bytes, path: path)
        }
        if let modified { try setModificationTime(path, to: modified) }
    }

    /// Creates or truncates `path` with `size` bytes of pseudo-random content determined by `seed`
    /// (same seed and size, same bytes), written in 1 MiB chunks so large files cost little memory.
    public static func write(
        size: Int, seed: UInt64 = 0, to path: FilePath, mode: mode_t = 0o644, modified: FileTime? = nil
    ) throws {
        precondition(size >= 0, "size must not be negative")
        var generator = SplitMix64(seed: seed)
        var chunk = [UInt8](repeating: 0, count: min(size, 1 << 20))
        try withOpenFile(path, mode: mode) { fd in
            var remaining = size
            while remaining > 0 {
                let count = min(remaining, chunk.count)
                generator.fill(&chunk, count: count)
                try chunk.withUnsafeBytes { try FileIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[..<count]), path: path) }
                remaining -= count
            }
        }
        if let modified { try setModificationTime(path, to: modified) }
    }

    /// The bytes `write(size:seed:to:)` writes, for comparing against what arrived elsewhere.
    public static func pseudoRandomBytes(count: Int, seed: UInt64 = 0) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        generator.fill(&bytes, count: count)
        return bytes
    }

    /// Sets the modification time (utimensat; the access time is left alone; symlinks not followed).
    public static func setModificationTime(_ path: FilePath, to time: FileTime) throws {
        var times = [Glibc.timespec(tv_sec: 0, tv_nsec: utimeOmit), time.timespecValue]
        let rc = path.withPlatformString { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
        guard rc == 0 else { throw LocalFSError("utimensat", path: path, errno: errno) }
    }

    /// UTIME_OMIT from <sys/stat.h>: a macro Swift does not import.
    private static let utimeOmit = (1 << 30) - 2

    private static func withOpenFile(_ path: FilePath, mode: mode_t, _ body: (Int32) throws -> Void) throws {
        let fd = path.withPlatformString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw LocalFSError("open", path: path, errno: errno) }
        defer { close(fd) }
        try body(fd)
    }
}

/// SplitMix64: a tiny, fast, deterministic generator; good enough for file content (not crypto).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Overwrites the first `count` bytes of `buffer`.
    mutating func fill(_ buffer: inout [UInt8], count: Int) {
        buffer.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < count {
                var word = next().littleEndian
                let n = min(8, count - offset)
                withUnsafeBytes(of: &word) { raw.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
                offset += n
            }
        }
    }
}
