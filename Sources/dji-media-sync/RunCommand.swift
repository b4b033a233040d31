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
        // Opening the state database may first build indexes over years of history (a schema
        // upgrade): that must not hit TimeoutStartSec and restart-loop, rolling it back each time.
        let notifier = SystemdNotifier()
        notifier.status("opening the state database (a schema upgrade over a large ledger takes a while)")
        notifier.extendTimeout(usec: 30 * 60 * 1_000_000)
        let runtime = try Runtime.make(configPath: global.config, requireFiles: true)
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
