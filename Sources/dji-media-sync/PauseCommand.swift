import ArgumentParser
import Foundation
import MediaSync

/// `pause` / `resume`: written to the state database, which the daemon reads at every tick (≤ 2 s)
/// and before each cycle; no signal is needed, so it works the same whether the daemon runs,
/// is restarting, or starts later.
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause syncing: a running cycle finishes the files in flight and starts no more; no cycle starts until resumed.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "End the pause by itself after this long: e.g. 90s, 30m, 2h, 1d, 1h30m.") var `for`: String?

    func validate() throws {
        if let text = `for`, Self.seconds(text) == nil {
            throw ValidationError("--for takes a duration such as 90s, 30m, 2h, 1d or 1h30m")
        }
    }

    func run() async throws {
        let runtime = try Runtime.make(configPath: global.config)
        let now = Date().timeIntervalSince1970
        let until = `for`.flatMap(Self.seconds).map { now + $0 }
        try runtime.store.setPause(until: until, now: now)
        let pause = StateStore.Pause(since: now, until: until)
        print("paused \(pause.untilText): the daemon finishes the files in flight and starts no more (it notices within 2 s); `dji-media-sync resume` ends it")
    }

    /// "90s", "30m", "2h", "1d", "1h30m" → seconds (> 0); nil if malformed.
    static func seconds(_ text: String) -> Double? {
        var total = 0.0, number = "", any = false
        for c in text {
            if c.isASCII, c.isNumber || c == "." {
                number.append(c)
                continue
            }
            guard let value = Double(number) else { return nil }
            switch c {
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: return nil
            }
            number = ""
            any = true
        }
        return any && number.isEmpty && total > 0 ? total : nil
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "End a pause: the daemon starts a cycle at once if one came due meanwhile.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let runtime = try Runtime.make(configPath: global.config)
        let was = try runtime.store.clearPause()
        print(was ? "resumed: the daemon goes on within 2 s (at once with a cycle if one came due while paused)" : "not paused")
    }
}
