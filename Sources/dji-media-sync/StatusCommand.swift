import ArgumentParser
import Foundation
import LocalFS
import MediaSync
import SystemPackage

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the last cycles, the delete queue and the ledger.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Machine-readable output.") var json = false

    func run() async throws {
        let runtime = try Runtime.make(configPath: global.config)
        let counts = try runtime.store.counts()
        let cycles = try runtime.store.recentCycles(limit: 5)
        if json {
            let object: [String: Any] = [
                "ledger": ["present": counts.ledgerPresent, "lost": counts.ledgerLost],
                "delete_queue": ["pending": counts.queuePending, "due": counts.queueDue, "deleted": counts.queueDeleted, "kept": counts.queueKept],
                "cycles": cycles.map { c -> [String: Any] in
                    ["id": c.id, "started_at": c.startedAt, "finished_at": c.finishedAt as Any, "status": c.status,
                     "files_copied": c.filesCopied, "files_present": c.filesPresent, "bytes": c.bytes,
                     "failed": c.failed, "skipped": c.skipped, "deleted": c.deleted, "message": c.message as Any]
                },
                "destinations": runtime.destinations.map { ["name": $0.name, "target": $0.displayName] },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let formatter = ISO8601DateFormatter()
        func time(_ t: Double?) -> String { t.map { formatter.string(from: Date(timeIntervalSince1970: $0)) } ?? "-" }
        print("destinations: " + runtime.destinations.map { "\($0.name) (\($0.displayName))" }.joined(separator: ", "))
        print("ledger: \(counts.ledgerPresent) verified copies\(counts.ledgerLost > 0 ? ", \(counts.ledgerLost) lost (being re-copied)" : "")")
        print("delete queue: \(counts.queuePending) pending (\(counts.queueDue) due), \(counts.queueDeleted) deleted, \(counts.queueKept) kept")
        if cycles.isEmpty { print("no cycle has run yet") }
        for c in cycles {
            print("cycle \(c.id) \(time(c.startedAt)) \(c.status): \(c.filesCopied) copied, \(c.filesPresent) already there, \(Format.bytes(c.bytes)), \(c.failed) failed, \(c.deleted) deleted\(c.message.map { $0.isEmpty ? "" : " — \($0)" } ?? "")")
        }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "The delayed-delete queue and files waiting to be retried.",
                                                    subcommands: [List.self, Retry.self])

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "retry",
                                                        abstract: "Release quarantined files (and files waiting for their next attempt) so the next cycle tries them.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "Release every file.") var all = false
        @Argument(help: "Local paths of the files to release.") var paths: [String] = []

        func validate() throws {
            if all == !paths.isEmpty { throw ValidationError("give --all or one or more local paths") }
        }

        func run() async throws {
            let runtime = try Runtime.make(configPath: global.config)
            let released = try runtime.store.releaseFailures(paths: all ? nil : paths.map { FilePath($0) })
            print("released \(released) file\(released == 1 ? "" : "s"); they are tried at the next cycle (sync now: systemctl kill -s SIGUSR1 --kill-who=main dji-media-sync)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List sources waiting for deletion.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "Also list finished entries (deleted, kept, gone, changed, resync).") var all = false

        func run() async throws {
            let runtime = try Runtime.make(configPath: global.config)
            let states = all ? ["pending", "trashed", "deleted", "purged", "kept", "gone", "changed", "resync"] : ["pending", "trashed"]
            let entries = try runtime.store.deleteQueue(states: states, limit: 10_000)
            let formatter = ISO8601DateFormatter()
            let failures = try runtime.store.failures()
            for f in failures {
                let next = f.quarantined ? "quarantined (dji-media-sync queue retry)" : "retry after \(formatter.string(from: Date(timeIntervalSince1970: f.nextAttemptAt)))"
                print("failed\t\(f.destination)\t\(f.attempts) attempts\t\(next)\t\(f.localPath.displayString)\t(\(f.errorKind): \(f.lastError.prefix(200)))")
            }
            if entries.isEmpty { print("the delete queue is empty") }
            for e in entries {
                let due = formatter.string(from: Date(timeIntervalSince1970: e.dueAt))
                print("\(e.state)\tdue \(due)\t\(Format.bytes(e.identity.size))\t\(e.localPath.displayString)\(e.lastError.map { "\t(last check: \($0))" } ?? "")")
            }
        }
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Configuration tools.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate the config file; exit 78 naming the bad key.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let config = try Runtime.loadConfig(global.config)
            print("\(global.config): OK")
            print("  media roots: \(config.local.mediaRoots.joined(separator: ", "))")
            for d in config.destinations {
                switch d {
                case let .nas(n): print("  destination \(n.name): nas \(n.user.map { "\($0)@" } ?? "")\(n.host):\(n.port) \(n.basePath)")
                }
            }
            print("  interval: \(config.schedule.intervalMinutes) min; delete after \(config.deletePolicy.delayMinutes) min: \(config.deletePolicy.deleteSources ? "yes" : "no (kept)")")
        }
    }
}
