import ArgumentParser
import Foundation
import LocalFS
import MediaSync
import Synchronization
import SystemPackage

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Copy files back from a destination into a folder, each checked against the ledger's SHA-256.",
        discussion: """
            Select with exactly one of --local-path, --remote-path, --remote-folder, or --copied-from/--copied-until \
            (when the ledger recorded the copy, not the media's date). Files go below --target at their path below the \
            destination's base; nothing there is ever overwritten. Exit status: 0 every selected file restored (or already \
            there, identical); 1 a file failed (differs from the ledger, exists with other content, missing); 2 the destination \
            could not be reached or the target folder used; 3 nothing in the ledger matches; 78 config. It may run while the \
            daemon syncs (it only reads the destination and the ledger).
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "The destination to read from (its name); needed when several are configured.") var destination: String?
    @Option(name: .long, help: "Folder to restore into (created if missing).") var target: String
    @Option(name: .long, help: "A source file as it was synced, or a local folder: every file synced from below it.") var localPath: String?
    @Option(name: .long, help: "One copy's path on the destination as the ledger records it.") var remotePath: String?
    @Option(name: .long, help: "Every copy below this folder on the destination (its full path as recorded).") var remoteFolder: String?
    @Option(name: .long, help: "Copies recorded from this time (RFC 3339, or YYYY-MM-DD: 00:00 UTC).") var copiedFrom: String?
    @Option(name: .long, help: "Copies recorded before this time (RFC 3339, or YYYY-MM-DD: that whole day, UTC).") var copiedUntil: String?
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1
    static let nothingMatched: Int32 = 3

    func validate() throws {
        let dates = copiedFrom != nil || copiedUntil != nil
        let chosen = [localPath != nil, remotePath != nil, remoteFolder != nil, dates].filter { $0 }.count
        guard chosen == 1 else {
            throw ValidationError("choose exactly one of --local-path, --remote-path, --remote-folder, --copied-from/--copied-until")
        }
        if let copiedFrom, Self.time(copiedFrom, endOfDay: false) == nil { throw ValidationError("--copied-from: not a date or RFC 3339 time: \(copiedFrom)") }
        if let copiedUntil, Self.time(copiedUntil, endOfDay: true) == nil { throw ValidationError("--copied-until: not a date or RFC 3339 time: \(copiedUntil)") }
    }

    /// RFC 3339, or a date alone (its start, or with `endOfDay` the next day's start; UTC).
    static func time(_ text: String, endOfDay: Bool) -> Double? {
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date.timeIntervalSince1970 }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        day.timeZone = TimeZone(identifier: "UTC")
        guard text.count == 10, let date = day.date(from: text) else { return nil }
        return date.timeIntervalSince1970 + (endOfDay ? 86_400 : 0)
    }

    var selection: RestoreSelection {
        // The ledger holds absolute paths.
        if let localPath {
            return .localPath(
                localPath.hasPrefix("/")
                    ? FilePath(localPath)
                    : FilePath(FileManager.default.currentDirectoryPath).appending(localPath))
        }
        if let remotePath { return .remotePath(FilePath(remotePath)) }
        if let remoteFolder { return .remoteFolder(FilePath(remoteFolder)) }
        return .copiedBetween(
            from: copiedFrom.flatMap { Self.time($0, endOfDay: false) } ?? 0,
            until: copiedUntil.flatMap { Self.time($0, endOfDay: true) } ?? .greatestFiniteMagnitude)
    }

    func run() async throws {
        let runtime = try Runtime.make(configPath: global.config)
        let names = runtime.destinations.map(\.name)
        guard
            let chosen = destination.map({ name in runtime.destinations.first { $0.name == name } })
                ?? (runtime.destinations.count == 1 ? runtime.destinations.first : nil)
        else {
            let why = destination.map { "no destination named \"\($0)\"" } ?? "several destinations are configured"
            throw ValidationError("\(why); choose one with --destination (\(names.joined(separator: ", ")))")
        }
        let entries: [StateStore.LedgerEntry]
        do { entries = try runtime.store.restoreCandidates(destination: chosen.name, selection: selection) } catch {
            return try finish(chosen.name, [], error: "state database: \(error)", code: ExitStatus.failed)
        }
        if entries.isEmpty {
            return try finish(chosen.name, [], error: "nothing in the ledger matches the selection on \(chosen.name)", code: Self.nothingMatched)
        }
        let targetFolder = FilePath(target)
        do { try LocalFS.createDirectories(targetFolder) } catch {
            return try finish(chosen.name, [], error: "target folder: \(error)", code: ExitStatus.failed)
        }
        let session: any DestinationSession
        // Read-only: no temps reclaimed, nothing journaled, so a running cycle is not disturbed.
        do { session = try await chosen.connectReadOnly(progress: SilentObserver(), logger: runtime.logger) } catch {
            return try finish(chosen.name, [], error: "\(chosen.displayName): \(error)", code: ExitStatus.failed)
        }
        let total = entries.count, totalBytes = entries.reduce(Int64(0)) { $0 + $1.identity.size }
        let done = Mutex<(files: Int, bytes: Int64)>((0, 0))
        FileHandle.standardError.write(
            Data("restoring \(Format.count(total, "file", "files")) (\(Format.bytes(totalBytes))) from \(chosen.displayName) into \(targetFolder.displayString)\n".utf8))
        let outcomes = await Restorer(destination: chosen, target: targetFolder, logger: runtime.logger).run(entries, session: session) { outcome in
            let (files, bytes) = done.withLock { d in
                d.files += 1
                d.bytes += outcome.entry.identity.size
                return d
            }
            let what =
                outcome.status == .failed
                ? "FAILED \(outcome.message ?? "")" : "\(outcome.status.rawValue.replacingOccurrences(of: "_", with: " ")) \(outcome.target.displayString)"
            FileHandle.standardError.write(Data("[\(files)/\(total), \(Format.bytes(bytes))/\(Format.bytes(totalBytes))] \(what)\n".utf8))
        }
        await session.close()
        let failed = outcomes.filter { $0.status == .failed }.count
        try finish(chosen.name, outcomes, error: nil, code: failed > 0 ? ExitStatus.someFailed : ExitStatus.ok)
    }

    func finish(_ destination: String, _ outcomes: [RestoreOutcome], error: String?, code: Int32) throws {
        let count = { (s: RestoreOutcome.Status) in outcomes.filter { $0.status == s }.count }
        if json {
            print(
                JSONOutput.render(
                    [
                        "destination": destination,
                        "target": target,
                        "restored": count(.restored),
                        "already_there": count(.alreadyThere),
                        "failed": count(.failed),
                        "error": JSONOutput.nullable(error),
                        "files": outcomes.map { o -> [String: Any] in
                            [
                                "status": o.status.rawValue, "target": o.target.displayString, "remote_path": o.entry.remotePath.displayString,
                                "local_path": o.entry.localPath.displayString, "size": o.entry.identity.size,
                                "sha256": JSONOutput.nullable(o.entry.sha256?.hex), "copied_at": JSONOutput.time(o.entry.syncedAt),
                                "error": JSONOutput.nullable(o.message)
                            ]
                        },
                        "exit_status": Int(code)
                    ], schemaVersion: Self.schemaVersion))
        } else if let error {
            print(error)
        } else {
            print("\(count(.restored)) restored, \(count(.alreadyThere)) already there, \(count(.failed)) failed")
        }
        if code != ExitStatus.ok { throw ExitCode(code) }
    }
}
