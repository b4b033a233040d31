import ArgumentParser
import CLinux
import Configuration
import Logging
import MediaSync
import Synchronization

@main
struct DJIMediaSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dji-media-sync",
        abstract: "Copies drone media to a NAS over ssh and to S3 object storage, verified with SHA-256, and frees the local disk only when that is certain.",
        discussion: "Every command's exit statuses are in its --help and in docs/operations.md (\"Exit status\").",
        version: BuildInfo.version,
        subcommands: [
            SyncCommand.self, RunCommand.self, StatusCommand.self, PauseCommand.self, ResumeCommand.self, QueueCommand.self, RetentionCommand.self,
            VerifyCommand.self, RestoreCommand.self, ConfigCommand.self, DoctorCommand.self,
            CleanupCommand.self, PresignCommand.self, UploadCommand.self, BucketCommand.self, ObjectCommand.self, URLCommand.self, NASReceiverCommand.self
        ]
    )

    /// Before anything else: glibc gives every thread that contends for malloc an arena of its
    /// own (up to 8 per core), and raises its trim threshold as large blocks are freed (up to 32 MiB
    /// kept). On a dock's small memory that is several MiB for nothing (first sync of 100k files:
    /// 69 MiB peak; 60–62 MiB with 2 arenas and a fixed 128 KiB threshold, at the same speed).
    static func main() async {
        _ = mallopt(dms_m_arena_max, 2)
        _ = mallopt(dms_m_trim_threshold, 128 * 1024)
        await main(nil)
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Path of media_sync_config.json.")
    var config: String = MediaSyncConfig.defaultPath

    @Flag(name: .shortAndLong, help: "Errors only: no progress view, no info lines.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "More detail: -v debug lines, -vv trace lines (overrides logging.level).")
    var verbose: Int

    mutating func validate() throws {
        if quiet && verbose > 0 { throw ValidationError("-q and -v contradict each other: give one") }
        Verbosity.set(quiet ? -1 : min(verbose, 2))
    }
}

/// -q / -v / -vv of the command line, read when logging is set up: -1 quiet, 0 the config's
/// level, 1 debug, 2 trace.
enum Verbosity {
    private static let value = Mutex(0)
    static func set(_ v: Int) { value.withLock { $0 = v } }
    static var current: Int { value.withLock { $0 } }
    static var quiet: Bool { current < 0 }

    static func level(configured: Logger.Level) -> Logger.Level {
        switch current {
        case ..<0: .error
        case 0: configured
        case 1: min(configured, .debug)
        default: .trace
        }
    }
}

/// Exit statuses (sysexits.h where one fits), documented in docs/operations.md ("Exit status").
enum ExitStatus {
    static let ok: Int32 = 0
    static let someFailed: Int32 = 1
    static let failed: Int32 = 2
    /// `sync --once`: nothing failed, but files were left waiting (space, backoff, quarantine).
    static let leftWaiting: Int32 = 4
    /// Stopped by a signal (Ctrl-C 130, SIGTERM 143): the shell convention, 128 + the signal.
    static func cancelled(by signal: Int32) -> Int32 { 128 + signal }
    static let usage: Int32 = 64 // EX_USAGE: what ArgumentParser exits with for a bad argument
    static let lockBusy: Int32 = 75 // EX_TEMPFAIL: another cycle holds the lock
    static let config: Int32 = 78 // EX_CONFIG: systemd must not restart-loop on it
}
