import CLinux
import Glibc
import SystemPackage

/// A path below a trusted root, reached one component at a time with `O_NOFOLLOW`: a folder of
/// the media root that was replaced by a symlink (to anywhere) is never passed through. The only
/// way the daemon deletes or moves a local file.
public struct AnchoredPath: Sendable {
    public let root: FilePath
    /// Components below the root, the last one the file's name.
    public let components: [[UInt8]]

    /// nil when `path` is not strictly below `root`, or has `.`/`..` components.
    public init?(_ path: FilePath, under root: FilePath) {
        var prefix = root.bytes
        while prefix.count > 1, prefix.last == 47 { prefix.removeLast() }
        if prefix.last != 47 { prefix.append(47) }
        let bytes = path.bytes
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return nil }
        let parts = bytes[prefix.count...].split(separator: 47, omittingEmptySubsequences: true).map(Array.init)
        guard !parts.isEmpty, !parts.contains([46]), !parts.contains([46, 46]) else { return nil }
        self.root = root
        self.components = parts
    }

    /// The first of `roots` (longest first) that `path` lies under.
    public static func find(_ path: FilePath, in roots: [FilePath]) -> AnchoredPath? {
        for root in roots.sorted(by: { $0.bytes.count > $1.bytes.count }) {
            if let anchored = AnchoredPath(path, under: root) { return anchored }
        }
        return nil
    }

    public var path: FilePath {
        var bytes = root.bytes
        for c in components {
            if bytes.last != 47 { bytes.append(47) }
            bytes += c
        }
        return FilePath(bytes: bytes)
    }

    /// Opens the folder holding the file: the root as configured (it may itself be a mount or a
    /// link the operator chose), every folder below it with `O_NOFOLLOW`. With `create`, missing
    /// folders are made (mode 0755).
    func withParent<T>(create: Bool = false, _ body: (Int32, [UInt8]) throws -> T) throws -> T {
        var fd = root.withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw LocalFSError("open", path: root, errno: errno) }
        defer { close(fd) }
        for (i, name) in components.dropLast().enumerated() {
            let cName = Self.cString(name)
            var next = openat(fd, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, create {
                guard mkdirat(fd, cName, 0o755) == 0 || errno == EEXIST else {
                    throw LocalFSError("mkdir", path: prefixPath(i + 1), errno: errno)
                }
                next = openat(fd, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard next >= 0 else {
                let err = errno
                // ELOOP/ENOTDIR: a symlink (or a file) where a folder was.
                throw LocalFSError(
                    err == ELOOP || err == ENOTDIR
                        ? "refusing to pass through a symlink or non-folder"
                        : "open folder", path: prefixPath(i + 1), errno: err)
            }
            close(fd)
            fd = next
        }
        return try body(fd, components.last!)
    }

    private func prefixPath(_ count: Int) -> FilePath {
        AnchoredPath(root: root, components: Array(components.prefix(count))).path
    }

    /// `components` below `root` as given (e.g. a trash folder's mirror of a source's path).
    public init(root: FilePath, components: [[UInt8]]) {
        self.root = root
        self.components = components
    }

    static func cString(_ bytes: [UInt8]) -> [CChar] { bytes.map { CChar(bitPattern: $0) } + [0] }

    /// lstat of the file itself, through the anchored folders; nil when it does not exist.
    public func status() throws -> FileStatus? {
        do {
            return try withParent { dirfd, name in
                var st = stat()
                guard fstatat(dirfd, Self.cString(name), &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    if errno == ENOENT { return nil }
                    throw LocalFSError("lstat", path: path, errno: errno)
                }
                return FileStatus(st)
            }
        } catch let error as LocalFSError where error.isNotFound {
            return nil
        }
    }

    /// Removes the file if it still has `identity` (checked on the same folder descriptor the
    /// unlink uses), then syncs the folder unless the caller syncs it later (`syncFolder` false:
    /// one fsync per folder for a whole batch of deletions). Returns false when it is gone.
    public func unlink(ifStill identity: FileIdentity, syncFolder: Bool = true) throws -> Bool {
        try withParent { dirfd, name in
            let cName = Self.cString(name)
            var st = stat()
            guard fstatat(dirfd, cName, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { return false }
                throw LocalFSError("lstat", path: path, errno: errno)
            }
            let found = FileStatus(st)
            guard found.kind == .regular, found.identity == identity else {
                throw LocalFSError("unlink (the file changed: expected \(identity), found \(found.identity))", path: path, errno: EBUSY)
            }
            guard unlinkat(dirfd, cName, 0) == 0 else { throw LocalFSError("unlink", path: path, errno: errno) }
            // A lost fsync may bring the file back after a power cut: harmless (re-verified and
            // deleted again), so it does not turn a done deletion into a failure.
            if syncFolder { _ = fsync(dirfd) }
            return true
        }
    }

    /// Moves the file to `target` (also anchored, same file system), never replacing anything
    /// there: the target's folders are created, and an existing name gets `.1`, `.2`, ...
    /// Returns where it went.
    public func move(to target: AnchoredPath) throws -> FilePath {
        try withParent { fromFD, fromName in
            try target.withParent(create: true) { toFD, toName in
                var name = toName
                var n = 1
                while true {
                    // No-clobber and atomic; works on vfat/exFAT cards too (no hard links there).
                    if renameat2(fromFD, Self.cString(fromName), toFD, Self.cString(name), UInt32(RENAME_NOREPLACE)) == 0 { break }
                    guard errno == EEXIST else {
                        throw LocalFSError("rename to \(FilePath.display(name))", path: path, errno: errno)
                    }
                    name = toName + Array(".\(n)".utf8)
                    n += 1
                }
                _ = fsync(toFD)
                _ = fsync(fromFD)
                return AnchoredPath(root: target.root, components: target.components.dropLast() + [name]).path
            }
        }
    }
}
