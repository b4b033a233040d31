import Glibc
import LocalFS
import SystemPackage

/// A fresh, empty directory under /tmp (mkdtemp), removed with ``remove()``.
public struct TemporaryDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String

    public var filePath: FilePath { FilePath(path) }

    /// Creates `<parent>/<prefix>-XXXXXX` (mode 0700, as mkdtemp makes it).
    public init(prefix: String = "dms-test", in parent: String = "/tmp") throws {
        precondition(!prefix.contains("/"), "prefix must be a single name component")
        path = try Self.makeUniqueDirectory("\(parent)/\(prefix)-XXXXXX")
    }

    /// A folder in memory (tmpfs, where fsync costs nothing) when the machine has /dev/shm: for
    /// tests of logic that write many small files and transactions, not of the file system.
    public static var memoryParent: String {
        access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp"
    }

    /// `relative` (slash-separated) inside this directory.
    public func appending(_ relative: String) -> FilePath {
        filePath.appending(relative)
    }

    /// A child whose name is raw bytes (not necessarily UTF-8), inside `subdirectory` if given.
    public func appending(name: [UInt8], inSubdirectory subdirectory: String? = nil) -> FilePath {
        let folder = subdirectory.map { appending($0) } ?? filePath
        return FilePath(bytes: folder.bytes + [UInt8(ascii: "/")] + name)
    }

    /// mkdir -p of `relative`.
    @discardableResult
    public func makeDirectory(_ relative: String) throws -> FilePath {
        let target = appending(relative)
        try LocalFS.createDirectories(target)
        return target
    }

    /// Writes `bytes` to `relative`, creating the folders on the way.
    @discardableResult
    public func writeFile(_ relative: String, bytes: [UInt8], modified: FileTime? = nil) throws -> FilePath {
        let target = appending(relative)
        try LocalFS.createDirectories(target.removingLastComponent())
        try TestFiles.write(bytes, to: target, modified: modified)
        return target
    }

    /// Writes `size` pseudo-random bytes (see ``TestFiles/write(size:seed:to:mode:modified:)``).
    @discardableResult
    public func writeFile(_ relative: String, size: Int, seed: UInt64 = 0, modified: FileTime? = nil) throws -> FilePath {
        let target = appending(relative)
        try LocalFS.createDirectories(target.removingLastComponent())
        try TestFiles.write(size: size, seed: seed, to: target, modified: modified)
        return target
    }

    /// Writes `bytes` to a file whose name is raw bytes, inside `subdirectory` if given.
    @discardableResult
    public func writeFile(
        name: [UInt8], inSubdirectory subdirectory: String? = nil, bytes: [UInt8], modified: FileTime? = nil
    ) throws -> FilePath {
        if let subdirectory { try makeDirectory(subdirectory) }
        let target = appending(name: name, inSubdirectory: subdirectory)
        try TestFiles.write(bytes, to: target, modified: modified)
        return target
    }

    /// Removes the directory and everything below it (names of any bytes; symlinks not followed).
    public func remove() throws {
        try Self.removeTree(filePath)
    }

    /// rm -rf of any path (e.g. a folder from `TestSSHServer.makeRemoteBase(name:)`); a missing
    /// path is not an error.
    public static func remove(path: String) throws {
        try removeTree(FilePath(path))
    }

    public static func makeUniqueDirectory(_ template: String) throws -> String {
        var buffer = Array(template.utf8CString)
        guard let made = buffer.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw LocalFSError("mkdtemp", path: template, errno: errno)
        }
        return String(cString: made)
    }

    /// rm -rf, by hand so that non-UTF-8 names are handled as the bytes they are.
    static func removeTree(_ path: FilePath) throws {
        guard let status = try LocalFS.statusIfExists(path) else { return }
        guard status.kind == .directory else {
            try LocalFS.unlink(path)
            return
        }
        for name in try childNames(path) {
            try removeTree(FilePath(bytes: path.bytes + [UInt8(ascii: "/")] + name))
        }
        guard path.withPlatformString({ rmdir($0) }) == 0 else {
            throw LocalFSError("rmdir", path: path, errno: errno)
        }
    }

    private static func childNames(_ path: FilePath) throws -> [[UInt8]] {
        guard let dir = path.withPlatformString({ opendir($0) }) else {
            throw LocalFSError("opendir", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw LocalFSError("readdir", path: path, errno: errno) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
    }
}
