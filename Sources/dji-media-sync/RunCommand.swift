import ArgumentParser
import Configuration
import LocalFS
import MediaSync
import SystemPackage
import SystemdSupport

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run as the daemon: a cycle every interval and at once on SIGUSR1; SIGHUP reloads the config.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        // Config and state first: READY=1 only once both are usable (a bad config exits 78 here).
        let runtime = try Runtime.make(configPath: global.config, requireFiles: true)
        let notifier = SystemdNotifier()
        // The lock path must be usable (folder creatable, file openable); a cycle holding it now
        // (a `sync --once` from a shell) is fine: we wait our turn at each cycle.
        switch try acquireLock(runtime.config.concurrency.lockFile, wait: false) {
        case .acquired, .busy: break
        }
        let daemon = Daemon(configPath: global.config, runtime: runtime, notifier: notifier)
        let code = await daemon.run()
        if code != 0 { throw ExitCode(code) }
    }
}
