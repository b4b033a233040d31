import ArgumentParser
import Configuration

@main
struct DJIMediaSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dji-media-sync",
        abstract: "Copies drone media to a NAS over ssh, verified with SHA-256, and frees the local disk only when that is certain.",
        version: "0.1.0",
        subcommands: [SyncCommand.self, RunCommand.self, StatusCommand.self, QueueCommand.self, RetentionCommand.self,
                      VerifyCommand.self, ConfigCommand.self, DoctorCommand.self,
                      CleanupCommand.self, PresignCommand.self, UploadCommand.self, BucketCommand.self, NASReceiverCommand.self]
    )
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Path of media_sync_config.json.")
    var config: String = MediaSyncConfig.defaultPath
}

/// Exit statuses (sysexits.h), documented in docs/operations.md.
enum ExitStatus {
    static let ok: Int32 = 0
    static let someFailed: Int32 = 1
    static let failed: Int32 = 2
    static let lockBusy: Int32 = 75   // EX_TEMPFAIL: another cycle holds the lock
    static let config: Int32 = 78     // EX_CONFIG: systemd must not restart-loop on it
}
