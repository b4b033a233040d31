import ArgumentParser
import Foundation
import LocalFS
import MediaSync

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Free space on the destinations down to storage_management.min_free_space_gb by removing the oldest copies this daemon placed.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "List what would be removed; remove nothing.") var dryRun = false

    func run() async throws {
        let runtime = try Runtime.make(configPath: global.config)
        let lock = try holdCycleLock(runtime.config.concurrency.lockFile, wait: false, hint: "try again when it is done.")
        defer { withExtendedLifetime(lock) {} }
        let engine = runtime.engine()
        var summary = CycleSummary(cycleID: 0, startedAt: Date().timeIntervalSince1970)
        let reserve = Int64(runtime.config.storageManagement.minFreeSpaceGB * 1e9)
        let sessions = await engine.connect(summary: &summary, log: runtime.logger)
        defer { Task { for s in sessions { await s.session.close() } } }
        for m in summary.messages { print("unavailable: \(m)") }
        for (destination, session) in sessions {
            let space: DestinationSpace
            do {
                guard let s = try await session.space() else {
                    print("\(destination.name): cannot read its free space")
                    continue
                }
                space = s
            } catch {
                print("\(destination.name): cannot read its free space: \(error)")
                continue
            }
            let needed = max(0, reserve - space.freeBytes)
            print("\(destination.name): \(Format.bytes(space.freeBytes)) free of \(Format.bytes(space.totalBytes)); reserve \(Format.bytes(reserve)); to free: \(Format.bytes(needed))")
            guard needed > 0 else { continue }
            let report = await engine.runRetention(destination: destination, session: session, bytesNeeded: needed, dryRun: dryRun,
                                                   summary: &summary, log: runtime.logger)
            for entry in report.removed {
                print("\(dryRun ? "would remove" : "removed")\t\(Format.bytes(entry.identity.size))\t\(entry.remotePath.displayString)")
            }
            print("\(destination.name): \(dryRun ? "would free" : "freed") \(Format.bytes(report.freed)) in \(report.removed.count) files")
        }
        if !summary.unavailableDestinations.isEmpty { throw ExitCode(ExitStatus.failed) }
    }
}
