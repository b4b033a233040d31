import Foundation
import Glibc
import LocalFS
import Subprocess
import Synchronization
import SystemPackage

/// One `ssh` child with pipes we own: stdin (optional) and stdout as raw descriptors for
/// blocking I/O on dedicated threads, stderr drained continuously into a bounded tail (so a
/// chatty remote can never block us, and errors carry the last lines).
final class SSHProcess: Sendable {
    let pid: pid_t
    /// Our end of the child's stdin, or -1.
    private let stdinFD: Mutex<Int32>
    /// Our end of the child's stdout.
    let stdoutFD: Int32
    private let stderrTask: Mutex<Task<[UInt8], Never>?>
    private let exited: Mutex<Bool>
    private let termination: Task<TerminationStatus, any Error>
    let commandLine: String

    private init(pid: pid_t, stdinFD: Int32, stdoutFD: Int32, termination: Task<TerminationStatus, any Error>, commandLine: String) {
        self.pid = pid
        self.stdinFD = Mutex(stdinFD)
        self.stdoutFD = stdoutFD
        self.termination = termination
        self.commandLine = commandLine
        stderrTask = Mutex(nil)
        exited = Mutex(false)
    }

    deinit {
        stdinFD.withLock { PipeEnds.close($0) }
        PipeEnds.close(stdoutFD)
    }

    static func spawn(executable: String, arguments: [String], wantsStdin: Bool) async throws -> SSHProcess {
        let stdinPipe = wantsStdin ? try PipeEnds(capacity: 1 << 20) : nil
        let stdoutPipe = try PipeEnds()
        let stderrPipe = try PipeEnds()
        var options = PlatformOptions()
        // Own session: a Ctrl-C on the terminal reaches us, not ssh, so we can clean up first.
        options.createSession = true
        let exe = ExecutableLookup.executable(executable)
        let (pidStream, pidContinuation) = AsyncStream<pid_t>.makeStream()
        let input: FileDescriptorInput
        if let stdinPipe {
            input = .fileDescriptor(FileDescriptor(rawValue: stdinPipe.readEnd), closeAfterSpawningProcess: true)
        } else {
            input = .fileDescriptor(try FileDescriptor.open("/dev/null", .readOnly, options: [.closeOnExec]), closeAfterSpawningProcess: true)
        }
        let output = FileDescriptorOutput.fileDescriptor(FileDescriptor(rawValue: stdoutPipe.writeEnd), closeAfterSpawningProcess: true)
        let error = FileDescriptorOutput.fileDescriptor(FileDescriptor(rawValue: stderrPipe.writeEnd), closeAfterSpawningProcess: true)
        let config = Subprocess.Configuration(executable: exe, arguments: Arguments(arguments), platformOptions: options)
        let task = Task<TerminationStatus, any Error> {
            do {
                let result = try await Subprocess.run(config, input: input, output: output, error: error) { execution in
                    pidContinuation.yield(execution.processIdentifier.value)
                    pidContinuation.finish()
                }
                return result.terminationStatus
            } catch {
                pidContinuation.finish()
                throw error
            }
        }
        var pid: pid_t?
        for await p in pidStream { pid = p }
        guard let pid else {
            PipeEnds.close(stdinPipe?.writeEnd ?? -1)
            PipeEnds.close(stdoutPipe.readEnd)
            PipeEnds.close(stderrPipe.readEnd)
            _ = try await task.value
            throw DestinationSpawnError(message: "could not start \(executable)")
        }
        let process = SSHProcess(
            pid: pid, stdinFD: stdinPipe?.writeEnd ?? -1, stdoutFD: stdoutPipe.readEnd,
            termination: task, commandLine: ([executable] + arguments).joined(separator: " "))
        let stderrRead = stderrPipe.readEnd
        let drain = Task<[UInt8], Never> {
            (try? await runBlocking {
                defer { PipeEnds.close(stderrRead) }
                return readToEnd(stderrRead, tailLimit: 4096)
            }) ?? []
        }
        process.stderrTask.withLock { $0 = drain }
        return process
    }

    /// Our write end of the child's stdin (-1 once closed).
    var stdin: Int32 { stdinFD.withLock { $0 } }

    func closeStdin() {
        stdinFD.withLock { fd in
            PipeEnds.close(fd)
            fd = -1
        }
    }

    /// The last 4 KiB of stderr; complete once the child has exited.
    func stderrTail() async -> String {
        guard let task = stderrTask.withLock({ $0 }) else { return "" }
        let bytes = await task.value
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the child and everything in its session: TERM, and KILL if it is still there after
    /// `grace`.
    func terminate(grace: Duration = .seconds(2)) {
        guard !exited.withLock({ $0 }) else { return }
        _ = kill(-pid, SIGTERM)
        _ = kill(pid, SIGTERM)
        let pid = self.pid
        Task { [self] in
            try? await Task.sleep(for: grace)
            if !exited.withLock({ $0 }) {
                _ = kill(-pid, SIGKILL)
                _ = kill(pid, SIGKILL)
            }
        }
    }

    /// Exit code (or 128 + signal), after the child has exited and stderr is drained.
    func wait() async -> Int32 {
        let status: TerminationStatus
        do { status = try await termination.value } catch {
            exited.withLock { $0 = true }
            return -1
        }
        exited.withLock { $0 = true }
        switch status {
        case let .exited(code): return code
        case let .signaled(signal): return 128 + signal
        }
    }
}

struct DestinationSpawnError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
