import CSystemd

#if canImport(Glibc)
    import Glibc
#endif

/// Tells the service manager about our state (`sd_notify(3)`): READY, STATUS, WATCHDOG,
/// RELOADING, STOPPING, EXTEND_TIMEOUT_USEC.
///
/// `SystemdNotifier()` reads `NOTIFY_SOCKET` once: when it is unset every call is a cheap no-op;
/// when it is set, messages go through libsystemd's `sd_notify`. `SystemdNotifier(socketPath:)`
/// sends datagrams to the given socket itself (same wire format as `sd_notify`: one
/// `SOCK_DGRAM` message of newline-separated `KEY=value` lines), so tests need not touch the
/// process-wide environment.
///
/// - Important: a send is one `sendmsg(2)` on a local datagram socket: it does not wait on the
///   network and is safe to call from async code.
public struct SystemdNotifier: Sendable {
    enum Backend: Sendable, Equatable {
        case disabled
        case libsystemd
        case socket(String)
    }

    /// The outcome of one notification.
    public enum Outcome: Sendable, Equatable {
        case sent
        /// No notification socket: not running under systemd (or `Type=` is not `notify`).
        case disabled
        /// The send failed with this errno.
        case failed(errno: Int32)
    }

    let backend: Backend

    /// The watchdog interval systemd expects pings within (`WatchdogSec=`), or nil when the
    /// watchdog is off for this process. Ping at half of it.
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the environment.
    public init() {
        if let socket = getenv("NOTIFY_SOCKET"), socket.pointee != 0 {
            backend = .libsystemd
        } else {
            backend = .disabled
        }
        var usec: UInt64 = 0
        let enabled = sd_watchdog_enabled(0, &usec)
        watchdogInterval = enabled > 0 ? Self.duration(usec: usec) : nil
    }

    /// Sends to the datagram socket at `socketPath` (a path, or `@name` for the abstract
    /// namespace), ignoring the environment. For tests and for callers that manage the socket.
    public init(socketPath: String, watchdogInterval: Duration? = nil) {
        backend = socketPath.isEmpty ? .disabled : .socket(socketPath)
        self.watchdogInterval = watchdogInterval
    }

    /// A notifier that never sends.
    public static let disabled = SystemdNotifier(socketPath: "")

    /// Whether notifications go anywhere.
    public var isEnabled: Bool { backend != .disabled }

    /// `READY=1`: start-up (or a reload) has finished.
    @discardableResult public func ready() -> Outcome { send("READY=1") }

    /// `STATUS=<line>`: shown by `systemctl status`. Newlines and other control characters
    /// become spaces; the text is cut at 1024 bytes.
    @discardableResult public func status(_ line: String) -> Outcome {
        send("STATUS=" + Self.oneLine(line))
    }

    /// `WATCHDOG=1`: we are alive.
    @discardableResult public func watchdog() -> Outcome { send("WATCHDOG=1") }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (now, `CLOCK_MONOTONIC`). Send ``ready()`` when done.
    @discardableResult public func reloading() -> Outcome {
        send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// `STOPPING=1`: shutdown has begun.
    @discardableResult public func stopping() -> Outcome { send("STOPPING=1") }

    /// `EXTEND_TIMEOUT_USEC=<usec>`: the current start/stop step needs this much longer.
    @discardableResult public func extendTimeout(usec: UInt64) -> Outcome {
        send("EXTEND_TIMEOUT_USEC=\(usec)")
    }

    /// Sends raw newline-separated `KEY=value` assignments.
    @discardableResult public func send(_ state: String) -> Outcome {
        switch backend {
        case .disabled:
            return .disabled
        case .libsystemd:
            let r = sd_notify(0, state)
            if r > 0 { return .sent }
            return r == 0 ? .disabled : .failed(errno: -r)
        case .socket(let path):
            return Self.sendDatagram(state, to: path)
        }
    }

    // MARK: - Helpers

    static func duration(usec: UInt64) -> Duration {
        .microseconds(Int64(clamping: usec))
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    /// One line of at most 1024 UTF-8 bytes, cut at a character boundary.
    static func oneLine(_ text: String) -> String {
        var out = ""
        var bytes = 0
        for ch in text {
            let c: Character = ch.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{2028}" || $0 == "\u{2029}" } ? " " : ch
            let n = c.utf8.count
            if bytes + n > 1024 { break }
            out.append(c)
            bytes += n
        }
        return out
    }

    static func sendDatagram(_ message: String, to path: String) -> Outcome {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity || (abstract && pathBytes.count <= capacity) else {
            return .failed(errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count + (abstract ? 0 : 1))

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed(errno: errno) }
        defer { close(fd) }
        var payload = Array(message.utf8)
        let sent = payload.withUnsafeMutableBytes { raw -> Int in
            withUnsafePointer(to: &addr) { ap in
                ap.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    var result: Int
                    repeat {
                        result = sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), sa, length)
                    } while result < 0 && errno == EINTR
                    return result
                }
            }
        }
        return sent < 0 ? .failed(errno: errno) : .sent
    }
}
