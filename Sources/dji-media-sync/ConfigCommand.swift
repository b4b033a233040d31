import ArgumentParser
import Configuration
import Foundation

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
            print(
                "  interval: \(config.schedule.intervalMinutes) min; delete after \(config.deletePolicy.delayMinutes) min: \(config.deletePolicy.deleteSources ? "yes" : "no (kept)")"
            )
            // Schedules are in the process's local time: say which, so a wrong TZ shows here.
            for (destination, limiter) in BandwidthWatch.limiters(config) {
                let what =
                    limiter.schedule.map { "schedule \"\($0.text)\" (local time, \(TimeZone.current.identifier))" }
                    ?? BandwidthSchedule.describe(limiter.bytesPerSecond)
                print("  \(BandwidthWatch.label(destination)): \(what); now \(limiter.describe())")
            }
        }
    }
}
