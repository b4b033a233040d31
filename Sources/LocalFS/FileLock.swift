import Glibc
import SystemPackage

/// An exclusive flock(2) on a lock file (or a directory). The file is never unlinked: unlinking a
/// held lock file lets a second process lock a new inode under the same name, which breaks mutual
/// exclusion.
public final class FileLock: Sendable {
    public let path: FilePath
    private let fd: Int32

    public enum Outcome: Sendable { case acquired(FileLock), busy(holderPID: Int32?) }

    /// Opens (creating if needed) and locks. With `wait: false` a held lock gives `.busy`.
    public static func acquire(_ path: FilePath, wait: Bool) throws -> Outcome {
        if let parent = Optional(path.removingLastComponent()), !parent.isEmpty {
            try LocalFS.createDirectories(parent)
        }
        let fd = path.withPlatformString { open($0, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw LocalFSError("open lock file", path: path, errno: errno) }
        guard try lock(fd, path: path, wait: wait) else {
            let holder = Self.readPID(fd)
            close(fd)
            return .busy(holderPID: holder)
        }
        // The holder's PID is informational (for "a cycle is running (pid N)"); the lock is the flock.
        var text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, &text, text.count, 0)
        return .acquired(FileLock(path: path, fd: fd))
    }

    /// Waits for an exclusive flock on the directory itself: no lock file, so none can be left
    /// owned by another user (root) that the service then cannot open.
    public static func onDirectory(_ path: FilePath) throws -> FileLock {
        let fd = path.withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw LocalFSError("open directory to lock", path: path, errno: errno) }
        _ = try lock(fd, path: path, wait: true)
        return FileLock(path: path, fd: fd)
    }

    /// flock(LOCK_EX): false when `wait` is false and another holds it; closes `fd` on an error.
    private static func lock(_ fd: Int32, path: FilePath, wait: Bool) throws -> Bool {
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let err = errno
            if err == EINTR { continue }
            if err == EWOULDBLOCK { return false }
            close(fd)
            throw LocalFSError("flock", path: path, errno: err)
        }
        return true
    }

    private init(path: FilePath, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: " \n"))
    }

    /// Releases the lock (closing the descriptor releases it too, e.g. at process exit).
    deinit { close(fd) }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
