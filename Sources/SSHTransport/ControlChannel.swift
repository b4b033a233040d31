import Foundation
import LocalFS
import MediaSync
import Synchronization

/// The persistent control connection: one `ssh` (the ControlMaster for this session) running
/// dms-receive's control session on the NAS. Requests are serialized; each is RemoteProtocol
/// lines followed by an `end` line, and its answer is the lines printed before the end marker.
final class ControlChannel: Sendable {
    let process: SSHProcess
    /// Guards the reader and the request sequence; held only on blocking threads.
    private let state: Mutex<State>

    struct State: ~Copyable {
        var reader: LineReader
        var sequence = 0
    }

    /// Called for every line the NAS sends: long remote work (hashing big files) is progress.
    let heartbeat: @Sendable () -> Void

    init(process: SSHProcess, heartbeat: @escaping @Sendable () -> Void = {}) {
        self.process = process
        self.heartbeat = heartbeat
        state = Mutex(State(reader: LineReader(fd: process.stdoutFD)))
        BlockingIO.setNonBlocking(process.stdin)
    }

    /// Sends `script` (RemoteProtocol request lines) and returns the lines answered. `stall` bounds how long the NAS may stay
    /// silent; past it the connection is torn down (a hung link must not hang the daemon).
    func request(_ script: [UInt8], stall: Double, what: String) async throws(DestinationError) -> [[UInt8]] {
        let process = self.process
        let result: Result<[[UInt8]], DestinationError>
        do {
            result = try await runBlocking { [self] in
                self.state.withLock { (s: inout State) -> Result<[[UInt8]], DestinationError> in
                    s.sequence += 1
                    let marker = RemoteProtocol.endMarker(s.sequence)
                    let full = script + RemoteProtocol.end(s.sequence)
                    // Write on a helper thread while this one reads, so a long answer can never
                    // deadlock against a long request.
                    let writeError = Mutex<DestinationError?>(nil)
                    let written = DispatchSemaphore(value: 0)
                    let fd = process.stdin
                    let writer = Thread {
                        do { try BlockingIO.writeAll(fd, full, stall: stall, what: what) } catch {
                            let e = (error as? DestinationError) ?? DestinationError(.transient, "\(error)")
                            writeError.withLock { $0 = e }
                        }
                        written.signal()
                    }
                    writer.start()
                    defer { written.wait() }
                    var lines: [[UInt8]] = []
                    do {
                        while let line = try s.reader.nextLine(stall: stall, what: what) {
                            heartbeat()
                            if line == marker { return .success(lines) }
                            if !line.isEmpty { lines.append(line) }
                        }
                    } catch {
                        process.terminate()
                        return .failure((error as? DestinationError) ?? DestinationError(.transient, "\(error)"))
                    }
                    // The remote shell ends itself after a fatal prelude check ("@@ERR ..."): that
                    // line is the answer, not a broken connection.
                    if lines.contains(where: { $0.starts(with: Array("@@ERR".utf8)) }) { return .success(lines) }
                    // The receiver refused a request (logged on the NAS) and ended the session.
                    if let refusal = lines.last(where: { $0.starts(with: Array("@@REFUSED ".utf8)) }) {
                        return .failure(
                            DestinationError(
                                .misconfigured,
                                "\(what): the NAS receiver refused the request (\(String(decoding: refusal.dropFirst(10).prefix(200), as: UTF8.self))); see its log on the NAS"))
                    }
                    if let e = writeError.withLock({ $0 }) { return .failure(e) }
                    return .failure(DestinationError(.unreachable, "\(what): the connection to the NAS closed", exitStatus: nil))
                }
            }
        } catch {
            throw DestinationError(.transient, "\(what): \(error)")
        }
        switch result {
        case let .success(lines): return lines
        case var .failure(error):
            if error.stderrTail == nil, error.kind == .unreachable || error.kind == .transient {
                // The ssh process is ending: its stderr says why (host key, auth, network).
                let status = await process.wait()
                let tail = await process.stderrTail()
                error = SSHErrors.classify(tail, exitStatus: status, context: error.message)
            }
            throw error
        }
    }

    /// Ends the connection. Every request was answered, so the master is stopped at once rather
    /// than after the NAS acknowledges the end of the session: one round trip less per cycle on a
    /// slow link. (On SIGTERM ssh still removes its control socket; the receiver reads EOF.)
    func close() async {
        process.closeStdin()
        process.terminate()
        _ = await process.wait()
    }
}

enum SSHErrors {
    /// The signal number when `exitStatus` is 128 + a signal (SSHProcess.wait's convention, and
    /// the shell's for a command killed by one).
    static func killedBySignal(_ exitStatus: Int32) -> Int32? {
        (129...(128 + 64)).contains(exitStatus) ? exitStatus - 128 : nil
    }

    /// Turns ssh's exit status and stderr into an error kind an operator can act on.
    static func classify(_ stderr: String, exitStatus: Int32, context: String) -> DestinationError {
        let s = stderr.lowercased()
        let kind: DestinationError.Kind
        if s.contains("host key verification failed") || s.contains("remote host identification has changed")
            || s.contains("no matching host key") || s.contains("host key for")
        {
            kind = .hostKey
        } else if s.contains("permission denied (publickey") || s.contains("too many authentication failures") {
            kind = .authentication
        } else if s.contains("no space left") || s.contains("disk quota exceeded") {
            kind = .destinationFull
        } else if s.contains("connection refused") || s.contains("timed out") || s.contains("no route to host")
            || s.contains("could not resolve") || s.contains("network is unreachable") || s.contains("connection reset")
            || s.contains("broken pipe") || s.contains("connection closed") || exitStatus == 255
            || killedBySignal(exitStatus) != nil
        {
            // 255: ssh's own failure, or the remote command died of a signal. 128 + n: ssh (or the
            // remote shell's command) was killed, e.g. by the OOM killer: the session is lost, which
            // says nothing about the file it carried.
            kind = .unreachable
        } else if s.contains("permission denied") || s.contains("file name too long") || s.contains("not a directory")
            || s.contains("read-only file system")
        {
            kind = .permanent
        } else {
            kind = .transient
        }
        var hint: String =
            switch kind {
            case .hostKey: " — the NAS's host key is not the one in known_hosts_file; check it before trusting it"
            case .authentication: " — the NAS refused the key in identity_file"
            case .destinationFull: " — the NAS is full"
            default: ""
            }
        if kind == .unreachable, let signal = killedBySignal(exitStatus) { hint += " — the session was ended by signal \(signal)" }
        return DestinationError(kind, context + hint, exitStatus: exitStatus, stderrTail: stderr.isEmpty ? nil : String(stderr.suffix(600)))
    }
}
