import Glibc
import SystemPackage

/// What identifies one version of a file: if any of these changed, the content may have.
public struct FileIdentity: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var size: Int64
    public var mtimeNanoseconds: Int64
    public var inode: UInt64
    public var device: UInt64

    public init(size: Int64, mtimeNanoseconds: Int64, inode: UInt64, device: UInt64) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
        self.device = device
    }

    init(_ st: stat) {
        size = Int64(st.st_size)
        mtimeNanoseconds = Self.nanoseconds(st.st_mtim).value
        inode = UInt64(st.st_ino)
        device = UInt64(st.st_dev)
    }

    /// Nanoseconds since 1970, clamped to what an Int64 holds (years 1677–2262): a file dated
    /// outside that range (a camera with a broken clock, a hostile `touch -d`) must not crash a
    /// cycle. `clamped` tells the caller to say so.
    public static func nanoseconds(_ ts: timespec) -> (value: Int64, clamped: Bool) {
        let (scaled, overflow) = Int64(ts.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        if !overflow {
            let (sum, overflow2) = scaled.addingReportingOverflow(Int64(ts.tv_nsec))
            if !overflow2 { return (sum, false) }
        }
        return (ts.tv_sec < 0 ? Int64.min : Int64.max, true)
    }

    public var mtimeSeconds: Double { Double(mtimeNanoseconds) / 1e9 }

    public var description: String { "size=\(size) mtime_ns=\(mtimeNanoseconds) inode=\(inode)" }
}

public enum FileKind: Sendable, Equatable { case regular, directory, symlink, other }

public struct FileStatus: Sendable, Equatable {
    public var kind: FileKind
    public var identity: FileIdentity
    public var mode: UInt32
    /// The mtime was outside what nanoseconds in an Int64 can hold, and was clamped.
    public var mtimeClamped = false
}

extension FileStatus {
    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        identity = FileIdentity(st)
        mode = UInt32(st.st_mode & 0o7777)
        mtimeClamped = FileIdentity.nanoseconds(st.st_mtim).clamped
    }
}

public enum LocalFS {
    /// lstat(2): symlinks are reported as links, never followed.
    public static func status(_ path: FilePath) throws -> FileStatus {
        var st = stat()
        let rc = path.withPlatformString { lstat($0, &st) }
        guard rc == 0 else { throw LocalFSError("lstat", path: path, errno: errno) }
        return FileStatus(st)
    }

    /// lstat(2), or nil when the path does not exist.
    public static func statusIfExists(_ path: FilePath) throws -> FileStatus? {
        do { return try status(path) } catch let error as LocalFSError where error.isNotFound { return nil }
    }

    public static func exists(_ path: FilePath) -> Bool {
        var st = stat()
        return path.withPlatformString { lstat($0, &st) } == 0
    }

    public static func unlink(_ path: FilePath) throws {
        guard path.withPlatformString({ Glibc.unlink($0) }) == 0 else {
            throw LocalFSError("unlink", path: path, errno: errno)
        }
    }

    public static func rename(_ from: FilePath, to: FilePath) throws {
        let rc = from.withPlatformString { f in to.withPlatformString { t in Glibc.rename(f, t) } }
        guard rc == 0 else { throw LocalFSError("rename to \(to.displayString)", path: from, errno: errno) }
    }

    /// mkdir -p with the given mode for the folders it creates.
    public static func createDirectories(_ path: FilePath, mode: mode_t = 0o755) throws {
        if let st = try statusIfExists(path) {
            guard st.kind == .directory else { throw LocalFSError("mkdir", path: path, errno: ENOTDIR) }
            return
        }
        if let parent = path.removingLastComponent() as FilePath?, !parent.isEmpty, parent != path {
            try createDirectories(parent, mode: mode)
        }
        let rc = path.withPlatformString { mkdir($0, mode) }
        guard rc == 0 || errno == EEXIST else { throw LocalFSError("mkdir", path: path, errno: errno) }
    }

    /// fsync(2) of a directory, so that a rename or unlink in it survives a power cut.
    public static func syncDirectory(_ path: FilePath) throws {
        let fd = path.withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw LocalFSError("open directory", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw LocalFSError("fsync directory", path: path, errno: errno) }
    }

    /// Free and total bytes of the file system holding `path` (for an unprivileged user).
    public static func space(_ path: FilePath) throws -> (free: Int64, total: Int64) {
        var vfs = statvfs()
        guard path.withPlatformString({ statvfs($0, &vfs) }) == 0 else {
            throw LocalFSError("statvfs", path: path, errno: errno)
        }
        return (Int64(vfs.f_bavail) * Int64(vfs.f_frsize), Int64(vfs.f_blocks) * Int64(vfs.f_frsize))
    }

    public static func currentTimeNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Ignore SIGPIPE process-wide: a dead ssh must surface as EPIPE on write, not kill us.
    public static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }
}
