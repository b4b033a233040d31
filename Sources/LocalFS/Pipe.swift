import CLinux
import Glibc
import SystemPackage

/// A pipe whose ends are close-on-exec (so no other child inherits them and EOF arrives when it
/// should); the child's end is handed over with dup2 by the spawner.
public struct PipeEnds: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    /// `capacity` raises the kernel buffer (F_SETPIPE_SZ) to cut context switches on bulk data.
    public init(capacity: Int? = nil) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, O_CLOEXEC) == 0 else { throw LocalFSError("pipe2", path: "-", errno: errno) }
        readEnd = fds[0]
        writeEnd = fds[1]
        if let capacity { _ = fcntl(writeEnd, F_SETPIPE_SZ, Int32(capacity)) }
    }

    public static func close(_ fd: Int32) { if fd >= 0 { _ = Glibc.close(fd) } }
}

/// Reads a descriptor to its end on the calling (blocking) thread, keeping at most `limit` bytes
/// from the end (for stderr tails) or everything (limit nil).
public func readToEnd(_ fd: Int32, tailLimit: Int? = nil) -> [UInt8] {
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out += chunk[..<n]
        if let tailLimit, out.count > 2 * tailLimit { out.removeFirst(out.count - tailLimit) }
    }
    if let tailLimit, out.count > tailLimit { out.removeFirst(out.count - tailLimit) }
    return out
}
