import Foundation
import Glibc
import SystemPackage

extension LocalFS {
    /// Waits for a name to appear in a folder (created, linked or renamed into it) with an inotify
    /// watch on the folder, added before the first look so that no appearance is missed.
    ///
    /// Returns true once `path` exists; false after `timeout`, when the task is cancelled, or when
    /// the folder cannot be watched (and the name is not there yet). The blocking wait runs on a
    /// thread of its own; it wakes at least every 20 ms to see a cancellation.
    public static func waitUntilExists(_ path: FilePath, timeout: Duration) async -> Bool {
        let bytes = path.bytes
        let folder = path.removingLastComponent().bytes
        return
            (try? await cancellableBlocking { stop in
                pathWait(bytes, folder: folder.isEmpty ? [UInt8(ascii: ".")] : folder, timeout: timeout, stop: stop)
            }) ?? false
    }
}

private func pathWait(_ path: [UInt8], folder: [UInt8], timeout: Duration, stop: StopFlag) -> Bool {
    func exists() -> Bool {
        (path + [0]).withUnsafeBufferPointer { access(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), F_OK) } == 0
    }
    let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    guard fd >= 0 else { return exists() }
    defer { close(fd) }
    let wd = (folder + [0]).withUnsafeBufferPointer {
        inotify_add_watch(fd, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_ONLYDIR))
    }
    guard wd >= 0 else { return exists() }
    let deadline = ContinuousClock.now + timeout
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        if exists() { return true }
        if stop.isSet || ContinuousClock.now >= deadline { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 20) > 0 {
            // Any event in the folder: look again (the events themselves need no parsing).
            _ = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        }
    }
}
