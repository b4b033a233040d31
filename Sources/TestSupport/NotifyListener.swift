import Glibc

/// A real `AF_UNIX SOCK_DGRAM` socket bound in a fresh temp dir, standing in for systemd's
/// notification socket. `receive(within:)` waits with poll(2) up to a deadline.
public final class NotifyListener: Sendable {
    public let directory: String
    public let path: String
    private let fd: Int32

    public init() throws {
        var template = Array("/tmp/dms-notify-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw ListenerError.syscall("mkdtemp", errno) }
        directory = String(cString: dir)
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenerError.syscall("socket", errno) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ListenerError.syscall("bind", e)
        }
    }

    deinit {
        close(fd)
        unlink(path)
        rmdir(directory)
    }

    /// The next datagram, or nil when none arrives before the deadline.
    public func receive(within timeout: Duration = .seconds(5)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = max(.zero, deadline - ContinuousClock.now)
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = left == .zero ? 0 : Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&pfd, 1, ms)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else {
                if ContinuousClock.now >= deadline { return nil } else { continue }
            }
            var buffer = [UInt8](repeating: 0, count: 8192)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 { if errno == EAGAIN || errno == EINTR { continue } else { return nil } }
            return String(decoding: buffer[..<n], as: UTF8.self)
        }
    }

    /// The next datagram, or nil when none arrives before the deadline; for async tests: it
    /// never blocks a thread of the cooperative pool (2 threads on a 2-core machine), which the
    /// task under test needs.
    public func receiveAsync(within timeout: Duration = .seconds(5)) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let message = receive(within: .zero) { return message }
            if ContinuousClock.now >= deadline || Task.isCancelled { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

public enum ListenerError: Error {
    case syscall(String, Int32)
}
