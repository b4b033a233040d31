import CLinux
import Foundation
import Glibc
import Synchronization
import SystemPackage

/// Recursive inotify watch of the media roots: reports when a file is closed after writing or
/// moved in anywhere below them (new sub-folders are watched as they appear). One thread blocks in
/// poll(2) on the inotify descriptor and a stop eventfd, so an idle watch costs no CPU. Hidden
/// folders (the trash among them) are not watched: the scan skips them too.
public final class DirectoryWatcher: Sendable {
    public enum Activity: Sendable, Equatable {
        /// Files were written or moved in (or the kernel's queue overflowed: something happened).
        case changed
        /// fs.inotify.max_user_watches is reached: folders from here on are not watched.
        case limitReached(folder: String)
        /// A root could not be watched (missing, unreadable).
        case failed(folder: String, errno: Int32)
    }

    /// The two descriptors, closed when both the watcher and its thread are done with them (a
    /// number closed early could be reused by another open and get our wake-up write).
    private final class Descriptors: Sendable {
        let inotify: Int32, wake: Int32
        init(inotify: Int32, wake: Int32) {
            self.inotify = inotify
            self.wake = wake
        }
        deinit {
            close(inotify)
            close(wake)
        }
    }

    private let descriptors: Descriptors
    private let stopped = Atomic<Bool>(false)

    static let fileMask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)
    static let mask = fileMask | UInt32(IN_CREATE) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)

    /// Starts watching `roots`; `report` is called on the watcher's thread.
    public init(roots: [FilePath], report: @escaping @Sendable (Activity) -> Void) throws(LocalFSError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw LocalFSError("inotify_init1", path: "", errno: errno) }
        let wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wakeFD >= 0 else {
            let e = errno
            close(fd)
            throw LocalFSError("eventfd", path: "", errno: e)
        }
        let descriptors = Descriptors(inotify: fd, wake: wakeFD)
        self.descriptors = descriptors
        let thread = Thread {
            let (inotify, wake) = (descriptors.inotify, descriptors.wake)
            var folders: [Int32: [UInt8]] = [:]
            var full = false
            func watch(_ folder: [UInt8]) {
                guard !full else { return }
                let wd = (folder + [0]).withUnsafeBufferPointer {
                    inotify_add_watch(inotify, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Self.mask | UInt32(IN_ONLYDIR))
                }
                if wd < 0 {
                    if errno == ENOSPC {
                        full = true
                        report(.limitReached(folder: String(decoding: folder, as: UTF8.self)))
                    } else if folders.isEmpty || roots.contains(where: { $0.bytes == folder }) {
                        report(.failed(folder: String(decoding: folder, as: UTF8.self), errno: errno))
                    }
                    return
                }
                folders[wd] = folder
                for name in Self.subfolders(folder) { watch(folder + [UInt8(ascii: "/")] + name) }
            }
            for root in roots { watch(root.bytes) }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            while true {
                let ready = poll(&fds, 2, -1)
                if ready < 0 { if errno == EINTR { continue } else { break } }
                if fds[1].revents != 0 { break }
                let n = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
                if n <= 0 { if n < 0, errno == EAGAIN || errno == EINTR { continue } else { break } }
                var changed = false
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                        let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        return (e.wd, e.mask, Int(e.len))
                    }
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    let name = Array(buffer[nameStart..<min(n, nameStart + length)].prefix { $0 != 0 })
                    offset = nameStart + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        changed = true
                        continue
                    }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        folders[wd] = nil
                        continue
                    }
                    guard let folder = folders[wd], !name.isEmpty else { continue }
                    if mask & UInt32(IN_ISDIR) != 0 {
                        // A new folder (made here, or moved in with its files): watch it and
                        // what it holds, and look at it now.
                        if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0, name.first != UInt8(ascii: ".") {
                            watch(folder + [UInt8(ascii: "/")] + name)
                            changed = true
                        }
                    } else if mask & Self.fileMask != 0, name.first != UInt8(ascii: ".") {
                        changed = true
                    }
                }
                if changed { report(.changed) }
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Ends the thread and closes the descriptors (idempotent).
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = write(descriptors.wake, &one, 8)
    }

    deinit { stop() }

    /// Names of the non-hidden sub-folders of `folder` (d_type, or lstat where the file system
    /// does not fill it in).
    static func subfolders(_ folder: [UInt8]) -> [[UInt8]] {
        guard let dir = (folder + [0]).withUnsafeBufferPointer({ opendir(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }) else { return [] }
        defer { closedir(dir) }
        var out: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            guard !name.isEmpty, name.first != UInt8(ascii: ".") else { continue }
            var isFolder = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var st = stat()
                let path = folder + [UInt8(ascii: "/")] + name + [0]
                isFolder =
                    path.withUnsafeBufferPointer { lstat(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &st) } == 0
                    && (st.st_mode & S_IFMT) == S_IFDIR
            }
            if isFolder { out.append(name) }
        }
        return out
    }
}
