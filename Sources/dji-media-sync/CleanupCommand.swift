import ArgumentParser
import Foundation
import MediaSync
import ObjectStorage
import S3Sync
import Synchronization

struct CleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Abort stale multipart uploads and remove objects the ledger does not reference, under an S3 destination's prefix.",
        discussion: """
            Dry run by default: lists what it would abort and delete. With --apply it aborts and deletes. \
            Objects and uploads younger than --older-than-hours are never touched. \
            Exit status: 0 nothing failed, 1 something could not be listed, aborted or deleted, 75 a sync cycle is running, \
            78 config or credentials.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "The s3 destination (needed when the config has several).") var destination: String?
    @Option(name: .long, help: "Minimum age of stale uploads and orphans (default: the destination's abort_stale_uploads_after_hours).")
    var olderThanHours: Double?
    @Flag(name: .long, help: "Abort and delete; without it, only list.") var apply = false
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1

    func validate() throws {
        if let olderThanHours, !(olderThanHours >= 0) { throw ValidationError("--older-than-hours takes a number of hours ≥ 0") }
    }

    func run() async throws {
        let s3 = try S3Command.load(configPath: global.config, destination: destination)
        let lock = try holdCycleLock(s3.config.concurrency.lockFile, wait: false, hint: "try again when it is done.")
        defer { withExtendedLifetime(lock) {} }
        let store = try s3.openStore()
        let workers = max(1, min(8, s3.settings.config.parallelParts))
        let clients = try (0..<workers).map { _ in try s3.client() }
        let hours = olderThanHours ?? s3.settings.config.abortStaleUploadsAfterHours
        let cleanup = S3Cleanup(settings: s3.settings, store: store, clients: clients)
        let verb = apply ? "" : "would "
        let json = json
        let listed = Listed()
        if !json { print("\(s3.settings.displayName): \(apply ? "cleaning up" : "dry run (nothing is changed; --apply to act)"), older than \(hours) h") }
        let report = await cleanup.run(
            olderThanHours: hours, apply: apply,
            onStaleUpload: { upload in
                if json {
                    listed.add(upload: upload)
                } else {
                    print("\(verb)abort upload\t\(upload.initiated ?? "?")\t\(upload.key)\t\(upload.uploadID)")
                }
            },
            onOrphan: { object in
                if json {
                    listed.add(orphan: object)
                } else {
                    print("\(verb)delete orphan\t\(object.lastModified ?? "?")\t\(Format.bytes(object.size))\t\(object.key)")
                }
            })
        let code = report.hasFailures ? ExitStatus.someFailed : ExitStatus.ok
        if json {
            func section(_ s: S3CleanupSection, _ items: [[String: Any]]) -> [String: Any] {
                [
                    "found": s.found, "removed": apply ? s.deleted : 0, "failed": s.failed, "skipped": s.skipped,
                    "error": JSONOutput.nullable(s.error), "notes": s.notes, "failures": s.failures, "items": items
                ]
            }
            print(
                JSONOutput.render(
                    [
                        "destination": s3.settings.config.name, "apply": apply, "older_than_hours": hours,
                        "stale_uploads": section(
                            report.staleUploads,
                            listed.uploads.map {
                                ["key": $0.key, "upload_id": $0.uploadID, "initiated": JSONOutput.nullable($0.initiated)]
                            }),
                        "orphans": section(
                            report.orphans,
                            listed.orphans.map {
                                ["key": $0.key, "size": $0.size, "last_modified": JSONOutput.nullable($0.lastModified)]
                            }),
                        "exit_status": Int(code)
                    ], schemaVersion: Self.schemaVersion))
            if code != ExitStatus.ok { throw ExitCode(code) }
            return
        }
        for (name, section) in [("stale uploads", report.staleUploads), ("orphans", report.orphans)] {
            print(
                "\(name): found \(section.found), \(apply ? "removed" : "would remove") \(apply ? section.deleted : section.found), "
                    + "failed \(section.failed), skipped (too young, in progress, or possibly a ledger key the server spells differently) \(section.skipped)")
            if let error = section.error { print("  ! \(error)") }
            for note in section.notes.prefix(20) { print("  note: \(note)") }
            for failure in section.failures.prefix(20) { print("  ! \(failure)") }
        }
        if code != ExitStatus.ok { throw ExitCode(code) }
    }

    /// What the callbacks list, for --json (they may run on any thread).
    final class Listed: Sendable {
        private let items = Mutex<(uploads: [MultipartUploadSummary], orphans: [S3ObjectSummary])>(([], []))
        func add(upload: MultipartUploadSummary) { items.withLock { $0.uploads.append(upload) } }
        func add(orphan: S3ObjectSummary) { items.withLock { $0.orphans.append(orphan) } }
        var uploads: [MultipartUploadSummary] { items.withLock { $0.uploads } }
        var orphans: [S3ObjectSummary] { items.withLock { $0.orphans } }
    }
}
