import Glibc
import SystemPackage

/// Recursive directory walk with raw-byte names (opendir/readdir), never following symlinks.
public enum DirectoryWalker {
    public struct Entry: Sendable {
        public var path: FilePath
        /// The last component's bytes.
        public var name: [UInt8]
        public var status: FileStatus
    }

    /// Calls `visit` for every regular file below `root`. `descend` decides for each folder name
    /// whether to enter it. Unreadable folders are reported to `onError` and skipped, so one bad
    /// folder never hides the rest.
    public static func walk(
        _ root: FilePath,
        descend: (_ name: [UInt8]) -> Bool = { _ in true },
        onError: (LocalFSError) -> Void,
        visit: (Entry) -> Void
    ) {
        _ = walkBytes(root.bytes, descend: descend, wants: { _ in true }, shouldStop: { false }, onError: onError) { dir, name, status in
            visit(Entry(path: FilePath(bytes: join(dir, name)), name: name, status: status))
        }
    }

    /// The walk a scan of a large tree uses: `wants` filters regular files by name before any
    /// stat (so only the files of interest cost an `fstatat`), paths stay bytes, and `shouldStop`
    /// is asked between folders. Returns false when it stopped early.
    public static func walkBytes(
        _ root: [UInt8],
        descend: (_ name: [UInt8]) -> Bool,
        wants: (_ name: [UInt8]) -> Bool,
        shouldStop: () -> Bool,
        onError: (LocalFSError) -> Void,
        visit: (_ directory: [UInt8], _ name: [UInt8], _ status: FileStatus) -> Void
    ) -> Bool {
        var stack: [[UInt8]] = [root]
        while let dir = stack.popLast() {
            if shouldStop() { return false }
            // O_NOFOLLOW: a folder swapped for a symlink after it was listed is not entered.
            let fd = FilePath(bytes: dir).withPlatformString { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0, let handle = fdopendir(fd) else {
                let err = errno
                if fd >= 0 { close(fd) }
                onError(LocalFSError("opendir", path: FilePath.display(dir), errno: err))
                continue
            }
            defer { closedir(handle) }
            let dirfd = Glibc.dirfd(handle)
            while true {
                errno = 0
                guard let entry = readdir(handle) else {
                    if errno != 0 { onError(LocalFSError("readdir", path: FilePath.display(dir), errno: errno)) }
                    break
                }
                let type = entry.pointee.d_type
                if type == UInt8(DT_LNK) { continue }
                let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    Array(raw.prefix(while: { $0 != 0 }))
                }
                if name == [46] || name == [46, 46] { continue }
                let known = type == UInt8(DT_REG) || type == UInt8(DT_DIR)
                if type == UInt8(DT_DIR) {
                    // A folder needs no stat: the open above (O_NOFOLLOW) checks it again.
                    if descend(name) { stack.append(join(dir, name)) }
                    continue
                }
                if known ? !wants(name) : type != UInt8(DT_UNKNOWN) { continue }
                var st = stat()
                var cName = name.map { CChar(bitPattern: $0) }
                cName.append(0)
                guard fstatat(dirfd, cName, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    // Vanished between readdir and stat: fine.
                    if errno != ENOENT { onError(LocalFSError("lstat", path: FilePath.display(join(dir, name)), errno: errno)) }
                    continue
                }
                let status = FileStatus(st)
                switch status.kind {
                case .directory: if descend(name) { stack.append(join(dir, name)) }
                case .regular: if known || wants(name) { visit(dir, name, status) }
                case .symlink, .other: continue
                }
            }
        }
        return true
    }

    /// `directory/name` as bytes.
    public static func join(_ directory: [UInt8], _ name: [UInt8]) -> [UInt8] {
        var bytes = directory
        if bytes.last != 47 { bytes.append(47) }
        bytes += name
        return bytes
    }
}
