import ArgumentParser
import Dispatch
import Foundation
import Glibc
import LocalFS
import MediaSync
import Synchronization
import SystemPackage

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run one sync cycle now (the daemon is `run`).",
        discussion: """
            Exit status: 0 everything copied and verified; 1 a file failed, or a destination or a media root could not be used; \
            2 no cycle could run (state database); 4 nothing failed, but files were left waiting (for space, for their next \
            attempt, or quarantined: dji-media-sync queue list); 75 another cycle holds the lock; 78 config; \
            130 or 143 stopped by Ctrl-C or SIGTERM (what was verified is kept). \
            --dry-run asks each destination, read-only, what it holds under each planned name (would copy, already there, \
            would get a _N name) and writes nothing anywhere; it exits 1 when a destination could not be asked.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Run one cycle and exit (required; the periodic daemon is `dji-media-sync run`).")
    var once = false

    @Flag(name: .long, help: "Show what would be copied, asking each destination (read-only) what it holds already; write nothing anywhere.")
    var dryRun = false

    @Flag(name: .long, help: "With --dry-run: machine-readable output (schema_version 1; see docs/operations.md).")
    var json = false

    @Flag(name: .long, help: "If a cycle is running (the daemon's, or another sync), wait for it instead of exiting with 75.")
    var wait = false

    func run() async throws {
        guard once else {
            throw ValidationError("`sync` runs a single cycle: pass --once (the periodic daemon is `dji-media-sync run`)")
        }
        guard !json || dryRun else { throw ValidationError("--json goes with --dry-run (a cycle's result is in `status --json`)") }
        let runtime = try Runtime.make(configPath: global.config, requireFiles: true)
        let lock = try holdCycleLock(
            runtime.config.concurrency.lockFile, wait: wait,
            hint: "not starting another. Use --wait to wait for it.")
        let progress = ConsoleProgress(enabled: !Verbosity.quiet)
        let engine = runtime.engine()
        let cycle = Task { await engine.runCycle(dryRun: dryRun, observer: progress) }
        // Ctrl-C / TERM: stop the cycle cleanly (transfers aborted, temps removed, state kept).
        let received = FirstSignal()
        let signals = SignalSources([SIGINT, SIGTERM]) { number in
            received.record(number)
            cycle.cancel()
        }
        let summary = await cycle.value
        signals.cancel()
        progress.finish()
        withExtendedLifetime(lock) {}
        let code = Self.exitStatus(summary, dryRun: dryRun, signal: received.number)
        if dryRun, let report = summary.dryRun {
            print(json ? Self.dryRunJSON(summary, report, exitStatus: code) : Self.renderDryRun(summary, report))
        } else if json {
            print(Self.dryRunJSON(summary, DryRunReport(), exitStatus: code))
        } else {
            print(Self.render(summary, dryRun: dryRun))
        }
        // After the summary: a slow webhook delays only the exit, bounded by its timeout and retries.
        if let webhook = runtime.webhook { await webhook.deliver(summary.alerts) }
        if code != ExitStatus.ok { throw ExitCode(code) }
    }

    /// 130/143 cancelled by Ctrl-C/SIGTERM; 2 no cycle could run (state database); 1 files failed,
    /// a destination or media root could not be used; 4 nothing failed but files were left waiting
    /// (space, backoff, quarantine); 0 everything is where it should be.
    /// A dry run starts no recorded cycle and leaves nothing waiting: only its failures count.
    static func exitStatus(_ s: CycleSummary, dryRun: Bool, signal: Int32) -> Int32 {
        if s.status == .cancelled { return ExitStatus.cancelled(by: signal == 0 ? SIGTERM : signal) }
        if s.stateDatabaseLost || !dryRun && s.cycleID == 0 && s.status == .failed { return ExitStatus.failed }
        if s.failed > 0 || !s.unavailableDestinations.isEmpty || !(s.unreadableMediaRoots ?? []).isEmpty || s.deleteChecksFailed > 0 {
            return ExitStatus.someFailed
        }
        if !dryRun, s.waitingForSpace > 0 || s.deferred > 0 { return ExitStatus.leftWaiting }
        return ExitStatus.ok
    }

    static func render(_ s: CycleSummary, dryRun: Bool) -> String {
        var lines: [String] = []
        if dryRun {
            lines.append("dry run: nothing was copied or deleted")
        }
        lines.append("cycle \(s.cycleID): \(s.status.rawValue) in \(Format.duration(s.duration))")
        lines.append("  copied:          \(Format.count(s.filesCopied, "file")), \(Format.bytes(s.bytesCopied)) (\(Format.rate(s.throughputBytesPerSecond)))")
        lines.append("  already there:   \(s.filesAlreadyPresent)")
        lines.append("  skipped:         \(s.skipped) (too recent or still changing; retried next cycle)")
        lines.append("  failed:          \(s.failed)\(s.quarantined > 0 ? " (\(s.quarantined) quarantined: dji-media-sync queue list)" : "")")
        if s.waitingForSpace > 0 {
            let names = s.waitingForSpaceOn.keys.sorted().joined(separator: ", ")
            lines.append("  waiting (space): \(s.waitingForSpace) (\(names.isEmpty ? "a destination" : names) short of space; sources kept)")
        }
        if s.purged > 0 { lines.append("  trash purged:    \(s.purged)") }
        if s.retentionRemoved > 0 { lines.append("  retention:       \(Format.count(s.retentionRemoved, "old copy", "old copies")) removed from the destination") }
        if s.deferred > 0 { lines.append("  waiting:         \(s.deferred) (waiting for their next attempt, or quarantined; queue list shows which)") }
        lines.append("  sources deleted: \(s.deleted)\(s.kept > 0 ? ", verified and kept: \(s.kept)" : "")")
        if !s.unavailableDestinations.isEmpty {
            lines.append(
                "  unavailable:     "
                    + s.unavailableDestinations.map { name in
                        s.unavailableKinds[name] == .authentication ? "\(name) (authentication failed)" : name
                    }.joined(separator: ", "))
        }
        if s.status == .cancelled { lines.append("  cancelled:       stopped on request; what was verified is kept, the rest is tried at the next cycle") }
        if let health = s.health { lines.append("  health:          \(health.shortLine)") }
        for m in s.messages.prefix(10) { lines.append("  ! \(m)") }
        return lines.joined(separator: "\n")
    }
}

/// Takes the single-instance lock for a command that runs a cycle's work, or says which process
/// holds it and exits 75 (`hint` tells the operator what to do instead).
func holdCycleLock(_ path: String, wait: Bool, hint: String) throws -> FileLock {
    switch try acquireLock(path, wait: wait) {
    case let .acquired(lock): return lock
    case let .busy(pid):
        print("A sync cycle is already running\(pid.map { " (pid \($0))" } ?? ""); \(hint)")
        throw ExitCode(ExitStatus.lockBusy)
    }
}

func acquireLock(_ path: String, wait: Bool) throws -> FileLock.Outcome {
    do { return try FileLock.acquire(FilePath(path), wait: wait) } catch {
        FileHandle.standardError.write(Data("dji-media-sync: lock file: \(error)\n".utf8))
        throw ExitCode(ExitStatus.failed)
    }
}

/// The first signal that stopped a command (0: none), for its exit status.
final class FirstSignal: Sendable {
    private let value = Atomic<Int32>(0)
    func record(_ number: Int32) { _ = value.compareExchange(expected: 0, desired: number, ordering: .relaxed) }
    var number: Int32 { value.load(ordering: .relaxed) }
}

/// Turns signals into calls on a Dispatch queue (the default action is disabled while watched).
final class SignalSources {
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32], queue: DispatchQueue = .global(), handler: @escaping @Sendable (Int32) -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    func cancel() { for s in sources { s.cancel() } }
}
