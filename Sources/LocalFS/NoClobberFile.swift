import CLinux
import Glibc
import Hashing
import SystemPackage

/// A file written under a temp name, then published under its final name only if that name is
/// free (renameat2 RENAME_NOREPLACE): `restore` never replaces a file that is there.
/// Used by one thread at a time (a restore's transport thread): not Sendable.
public final class NoClobberFile {
    public let temp: FilePath
    private var fd: Int32

    /// Creates `temp` new (O_EXCL, never through a symbolic link).
    public init(temp: FilePath, mode: mode_t = 0o644) throws {
        self.temp = temp
        fd = temp.withPlatformString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw LocalFSError("create", path: temp, errno: errno) }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw LocalFSError("write (closed)", path: temp, errno: EBADF) }
        try FileIO.writeAll(fd, bytes, path: temp)
    }

    /// Writes `bytes` at `offset` (pwrite: several threads may write ranges that do not overlap).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard fd >= 0 else { throw LocalFSError("write (closed)", path: temp, errno: EBADF) }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n > 0 {
                done += n
            } else if n < 0, errno == EINTR {
                continue
            } else {
                throw LocalFSError("write at \(offset + Int64(done))", path: temp, errno: n < 0 ? errno : EIO)
            }
        }
    }

    /// fsync and close: the bytes are on disk before the file gets its final name.
    public func finish() throws {
        guard fd >= 0 else { return }
        defer {
            Glibc.close(fd)
            fd = -1
        }
        guard fsync(fd) == 0 else { throw LocalFSError("fsync", path: temp, errno: errno) }
    }

    /// Closes (if open) and removes the temp.
    public func discard() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
        _ = temp.withPlatformString { unlink($0) }
    }

    /// Renames the finished temp to `final` unless `final` exists; then syncs the folder unless
    /// the caller syncs it later (`syncFolder` false: once for many files).
    /// false: `final` exists (nothing was replaced, the temp is removed).
    public func publish(as final: FilePath, syncFolder: Bool = true) throws -> Bool {
        try finish()
        let rc = temp.withPlatformString { t in final.withPlatformString { f in renameat2(AT_FDCWD, t, AT_FDCWD, f, UInt32(RENAME_NOREPLACE)) } }
        guard rc == 0 else {
            let err = errno
            discard()
            if err == EEXIST { return false }
            throw LocalFSError("rename to \(final.displayString) (no replace)", path: temp, errno: err)
        }
        if syncFolder { try LocalFS.syncDirectory(final.removingLastComponent()) }
        return true
    }
}

extension FileIO {
    /// The SHA-256 of the regular file at `path` (never read through a symbolic link).
    public static func sha256(of path: FilePath) throws -> SHA256Digest {
        let hasher = SHA256Hasher()
        try forEachChunk(of: path) { hasher.update($0) }
        return hasher.finalize()
    }

    /// Reads the regular file at `path` (never through a symbolic link) in chunks.
    static func forEachChunk(of path: FilePath, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = path.withPlatformString { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw LocalFSError("open", path: path, errno: errno) }
        defer { Glibc.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = try read(fd, into: buffer, path: path)
            if n == 0 { return }
            body(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }
}
