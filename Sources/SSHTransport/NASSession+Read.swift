import Configuration
import LocalFS
import MediaSync
import SystemPackage

extension NASDestination {
    public func relativeRemotePath(_ remotePath: FilePath) -> [UInt8]? {
        RemoteProtocol.relative(remotePath, base: config.basePath)
    }
}

/// `restore` over one read session: every `get` goes out on the session's standard input, and
/// the receiver answers each with a framed file (`@@F <size>` and the bytes, or `@@M`) on one ssh
/// stream, however many files. Names travel as protocol fields, never on a command line.
extension NASSession {
    func fetch(_ copies: [RemoteCopy], into sink: any RestoreSink) async throws(DestinationError) {
        var requested: [Int] = []
        var requests: [UInt8] = []
        for (i, copy) in copies.enumerated() {
            guard let relative = RemoteProtocol.relative(copy.remotePath, base: destination.config.basePath) else {
                sink.finished(
                    i,
                    error: DestinationError(
                        .permanent, "not below base_path \(destination.config.basePath)",
                        remotePath: copy.remotePath.displayString))
                continue
            }
            requested.append(i)
            requests += RemoteProtocol.get(relative)
        }
        guard !requested.isEmpty else { return }
        requests += RemoteProtocol.dataEnd
        let command = ReceiverScript.remoteCommand(.read, nas: destination.config, integrity: destination.integrity)
        let process = try await spawnSession(command)
        let key = Int(process.pid)
        live.withLock { $0[key] = process }
        defer { _ = live.withLock { $0.removeValue(forKey: key) } }

        let stall = self.stall, stdinFD = process.stdin, stdoutFD = process.stdoutFD
        // Requests and answers flow at once: the receiver answers while it still reads requests.
        async let sent: DestinationError? = {
            do {
                return try await runBlocking { [requests] () -> DestinationError? in
                    BlockingIO.setNonBlocking(stdinFD)
                    do throws(DestinationError) {
                        try BlockingIO.writeAll(stdinFD, requests, stall: stall, what: "sending restore requests")
                    } catch { return error }
                    return nil
                }
            } catch { return DestinationError(.transient, "\(error)") }
        }()
        let received: DestinationError? = await withTaskCancellationHandler {
            do {
                return try await runBlocking { [requested] () -> DestinationError? in
                    let reader = LineReader(fd: stdoutFD)
                    do throws(DestinationError) {
                        for i in requested {
                            let what = "reading \(copies[i].remotePath.displayString)"
                            guard let line = try reader.nextLine(stall: stall, what: what) else {
                                return DestinationError(.transient, "\(what): the NAS ended the stream early")
                            }
                            switch RemoteProtocol.readReply(line) {
                            case let .file(size)?:
                                try reader.read(exactly: size, stall: stall, what: what) { sink.receive(i, $0) }
                                sink.finished(i, error: nil)
                            case .missing?:
                                sink.finished(
                                    i,
                                    error: DestinationError(
                                        .permanent, "missing on the NAS, or not a regular file",
                                        remotePath: copies[i].remotePath.displayString))
                            case nil:
                                return DestinationError(.permanent, "\(what): unexpected answer \(String(decoding: line.prefix(200), as: UTF8.self))")
                            }
                        }
                    } catch { return error }
                    return nil
                }
            } catch { return DestinationError(.transient, "\(error)") }
        } onCancel: {
            process.terminate(grace: .milliseconds(500))
        }
        let sendError = await sent
        process.closeStdin()
        if received != nil { process.terminate(grace: .milliseconds(500)) }
        let status = await process.wait()
        let stderr = await process.stderrTail()
        if Task.isCancelled { throw DestinationError(.cancelled, "stopped while restoring") }
        if let error = received ?? sendError {
            if error.kind == .timeout { throw error }
            var classified = SSHErrors.classify(stderr, exitStatus: status, context: error.message)
            if status == 0 || status == 3 {
                classified = error
                classified.stderrTail = stderr.isEmpty ? nil : String(stderr.suffix(600))
            }
            throw classified
        }
    }
}
