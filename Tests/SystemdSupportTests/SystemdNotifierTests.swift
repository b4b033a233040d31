import Glibc
import TestSupport
import Testing

@testable import SystemdSupport

@Suite("SystemdNotifier sends sd_notify datagrams")
struct SystemdNotifierTests {
    @Test("READY, STATUS, WATCHDOG, STOPPING, EXTEND_TIMEOUT arrive as sent")
    func basicMessages() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(socketPath: listener.path)
        #expect(notifier.isEnabled)

        #expect(notifier.ready() == .sent)
        #expect(listener.receive() == "READY=1")
        #expect(notifier.status("scanning /data/dji/media") == .sent)
        #expect(listener.receive() == "STATUS=scanning /data/dji/media")
        #expect(notifier.watchdog() == .sent)
        #expect(listener.receive() == "WATCHDOG=1")
        #expect(notifier.stopping() == .sent)
        #expect(listener.receive() == "STOPPING=1")
        #expect(notifier.extendTimeout(usec: 30_000_000) == .sent)
        #expect(listener.receive() == "EXTEND_TIMEOUT_USEC=30000000")
    }

    @Test("RELOADING=1 carries MONOTONIC_USEC, the CLOCK_MONOTONIC time of sending")
    func reloading() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(socketPath: listener.path)
        let before = SystemdNotifier.monotonicMicroseconds()
        #expect(notifier.reloading() == .sent)
        let after = SystemdNotifier.monotonicMicroseconds()
        let message = try #require(listener.receive())
        let lines = message.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first == "RELOADING=1")
        let usecLine = try #require(lines.last)
        #expect(usecLine.hasPrefix("MONOTONIC_USEC="))
        let usec = try #require(UInt64(usecLine.dropFirst("MONOTONIC_USEC=".count)))
        #expect(before <= usec && usec <= after)
    }

    @Test("STATUS is one line: newlines and control characters become spaces")
    func statusOneLine() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(socketPath: listener.path)
        notifier.status("copying\nREADY=1\r\tfile")
        #expect(listener.receive() == "STATUS=copying READY=1  file")
        #expect(SystemdNotifier.oneLine(String(repeating: "é", count: 600)).utf8.count == 1024)
    }

    @Test("an abstract-namespace socket (@name) is reached too")
    func abstractSocket() throws {
        let name = "dms-notify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: bytes) }
        let len = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        try #require(rc == 0)

        #expect(SystemdNotifier(socketPath: "@" + name).ready() == .sent)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&pfd, 1, 5000) == 1)
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(String(decoding: buffer[..<max(n, 0)], as: UTF8.self) == "READY=1")
    }

    @Test("a missing socket is a reported failure, not a crash")
    func missingSocket() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(socketPath: listener.directory + "/absent.sock")
        #expect(notifier.ready() == .failed(errno: ENOENT))
    }

    @Test("disabled notifier sends nothing and says so")
    func disabled() {
        #expect(!SystemdNotifier.disabled.isEnabled)
        #expect(SystemdNotifier.disabled.ready() == .disabled)
        #expect(SystemdNotifier.disabled.watchdogInterval == nil)
    }

    // The environment is process-wide and other suites run in parallel, so this suite never
    // sets NOTIFY_SOCKET; it only checks the default init against the environment as it is.
    @Test(
        "default init is a no-op without NOTIFY_SOCKET",
        .enabled(if: getenv("NOTIFY_SOCKET") == nil, "the test runner itself runs under a NOTIFY_SOCKET"))
    func defaultInitWithoutSocket() {
        let notifier = SystemdNotifier()
        #expect(!notifier.isEnabled)
        #expect(notifier.ready() == .disabled)
    }

    @Test("watchdog interval comes from the init and microsecond conversion is exact")
    func watchdogInterval() {
        #expect(SystemdNotifier(socketPath: "/x", watchdogInterval: .seconds(120)).watchdogInterval == .seconds(120))
        #expect(SystemdNotifier.duration(usec: 120_000_000) == .seconds(120))
        #expect(SystemdNotifier.duration(usec: 1) == .microseconds(1))
    }
}
