import ArgumentParser
import Foundation
import LocalFS
import MediaSync
import ObjectStorage

struct ObjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object",
        abstract: "Act on one object of an s3 destination.",
        subcommands: [ObjectDeleteCommand.self])
}

struct ObjectDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete one object, named by its key or by its URL (path-style or virtual-hosted, presigned or not).",
        discussion: """
            A URL must be of the destination's own host and bucket; its query (a presigned URL's signature) is ignored \
            and never printed. The key is the full object key (the prefix is not added); a key that itself starts with \
            http:// is given by its URL. An object the ledger records as the copy of a source is kept unless --force, \
            which marks those ledger rows lost first (so a source still on disk is copied again, and its pending \
            deletion is held back) and then deletes. Takes the sync lock. \
            Exit status: 0 deleted, 1 refused: the ledger references it, 2 the server (or the state database) failed, \
            3 no such object, 64 bad argument (a URL of another host or bucket), 75 a sync cycle is running, \
            78 config or credentials.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The object key, or its URL.") var object: String
    @Option(name: .long, help: "The s3 destination (needed when the config has several).") var destination: String?
    @Flag(name: .long, help: "Delete even when the ledger references it; those rows are marked lost.") var force = false
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1
    /// `object delete` and `url --check`: the object does not exist.
    static let notFound: Int32 = 3

    func validate() throws {
        guard !object.isEmpty else { throw ValidationError("give the object's key or URL") }
    }

    func run() async throws {
        let s3 = try S3Command.load(configPath: global.config, destination: destination)
        let name = s3.settings.config.name
        let key: String
        if S3Configuration.isURL(object) {
            do { key = try s3.settings.client.key(ofURL: object) } catch {
                S3Command.fail("\(name): \(error)", status: ExitStatus.usage)
            }
        } else {
            key = object
        }
        // Under the lock no cycle records a copy of this key between the check and the delete.
        let lock = try holdCycleLock(s3.config.concurrency.lockFile, wait: false, hint: "try again when it is done.")
        defer { withExtendedLifetime(lock) {} }
        let store = try s3.openStore()
        let client = try s3.client()
        var report = Report(key: key, force: force)

        do {
            report.referencedBy = try store.presentCopies(destination: name, remotePath: Array(key.utf8)).map(\.localPath.displayString)
        } catch {
            return finish(report, ExitStatus.failed, "cannot read the ledger in \(s3.config.state.directory): \(error)", s3)
        }
        do {
            _ = try await client.headObject(key: key)
        } catch  where error.kind == .notFound {
            report.existed = false
        } catch {
            return finish(report, ExitStatus.failed, "HEAD \(key): \(error)", s3)
        }
        if !report.referencedBy.isEmpty {
            guard force else {
                return finish(
                    report, ExitStatus.someFailed,
                    "\(key) is the recorded copy of \(report.referencedBy.count) "
                        + "source(s), e.g. \(report.referencedBy[0]); nothing was deleted (--force deletes it and copies them again)", s3)
            }
            // Lost first: were the delete done first and this failed, the ledger would vouch for a
            // copy that is gone, and a source could be deleted on its word.
            do {
                report.markedLost = try store.markObjectLost(
                    destination: name, remotePath: Array(key.utf8),
                    reason: "deleted by hand (object delete --force)")
            } catch {
                return finish(report, ExitStatus.failed, "cannot mark the ledger rows of \(key) lost: \(error); nothing was deleted", s3)
            }
        }
        guard report.existed else {
            return finish(report, Self.notFound, "no object \(key) in bucket \(s3.settings.config.bucket)", s3)
        }
        do {
            try await client.deleteObject(key: key)
            report.deleted = true
        } catch {
            return finish(report, ExitStatus.failed, "DELETE \(key): \(error)", s3)
        }
        finish(report, ExitStatus.ok, nil, s3)
    }

    struct Report {
        let key: String
        let force: Bool
        var existed = true
        var deleted = false
        var referencedBy: [String] = []
        var markedLost = 0
    }

    /// Prints the outcome (JSON or text; a failure's message also goes to stderr) and exits with `code`.
    func finish(_ r: Report, _ code: Int32, _ error: String?, _ s3: S3Command) {
        if json {
            print(
                JSONOutput.render(
                    [
                        "destination": s3.settings.config.name, "bucket": s3.settings.config.bucket, "key": r.key, "force": r.force,
                        "existed": r.existed, "deleted": r.deleted, "referenced_by": r.referencedBy, "marked_lost": r.markedLost,
                        "error": JSONOutput.nullable(error), "exit_status": Int(code)
                    ], schemaVersion: Self.schemaVersion))
        } else {
            if r.markedLost > 0 {
                print("\(r.markedLost) ledger row(s) marked lost: their sources are copied again if still on disk")
            }
            if r.deleted { print("deleted \(r.key) from bucket \(s3.settings.config.bucket)") }
        }
        if let error { FileHandle.standardError.write(Data("dji-media-sync: \(s3.settings.config.name): \(error)\n".utf8)) }
        if code != ExitStatus.ok { Foundation.exit(code) }
    }
}
