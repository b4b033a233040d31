import ArgumentParser
import Foundation
import LocalFS
import MediaSync
import SystemPackage

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "The delayed-delete queue and files waiting to be retried.",
        subcommands: [List.self, Retry.self])

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
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
            print("released \(Format.count(released, "file")); they are tried at the next cycle (sync now: systemctl kill -s SIGUSR1 --kill-who=main dji-media-sync)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List files waiting for a retry or quarantined (with the whole cause), then sources waiting for deletion.",
            discussion: """
                Two tab-separated tables, each under a header line: failures (destination, attempts, next attempt or \
                "quarantined", file, cause) and the delete queue (state, due time, size, file, last check). \
                Times are RFC 3339 in UTC. --json gives the same as one object (schema_version 1).
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "Also list finished delete-queue entries (deleted, purged, kept, gone, changed, resync).") var all = false
        @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

        static let schemaVersion = 1

        func run() async throws {
            let runtime = try Runtime.make(configPath: global.config)
            let states: [StateStore.QueueState] = all ? [.pending, .trashed, .deleted, .purged, .kept, .gone, .changed, .resync] : [.pending, .trashed]
            let entries = try runtime.store.deleteQueue(states: states, limit: 10_000)
            let failures = try runtime.store.failures()
            if json {
                print(
                    JSONOutput.render(
                        [
                            "failures": failures.map { f -> [String: Any] in
                                [
                                    "destination": f.destination, "local_path": f.localPath.displayString, "attempts": f.attempts,
                                    "error_kind": f.errorKind, "cause": f.lastError, "quarantined": f.quarantined,
                                    "next_attempt_at": f.quarantined ? NSNull() : JSONOutput.time(f.nextAttemptAt)
                                ]
                            },
                            "delete_queue": entries.map { e -> [String: Any] in
                                [
                                    "state": e.state.rawValue, "due_at": JSONOutput.time(e.dueAt), "size": e.identity.size,
                                    "local_path": e.localPath.displayString, "last_check": JSONOutput.nullable(e.lastError)
                                ]
                            }
                        ], schemaVersion: Self.schemaVersion))
                return
            }
            func time(_ t: Double) -> String { JSONOutput.time(Date(timeIntervalSince1970: t)) }
            if failures.isEmpty {
                print("no file is waiting for a retry")
            } else {
                print("DESTINATION\tATTEMPTS\tNEXT ATTEMPT\tFILE\tCAUSE")
                for f in failures {
                    let next = f.quarantined ? "quarantined (dji-media-sync queue retry)" : time(f.nextAttemptAt)
                    print("\(f.destination)\t\(f.attempts)\t\(next)\t\(f.localPath.displayString)\t\(Self.oneLine(f.lastError))")
                }
            }
            print("")
            if entries.isEmpty {
                print("the delete queue is empty")
            } else {
                print("STATE\tDUE\tSIZE\tFILE\tLAST CHECK")
                for e in entries {
                    print("\(e.state.rawValue)\t\(time(e.dueAt))\t\(Format.bytes(e.identity.size))\t\(e.localPath.displayString)\t\(e.lastError.map(Self.oneLine) ?? "-")")
                }
            }
        }

        /// A cause on one row: ssh's stderr may hold newlines and tabs.
        static func oneLine(_ text: String) -> String {
            text.replacingOccurrences(of: "\n", with: " ⏎ ").replacingOccurrences(of: "\t", with: " ")
        }
    }
}
