import ArgumentParser
import Foundation
import LocalFS
import MediaSync

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-verify recent copies on every destination now (the consistency check); exit 1 if any is missing or different.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "How far back: e.g. 30m, 24h, 7d.") var since: String = "24h"
    @Option(name: .long, help: "sha256 (read every byte on the destination) or size.") var mode: String?

    func validate() throws {
        guard Self.seconds(since) != nil else { throw ValidationError("--since takes a number with m, h or d, e.g. 24h") }
        if let mode, !["sha256", "size"].contains(mode) { throw ValidationError("--mode takes sha256 or size") }
    }

    static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let value = Double(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }

    func run() async throws {
        var runtime = try Runtime.make(configPath: global.config)
        if let mode {
            var config = runtime.config
            config.consistencyCheck.mode = mode
            runtime = Runtime(config: config, store: runtime.store, destinations: runtime.destinations, logger: runtime.logger,
                              limiter: runtime.limiter)
        }
        let lock = try holdCycleLock(runtime.config.concurrency.lockFile, wait: true, hint: "")
        defer { withExtendedLifetime(lock) {} }
        var summary = CycleSummary(cycleID: 0, startedAt: Date().timeIntervalSince1970)
        let engine = runtime.engine()
        let sessions = await engine.connect(summary: &summary, log: runtime.logger)
        if !summary.unavailableDestinations.isEmpty {
            for s in sessions { await s.session.close() }
            for m in summary.messages { print("unavailable: \(m)") }
            throw ExitCode(ExitStatus.failed)
        }
        let bad = await engine.runConsistencyCheck(since: Date().timeIntervalSince1970 - Self.seconds(since)!, sessions: sessions,
                                                             summary: &summary, log: runtime.logger)
        for s in sessions { await s.session.close() }
        print("\(summary.copiesChecked) copies re-verified (\(runtime.config.consistencyCheck.mode)), \(bad) missing or different\(bad > 0 ? "; sources still here are copied again at the next cycle" : "")")
        if bad > 0 { throw ExitCode(ExitStatus.someFailed) }
    }
}
