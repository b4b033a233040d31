import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Chooses and installs the process's swift-log handler, once.
public enum LoggingBootstrap {
    /// Where log lines go.
    public enum Destination: Sendable, Equatable {
        /// Structured entries through `sd_journal_sendv` (``JournaldLogHandler``).
        case journald
        /// One line per message on stderr (``StderrLogHandler``).
        case stderr
    }

    private static let done = Mutex<Destination?>(nil)

    /// Installs the handler for this process: journald when our stderr is the journal stream
    /// systemd gave us (`JOURNAL_STREAM`), stderr otherwise.
    ///
    /// `LoggingSystem.bootstrap` may run only once per process; later calls here do nothing and
    /// return the destination chosen first.
    /// - Returns: the destination in use.
    @discardableResult
    public static func bootstrap(level: Logger.Level) -> Destination {
        done.withLock { chosen in
            if let chosen { return chosen }
            let destination = destination(
                journalStream: getenv("JOURNAL_STREAM").map { String(cString: $0) },
                stderrIdentity: stderrIdentity())
            LoggingSystem.bootstrap { label in
                switch destination {
                case .journald: JournaldLogHandler(label: label, logLevel: level)
                case .stderr: StderrLogHandler(label: label, logLevel: level)
                }
            }
            chosen = destination
            return destination
        }
    }

    /// The choice, as a pure function.
    ///
    /// systemd sets `JOURNAL_STREAM=<device>:<inode>` when stdout or stderr is connected to the
    /// journal (`sd_journal_sendv` itself reports success even with no journald, so it cannot
    /// tell). As systemd.exec(5) recommends, the variable counts only when it matches stderr, so a
    /// child that inherited it but had its stderr redirected (to a file, a pipe) keeps logging
    /// there. When stderr's identity is unknown, a well-formed variable is trusted.
    public static func destination(
        journalStream: String?,
        stderrIdentity: (device: UInt64, inode: UInt64)?
    ) -> Destination {
        guard let journalStream, !journalStream.isEmpty else { return .stderr }
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return .stderr }
        guard let stderrIdentity else { return .journald }
        return stderrIdentity.device == dev && stderrIdentity.inode == ino ? .journald : .stderr
    }

    static func stderrIdentity() -> (device: UInt64, inode: UInt64)? {
        var st = stat()
        guard fstat(STDERR_FILENO, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }
}
