import Glibc
import SystemPackage

/// Permission questions about a path for this process's effective user (`doctor`).
extension LocalFS {
    public struct AccessMode: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let read = AccessMode(rawValue: R_OK)
        public static let write = AccessMode(rawValue: W_OK)
        public static let execute = AccessMode(rawValue: X_OK)
    }

    /// faccessat(2) with AT_EACCESS: whether the *effective* user (the one that will create and
    /// unlink files) may do `mode`; the error says why not. Sees the mount's read-only flag (EROFS)
    /// only for write checks.
    public static func checkAccess(_ path: FilePath, _ mode: AccessMode) throws {
        let rc = path.withPlatformString { faccessat(AT_FDCWD, $0, mode.rawValue, AT_EACCESS) }
        guard rc == 0 else { throw LocalFSError("access", path: path, errno: errno) }
    }

    /// Whether the file system holding `path` is mounted read-only (statvfs ST_RDONLY).
    public static func isOnReadOnlyMount(_ path: FilePath) throws -> Bool {
        var vfs = statvfs()
        guard path.withPlatformString({ statvfs($0, &vfs) }) == 0 else {
            throw LocalFSError("statvfs", path: path, errno: errno)
        }
        return vfs.f_flag & UInt(ST_RDONLY) != 0
    }

    /// Creates a small file in `directory` and removes it again: proves create and unlink there
    /// (permissions, a read-only mount, a full disk, SELinux) better than any flag can.
    public static func probeWritable(_ directory: FilePath, name: String) throws {
        let path = directory.appending(name)
        let fd = path.withPlatformString { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw LocalFSError("create", path: path, errno: errno) }
        let written = Array("dji-media-sync doctor\n".utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let writeErrno = errno
        close(fd)
        guard written >= 0 else {
            _ = path.withPlatformString { Glibc.unlink($0) }
            throw LocalFSError("write", path: path, errno: writeErrno)
        }
        try unlink(path)
    }

    /// A sub-folder of `directory` for a sample check: descends into the first sub-folder (in
    /// directory order) up to `depth` levels (a camera card: DCIM/100MEDIA). nil when there is none.
    public static func sampleSubdirectory(of directory: FilePath, depth: Int = 2) -> FilePath? {
        var current = directory
        var found: FilePath?
        for _ in 0..<depth {
            guard let dir = current.withPlatformString({ opendir($0) }) else { break }
            var next: FilePath?
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
                if name == [0x2E] || name == [0x2E, 0x2E] { continue }
                let candidate = FilePath(bytes: current.bytes + [0x2F] + name)
                if (try? status(candidate))?.kind == .directory {
                    next = candidate
                    break
                }
            }
            closedir(dir)
            guard let next else { break }
            found = next
            current = next
        }
        return found
    }
}

extension LocalFS {
    /// "root (uid 0)": who the permission checks were made for.
    public static func effectiveUserDescription() -> String {
        let uid = geteuid()
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return "\(String(cString: name)) (uid \(uid))"
    }
}
