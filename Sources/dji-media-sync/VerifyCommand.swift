import ArgumentParser
import Foundation
import LocalFS
import MediaSync

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-verify recent copies on every destination now (the consistency check).",
        discussion: """
            Exit status: 0 every copy checked is there and intact; 1 a copy is missing or different (its source, if still here, \
            is copied again at the next cycle); 2 a destination could not be reached; 78 config.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "How far back: e.g. 3600s, 30m, 24h, 7d.") var since = DurationArgument(argument: "24h")!
    @Option(name: .long, help: "sha256 (read every byte on the destination) or size.") var mode: String?
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1

    func validate() throws {
        if let mode, !["sha256", "size"].contains(mode) { throw ValidationError("--mode takes sha256 or size") }
    }

    func run() async throws {
        var runtime = try Runtime.make(configPath: global.config)
        if let mode {
            var config = runtime.config
            config.consistencyCheck.mode = mode
            runtime = Runtime(
                config: config, store: runtime.store, destinations: runtime.destinations, logger: runtime.logger,
                limiter: runtime.limiter, destinationLimiters: runtime.destinationLimiters)
        }
        let lock = try holdCycleLock(runtime.config.concurrency.lockFile, wait: true, hint: "")
        defer { withExtendedLifetime(lock) {} }
        var summary = CycleSummary(cycleID: 0, startedAt: Date().timeIntervalSince1970)
        let engine = runtime.engine()
        let sessions = await engine.connect(summary: &summary, log: runtime.logger)
        let from = Date().timeIntervalSince1970 - since.seconds
        let mode = runtime.config.consistencyCheck.mode
        if !summary.unavailableDestinations.isEmpty {
            for s in sessions { await s.session.close() }
            if json { print(Self.json(summary, from: from, mode: mode, bad: nil, exitStatus: ExitStatus.failed)) } else { for m in summary.messages { print("unavailable: \(m)") } }
            throw ExitCode(ExitStatus.failed)
        }
        let bad = await engine.runConsistencyCheck(since: from, sessions: sessions, summary: &summary, log: runtime.logger)
        for s in sessions { await s.session.close() }
        let code = bad > 0 ? ExitStatus.someFailed : ExitStatus.ok
        if json {
            print(Self.json(summary, from: from, mode: mode, bad: bad, exitStatus: code))
        } else {
            print(
                "\(Format.count(summary.copiesChecked, "copy", "copies")) re-verified (\(mode)), \(bad) missing or different"
                    + (bad > 0 ? "; sources still here are copied again at the next cycle" : ""))
        }
        if code != ExitStatus.ok { throw ExitCode(code) }
    }

    /// `bad` nil: the check did not run (a destination was unavailable).
    static func json(_ summary: CycleSummary, from: Double, mode: String, bad: Int?, exitStatus: Int32) -> String {
        JSONOutput.render(
            [
                "since": JSONOutput.time(from),
                "mode": mode,
                "copies_checked": summary.copiesChecked,
                "missing_or_different": JSONOutput.nullable(bad),
                "unavailable": summary.unavailableJSON,
                "exit_status": Int(exitStatus)
            ], schemaVersion: schemaVersion)
    }
}
