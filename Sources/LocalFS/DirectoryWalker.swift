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
        var stack: [FilePath] = [root]
        while let dir = stack.popLast() {
            guard let handle = dir.withPlatformString({ opendir($0) }) else {
                onError(LocalFSError("opendir", path: dir, errno: errno))
                continue
            }
            defer { closedir(handle) }
            let dirBytes = dir.bytes
            while true {
                errno = 0
                guard let entry = readdir(handle) else {
                    if errno != 0 { onError(LocalFSError("readdir", path: dir, errno: errno)) }
                    break
                }
                let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    Array(raw.prefix(while: { $0 != 0 }))
                }
                if name == [46] || name == [46, 46] { continue }
                var childBytes = dirBytes
                if childBytes.last != 47 { childBytes.append(47) }
                childBytes += name
                let child = FilePath(bytes: childBytes)
                let status: FileStatus
                do { status = try LocalFS.status(child) } catch let error as LocalFSError {
                    if !error.isNotFound { onError(error) }  // vanished between readdir and lstat: fine
                    continue
                } catch { continue }
                switch status.kind {
                case .directory: if descend(name) { stack.append(child) }
                case .regular: visit(Entry(path: child, name: name, status: status))
                case .symlink, .other: continue
                }
            }
        }
    }
}
