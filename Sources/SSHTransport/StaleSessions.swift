import Foundation
import Glibc
import Hashing
import Logging
import MediaSync
import SystemPackage

/// An earlier run that was killed (kill -9 outside systemd, a crash) leaves its ssh ControlMaster
/// running: it sits in its own session, and keeps delivering the rest of the stream that was
/// buffered for it. If the next run removed the journaled temp names first, the old stream would
/// then create temp files nobody remembers. So a new connection first stops every earlier master
/// of this instance (found by its control socket's name), and on the NAS ends the data sessions
/// they started (pid files journaled with the temps) before removing the temps.
extension NASDestination {
    /// Control sockets are `cm-<tag>-<pid>-<n>`: the tag (instance and destination) finds this
    /// destination's sockets, the pid tells whether their owner still runs. At most
    /// 8 + 1 + 7 + 1 + 6 = 23 bytes, plus the 17 ssh appends while binding: within
    /// ConfigLoader.controlSocketNameBytes.
    var controlSocketPrefix: String {
        "cm-" + String(SHA256Hasher.hash(Array("\(instanceID)/\(name)".utf8)).hex.prefix(8)) + "-"
    }

    func controlPath(connection n: Int) -> String {
        "\(runtimeDirectory)/\(controlSocketPrefix)\(getpid())-\(String(n, radix: 36))"
    }

    /// Stops the masters of earlier runs whose process is gone (`ssh -O exit` through their
    /// socket; sessions they carry end with them) and removes their sockets, so none pile up.
    /// Masters of a live process (a daemon beside `verify`) are left alone.
    func stopStaleMasters(logger: Logger) async {
        let prefix = controlSocketPrefix
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: runtimeDirectory) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let socket = "\(runtimeDirectory)/\(entry)"
            // ssh binds "<path>.<random>" and renames it: a leftover of that is never a live socket.
            let fields = entry.dropFirst(prefix.count).split(separator: "-")
            guard fields.count == 2, let owner = pid_t(fields[0]), !entry.contains(".") else {
                _ = unlink(socket)
                continue
            }
            if owner == getpid() || kill(owner, 0) == 0 || errno == EPERM { continue }
            var arguments = sshArguments(controlPath: socket, master: false)
            arguments.insert(contentsOf: ["-O", "exit"], at: arguments.count - 3) // before "-T -- host"
            if let process = try? await SSHProcess.spawn(executable: config.sshCommand, arguments: arguments, wantsStdin: false) {
                let watchdog = Task {
                    try await Task.sleep(for: .seconds(max(1, config.connectTimeoutSeconds)))
                    process.terminate()
                }
                let status = await process.wait()
                watchdog.cancel()
                if status == 0 {
                    logger.notice("stopped the ssh connection of an earlier run (pid \(owner)) that was still open")
                }
            }
            // The master removes its socket when it exits; a dead master's socket stays: remove it.
            _ = unlink(socket)
        }
    }
}

extension NASSession {
    /// Names `<prefix><instance>.session-<unique>` in the base folder: a "." right after the
    /// instance, where temp names have a "-", so the two are never confused. The file holds the
    /// pid of the session's receiver, its process group and its start time.
    func newSessionFileName() -> [UInt8] { sessionFilePrefix + Array(uniqueName().utf8) }

    var sessionFilePrefix: [UInt8] { Array("\(destination.integrity.tempPrefix)\(destination.instanceID).session-".utf8) }

    /// (By its name relative to the base: `absolute([])` would not do, FilePath drops its
    /// trailing "/", and no session file ever matched: `es` was never sent.)
    func isSessionFile(_ path: FilePath) -> Bool {
        guard let name = relative(path) else { return false }
        return !name.contains(UInt8(ascii: "/"))
            && name.starts(with: sessionFilePrefix)
    }
}
