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
        let health = try HealthEvaluator.evaluate(store: runtime.store, config: runtime.config)
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
                "health": [
                    "level": health.level.rawValue,
                    "reasons": health.findings.map { ["rule": $0.rule, "level": $0.level.rawValue, "message": $0.message] },
                    "cycles_24h": health.cycles24h,
                    "success_rate_24h": health.successRate24h as Any,
                    "average_cycle_seconds": health.averageCycleSeconds as Any,
                    "average_seconds_per_file": health.averageSecondsPerFile as Any,
                    "files_24h": health.files24h,
                    "bytes_24h": health.bytes24h,
                    "last_success_at": health.lastSuccessAt as Any,
                    "destination_usage": health.destinations.map { ["name": $0.name, "free_bytes": $0.freeBytes, "total_bytes": $0.totalBytes,
                                                                    "used_ratio": $0.usedFraction, "measured_at": $0.measuredAt] },
                    "failures_by_kind": health.failuresByKind,
                    "quarantined": health.quarantined,
                ] as [String: Any],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let formatter = ISO8601DateFormatter()
        func time(_ t: Double?) -> String { t.map { formatter.string(from: Date(timeIntervalSince1970: $0)) } ?? "-" }
        if let pause = try runtime.store.pause() { print("paused \(pause.untilText) (since \(time(pause.since)); the daemon starts no cycle)") }
        print("health: \(health.level.rawValue)")
        for finding in health.findings { print("  - \(finding.level.rawValue): \(finding.message)") }
        let rate = health.successRate24h.map { String(format: "%.0f%%", $0 * 100) } ?? "-"
        print("last 24 h: \(health.cycles24h) cycles, \(rate) succeeded, \(health.files24h) files, \(Format.bytes(health.bytes24h))\(health.averageCycleSeconds.map { ", average cycle \(Format.duration($0))" } ?? "")\(health.averageSecondsPerFile.map { String(format: ", %.2f s per file", $0) } ?? "")")
        print("last successful sync: \(time(health.lastSuccessAt))")
        for d in health.destinations {
            print("destination \(d.name): \(Format.bytes(d.freeBytes)) free of \(Format.bytes(d.totalBytes)) (\(String(format: "%.0f%%", d.usedFraction * 100)) used, as of \(time(d.measuredAt)))")
        }
        if !health.failuresByKind.isEmpty {
            print("files waiting for a retry: " + health.failuresByKind.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "; quarantined: \(health.quarantined)")
        }
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
            let states: [StateStore.QueueState] = all ? [.pending, .trashed, .deleted, .purged, .kept, .gone, .changed, .resync] : [.pending, .trashed]
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
                print("\(e.state.rawValue)\tdue \(due)\t\(Format.bytes(e.identity.size))\t\(e.localPath.displayString)\(e.lastError.map { "\t(last check: \($0))" } ?? "")")
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
            let config = try Runtime.loadConfig(global.config, requireFiles: true)
            print("\(global.config): OK")
            print("  media roots: \(config.local.mediaRoots.joined(separator: ", "))")
            for d in config.destinations {
                switch d {
                case let .nas(n): print("  destination \(n.name): nas \(n.user.map { "\($0)@" } ?? "")\(n.host):\(n.port) \(n.basePath)")
                case let .s3(s): print("  destination \(s.name): s3 \(s.provider) bucket \(s.bucket)\(s.endpoint.map { " at \($0)" } ?? "") prefix \"\(s.prefix)\"")
                }
            }
            print("  interval: \(config.schedule.intervalMinutes) min; delete after \(config.deletePolicy.delayMinutes) min: \(config.deletePolicy.deleteSources ? "yes" : "no (kept)")")
        }
    }
}
