import Glibc
import SystemPackage

/// Writes a whole file so that readers see the old content or the new, never a mix:
/// temp file in the same folder, fsync, rename, fsync of the folder.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: FilePath, mode: mode_t = 0o644) throws {
        let folder = path.removingLastComponent()
        let name = path.lastComponent.map { FilePath(root: nil, [$0]).bytes } ?? []
        let temp = FilePath(bytes: folder.bytes + [47] + Array(".".utf8) + name + Array(".tmp-\(getpid())".utf8))
        let fd = temp.withPlatformString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw LocalFSError("open", path: temp, errno: errno) }
        var ok = false
        defer {
            if !ok { _ = temp.withPlatformString { unlink($0) } }
        }
        do {
            defer { close(fd) }
            try FileIO.writeAll(fd, bytes, path: temp)
            guard fsync(fd) == 0 else { throw LocalFSError("fsync", path: temp, errno: errno) }
        }
        try LocalFS.rename(temp, to: path)
        ok = true
        try LocalFS.syncDirectory(folder.isEmpty ? "." : folder)
    }
}

/// Plain blocking descriptor I/O with EINTR handled. Call from `runBlocking`, never from the pool.
public enum FileIO {
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: FilePath) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: FilePath) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw LocalFSError("write", path: path, errno: errno)
            }
            offset += n
        }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: FilePath) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw LocalFSError("read", path: path, errno: errno)
        }
    }

    public static func readWholeFile(_ path: FilePath, limit: Int = 64 << 20) throws -> [UInt8] {
        let fd = path.withPlatformString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw LocalFSError("open", path: path, errno: errno) }
        defer { close(fd) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(fd, into: $0, path: path) }
            if n == 0 { break }
            out += chunk[..<n]
            if out.count > limit { throw LocalFSError("read (file too large)", path: path, errno: EFBIG) }
        }
        return out
    }
}
