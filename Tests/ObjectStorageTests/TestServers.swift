import Foundation
import Glibc
import Subprocess
import Synchronization
import SystemPackage
import TestSupport

/// A TCP listener on 127.0.0.1 that never answers: connections complete (the kernel's backlog)
/// and then stall. For timeouts and cancellation.
final class SilentServer: Sendable {
    let port: Int
    private let listener: Int32
    private let accepted = Mutex<[Int32]>([])

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestSupportError("bind/listen: errno \(errno)")
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw TestSupportError("getsockname: errno \(errno)")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(listener)
        for fd in accepted.withLock({ $0 }) { close(fd) }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Accepts a pending connection if there is one (and keeps it open, silent); true if it did.
    func acceptPending() -> Bool {
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { return false }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        accepted.withLock { $0.append(fd) }
        return true
    }
}

/// `openssl s_server -www` with a fresh self-signed certificate for IP 127.0.0.1: a real TLS peer.
struct TLSTestServer: Sendable {
    let port: Int
    let pid: Int32
    /// The server's certificate (PEM): trusting it makes verification pass.
    let certificatePath: String
    let directory: TemporaryDirectory

    static func start() async throws -> TLSTestServer {
        let directory = try TemporaryDirectory(prefix: "dms-tls")
        let cert = directory.path + "/cert.pem", key = directory.path + "/key.pem", log = directory.path + "/server.log"
        let made = try await Subprocess.run(
            .name("openssl"),
            arguments: [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1"
            ],
            output: .discarded, error: .string(limit: 1 << 16))
        guard made.terminationStatus.isSuccess else { throw TestSupportError("openssl req failed: \(made.standardError)") }
        // In the background, its output in a file (so that nothing waits for a pipe to close).
        let started = try await Subprocess.run(
            .name("bash"),
            arguments: [
                "-c",
                "openssl s_server -accept 127.0.0.1:0 -cert \"$1\" -key \"$2\" -www -naccept 1000 "
                    + "</dev/null >\"$3\" 2>&1 & echo $!", "bash", cert, key, log
            ],
            output: .string(limit: 4096), error: .string(limit: 4096))
        guard started.terminationStatus.isSuccess, let pid = Int32(started.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSupportError("starting openssl s_server failed: \(started.standardError)")
        }
        var port: Int?
        try await waitUntil(timeout: .seconds(10), waitingFor: "openssl s_server to print its port") {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            port = text.split(separator: "\n").first { $0.hasPrefix("ACCEPT ") }
                .flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
            return port != nil
        }
        return TLSTestServer(port: port!, pid: pid, certificatePath: cert, directory: directory)
    }

    func stop() throws {
        kill(pid, SIGKILL)
        try directory.remove()
    }
}
