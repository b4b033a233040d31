import ArgumentParser
import Foundation
import LocalFS
import MediaSync

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Free space on the destinations down to storage_management.min_free_space_gb by removing the oldest copies this daemon placed.",
        discussion: "Exit status: 0 done (or nothing to do); 2 a destination could not be reached; 75 a sync cycle is running; 78 config.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "List what would be removed; remove nothing.") var dryRun = false
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1

    func run() async throws {
        let runtime = try Runtime.make(configPath: global.config)
        let lock = try holdCycleLock(runtime.config.concurrency.lockFile, wait: false, hint: "try again when it is done.")
        defer { withExtendedLifetime(lock) {} }
        let engine = runtime.engine()
        var summary = CycleSummary(cycleID: 0, startedAt: Date().timeIntervalSince1970)
        let reserve = Int64(runtime.config.storageManagement.minFreeSpaceGB * 1e9)
        let sessions = await engine.connect(summary: &summary, log: runtime.logger)
        defer { Task { for s in sessions { await s.session.close() } } }
        let say: (String) -> Void = { line in if !json { print(line) } }
        for m in summary.messages { say("unavailable: \(m)") }
        var results: [[String: Any]] = []
        for (destination, session) in sessions {
            var result: [String: Any] = [
                "destination": destination.name, "free_bytes": NSNull(), "total_bytes": NSNull(),
                "reserve_bytes": reserve, "to_free_bytes": NSNull(), "freed_bytes": 0, "removed": [Any](),
                "error": NSNull()
            ]
            defer { results.append(result) }
            let space: DestinationSpace
            do {
                guard let s = try await session.space() else {
                    say("\(destination.name): cannot read its free space")
                    result["error"] = "cannot read its free space"
                    continue
                }
                space = s
            } catch {
                say("\(destination.name): cannot read its free space: \(error)")
                result["error"] = "cannot read its free space: \(error)"
                continue
            }
            let needed = max(0, reserve - space.freeBytes)
            result["free_bytes"] = space.freeBytes
            result["total_bytes"] = space.totalBytes
            result["to_free_bytes"] = needed
            say(
                "\(destination.name): \(Format.bytes(space.freeBytes)) free of \(Format.bytes(space.totalBytes)); reserve \(Format.bytes(reserve)); to free: \(Format.bytes(needed))"
            )
            guard needed > 0 else { continue }
            let report = await engine.runRetention(
                destination: destination, session: session, bytesNeeded: needed, dryRun: dryRun,
                summary: &summary, log: runtime.logger)
            for entry in report.removed {
                say("\(dryRun ? "would remove" : "removed")\t\(Format.bytes(entry.identity.size))\t\(entry.remotePath.displayString)")
            }
            result["freed_bytes"] = report.freed
            result["removed"] = report.removed.map { ["size": $0.identity.size, "remote_path": $0.remotePath.displayString] }
            say("\(destination.name): \(dryRun ? "would free" : "freed") \(Format.bytes(report.freed)) in \(Format.count(report.removed.count, "file"))")
        }
        let code = summary.unavailableDestinations.isEmpty ? ExitStatus.ok : ExitStatus.failed
        if json {
            print(
                JSONOutput.render(
                    [
                        "dry_run": dryRun,
                        "destinations": results,
                        "unavailable": summary.unavailableJSON,
                        "exit_status": Int(code)
                    ], schemaVersion: Self.schemaVersion))
        }
        if code != ExitStatus.ok { throw ExitCode(code) }
    }
}
