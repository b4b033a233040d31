import Foundation
import Glibc
import LocalFS
import Subprocess
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// `dji-media-sync run` as systemd runs it: NOTIFY_SOCKET and WATCHDOG_USEC set, signals sent to
/// the process. (The same against a real systemd: scripts/e2e-systemd.sh.)
@Suite struct DaemonTests {
    /// Collects every datagram the daemon sends to its NOTIFY_SOCKET.
    final class Notifications: Sendable {
        let listener: NotifyListener
        let received = Mutex<[(at: ContinuousClock.Instant, text: String)]>([])
        let task: Mutex<Task<Void, Never>?> = Mutex(nil)

        init() throws {
            listener = try NotifyListener()
        }

        func start() {
            let t = Task { [self] in
                while !Task.isCancelled {
                    if let m = await listener.receiveAsync(within: .milliseconds(200)) {
                        received.withLock { $0.append((.now, m)) }
                    }
                }
            }
            task.withLock { $0 = t }
        }

        func stop() { task.withLock { $0?.cancel() } }
        var all: [String] { received.withLock { $0.map(\.text) } }
        func count(_ prefix: String) -> Int { all.filter { $0.hasPrefix(prefix) }.count }
        func has(_ text: String) -> Bool { all.contains { $0.contains(text) } }
        func watchdogTimes() -> [ContinuousClock.Instant] { received.withLock { $0.filter { $0.text == "WATCHDOG=1" }.map(\.at) } }
    }

    /// Runs the daemon around `body`; returns its exit status and its log.
    static func withDaemon(
        _ setup: CLITests.Setup, watchdogSeconds: Int = 2, launcher: [String] = [],
        _ body: @escaping @Sendable (Execution<NoInput, DiscardedOutput, FileDescriptorOutput>, Notifications, @escaping @Sendable () -> String) async throws -> Void
    )
        async throws -> (status: TerminationStatus, log: String)
    {
        try await withDaemon(statePath: setup.state.path, configPath: setup.configPath, watchdogSeconds: watchdogSeconds, launcher: launcher, body)
    }

    /// The daemon of the config at `configPath`, logging into `statePath`/daemon.log. `launcher`:
    /// a command that execs the daemon's command line given after it (in the same process).
    static func withDaemon(
        statePath: String, configPath: String, watchdogSeconds: Int = 2, environment extra: [Environment.Key: String?] = [:],
        launcher: [String] = [],
        _ body: @escaping @Sendable (Execution<NoInput, DiscardedOutput, FileDescriptorOutput>, Notifications, @escaping @Sendable () -> String) async throws -> Void
    )
        async throws -> (status: TerminationStatus, log: String)
    {
        let notifications = try Notifications()
        notifications.start()
        defer { notifications.stop() }
        let logPath = FilePath(statePath + "/daemon.log")
        let logFD = try FileDescriptor.open(logPath, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        let readLog: @Sendable () -> String = { (try? FileIO.readWholeFile(logPath)).map { String(decoding: $0, as: UTF8.self) } ?? "" }
        let command = launcher + [try CLITests.binary(), "run", "--config", configPath]
        let result = try await Subprocess.run(
            .path(FilePath(command[0])), arguments: Arguments(Array(command.dropFirst())),
            environment: .inherit.updating(
                extra.merging([
                    "NOTIFY_SOCKET": notifications.listener.path, "WATCHDOG_USEC": "\(watchdogSeconds * 1_000_000)",
                    "JOURNAL_STREAM": nil
                ]) { $1 }),
            input: .none, output: .discarded, error: .fileDescriptor(logFD, closeAfterSpawningProcess: true)
        ) { execution in
            try await waitUntil(timeout: .seconds(20), waitingFor: "READY=1") { notifications.has("READY=1") }
            try await body(execution, notifications, readLog)
        }
        return (result.terminationStatus, readLog())
    }

    static func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    static func bigSparseFile(_ s: CLITests.Setup, _ name: String = "DJI_20250101120000_0001_V.MP4") throws {
        let path = s.source.appending(name)
        try TestFiles.write([], to: path)
        _ = path.withPlatformString { truncate($0, 1 << 30) }
        try TestFiles.setModificationTime(path, to: .secondsAgo(3600))
    }

    @Test func readyStatusWatchdogCadenceAndStopping() async throws {
        let s = try await CLITests.Setup("daemon-ready")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let (status, log) = try await Self.withDaemon(s) { execution, n, log in
            // The first cycle runs right after start and goes idle with a summary.
            try await waitUntil(timeout: .seconds(20), waitingFor: "an idle STATUS with the last cycle") {
                n.all.contains { $0.hasPrefix("STATUS=idle — next cycle") && $0.contains("last: 1 file,") }
            }
            // WATCHDOG=1 at half of WATCHDOG_USEC (2 s): about one a second.
            let before = n.count("WATCHDOG=1")
            try await waitUntil(timeout: .seconds(6), waitingFor: "three more watchdog pings") { n.count("WATCHDOG=1") >= before + 3 }
            let times = n.watchdogTimes().suffix(3)
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            #expect(gaps.allSatisfy { $0 < .milliseconds(1900) }, "\(gaps)")
            try execution.send(signal: .terminate)
            try await waitUntil(timeout: .seconds(30), waitingFor: "STOPPING=1") { n.has("STOPPING=1") }
        }
        #expect(status == .exited(0))
        #expect(log.contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c01")) // cycle started
    }

    @Test func aBurstOfSIGUSR1WhileACycleRunsGivesExactlyOneMoreCycleAndAShellSyncIsTurnedAway() async throws {
        let s = try await CLITests.Setup("daemon-usr1")
        defer { s.cleanUp() }
        try Self.bigSparseFile(s)
        let (status, log) = try await Self.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            try await waitUntil(timeout: .seconds(90), waitingFor: "the first cycle transferring") { s.remoteFiles().contains { $0.contains("/.dms-") } }
            for _ in 0..<5 { try execution.send(signal: .userDefinedOne) }
            // A cycle from a shell meanwhile: clearly refused.
            let shell = try await CLITests.run(["sync", "--once", "--config", s.configPath])
            #expect(shell.status == .exited(75))
            #expect(shell.out.contains("already running"))
            try await waitUntil(timeout: .seconds(60), waitingFor: "two finished cycles") { Self.occurrences("cycle finished", in: log()) == 2 }
            try await waitUntil(timeout: .seconds(30), waitingFor: "idle") { n.all.last { $0.hasPrefix("STATUS=") }?.hasPrefix("STATUS=idle") == true }
            #expect(Self.occurrences("cycle started", in: log()) == 2, "the burst must coalesce into one cycle")
            // Idle, a SIGUSR1 starts one at once.
            try execution.send(signal: .userDefinedOne)
            try await waitUntil(timeout: .seconds(20), waitingFor: "a third cycle") { Self.occurrences("cycle finished", in: log()) == 3 }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(Self.occurrences("cycle started", in: log) == 3)
    }

    /// Defect: 100 SIGUSR1 against an idle daemon started 91–100 cycles (each idle cycle ends in
    /// milliseconds). Idle or busy, a burst coalesces: at most one cycle now and one after 5 s.
    @Test func aBurstOfSIGUSR1AgainstAnIdleDaemonCoalesces() async throws {
        let s = try await CLITests.Setup("daemon-usr1-idle")
        defer { s.cleanUp() }
        let (status, log) = try await Self.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle") { Self.occurrences("cycle finished", in: log()) == 1 }
            for _ in 0..<100 { try execution.send(signal: .userDefinedOne) }
            // (The kernel may merge signals that arrive before delivery: at least one is read.)
            try await waitUntil(timeout: .seconds(30), waitingFor: "the burst to be read") { Self.occurrences("SIGUSR1: sync requested", in: log()) >= 1 }
            try await waitUntil(timeout: .seconds(30), waitingFor: "the spaced cycle") { Self.occurrences("cycle finished", in: log()) >= 2 }
            try await waitUntil(timeout: .seconds(30), waitingFor: "idle") { n.all.last { $0.hasPrefix("STATUS=") }?.hasPrefix("STATUS=idle") == true }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(Self.occurrences("cycle started", in: log) == 2, "100 signals against an idle daemon must be one more cycle")
    }

    /// Defect: the state folder deleted under a running daemon — it went on writing into the
    /// unlinked database, and everything after was lost at restart. Detected before the next cycle,
    /// logged as critical, and the daemon exits non-zero (systemd restarts it on a new database).
    @Test func aDeletedStateDatabaseStopsTheDaemonBeforeAnyCycleRunsOnIt() async throws {
        let s = try await CLITests.Setup("daemon-state-gone")
        defer { s.cleanUp() }
        let (status, log) = try await Self.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle") { Self.occurrences("cycle finished", in: log()) == 1 }
            try TemporaryDirectory.remove(path: s.state.path + "/db")
            // (The cycles spacing may defer this one by a few seconds.)
            try execution.send(signal: .userDefinedOne)
        }
        #expect(status == .exited(2))
        #expect(log.contains("critical") && log.contains("was deleted"), "\(log)")
        #expect(Self.occurrences("cycle started", in: log) == 1)
    }

    @Test func sighupWithABadConfigIsRejectedAndTheOldOneStaysInForce() async throws {
        let s = try await CLITests.Setup("daemon-hup")
        defer { s.cleanUp() }
        let good = try FileIO.readWholeFile(FilePath(s.configPath))
        let (status, log) = try await Self.withDaemon(s) { execution, n, log in
            try await waitUntil(timeout: .seconds(20), waitingFor: "the first cycle") { log().contains("cycle finished") }
            try TestFiles.write(Array(#"{"local": {"media_rots": ["/x"]}}"#.utf8), to: FilePath(s.configPath))
            try execution.send(signal: .terminalClosed)
            try await waitUntil(timeout: .seconds(30), waitingFor: "STATUS showing the rejection") {
                n.all.contains { $0.hasPrefix("STATUS=") && $0.contains("config rejected") && $0.contains("local.media_rots") }
            }
            #expect(n.count("RELOADING=1") == 1)
            #expect(n.count("READY=1") == 2)
            // Still running with the old config: a new file is synced on SIGUSR1.
            try TestFiles.write(size: 100, to: s.source.appending("DJI_20250101120000_0002_D.JPG"), modified: .secondsAgo(3600))
            try execution.send(signal: .userDefinedOne)
            try await waitUntil(timeout: .seconds(20), waitingFor: "the file synced") { s.remoteFiles().contains("2025/01/01/DJI_20250101120000_0002_D.JPG") }
            // A good config again: accepted, and STATUS no longer complains.
            try TestFiles.write(good, to: FilePath(s.configPath))
            try execution.send(signal: .terminalClosed)
            try await waitUntil(timeout: .seconds(30), waitingFor: "reload accepted") { log().contains("configuration reloaded") }
            try await waitUntil(timeout: .seconds(30), waitingFor: "a clean STATUS") {
                n.all.last { $0.hasPrefix("STATUS=") }.map { !$0.contains("rejected") } ?? false
            }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(log.contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c08")) // config rejected
        #expect(log.contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c07")) // config reloaded
    }

    @Test func sigtermMidTransferRemovesTheTempFileAndExitsInTime() async throws {
        let s = try await CLITests.Setup("daemon-term")
        defer { s.cleanUp() }
        try Self.bigSparseFile(s)
        let clock = ContinuousClock()
        var stopSent = clock.now
        let (status, _) = try await Self.withDaemon(s, watchdogSeconds: 20) { execution, n, _ in
            try await waitUntil(timeout: .seconds(90), waitingFor: "a temp file on the NAS") { s.remoteFiles().contains { $0.contains("/.dms-") } }
            try execution.send(signal: .terminate)
            try await waitUntil(timeout: .seconds(30), waitingFor: "STOPPING=1") { n.has("STOPPING=1") }
        }
        stopSent = clock.now - .zero
        #expect(status == .exited(0))
        #expect(s.remoteFiles().isEmpty, "the aborted transfer's temp file is removed; no partial final file: \(s.remoteFiles())")
        _ = stopSent
    }

    /// Issue 13.7: the daemon logs the limits in force (here at start; each change the same way).
    @Test func theDaemonLogsTheBandwidthInForce() async throws {
        let s = try await CLITests.Setup("daemon-bw")
        defer { s.cleanUp() }
        let clock = DateFormatter()
        clock.locale = Locale(identifier: "en_US_POSIX")
        clock.dateFormat = "HH:mm"
        let from = clock.string(from: Date().addingTimeInterval(-60)), to = clock.string(from: Date().addingTimeInterval(7200))
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.configPath))) as! [String: Any]
        var control = config["concurrency_control"] as! [String: Any]
        control["bandwidth_schedule"] = "\(from),2M \(to),off"
        config["concurrency_control"] = control
        var destinations = config["destinations"] as! [[String: Any]]
        destinations[0]["bandwidth_schedule"] = "512k"
        config["destinations"] = destinations
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: s.configPath))
        let (status, log) = try await Self.withDaemon(s) { execution, _, log in
            try await waitUntil(timeout: .seconds(20), waitingFor: "the bandwidth logged") { log().contains("bandwidth to ") }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(log.contains("bandwidth: 2 MiB/s until \(to) (schedule)"), "\(log)")
        #expect(log.contains("bandwidth to nas: 512 KiB/s (schedule)"), "\(log)")
        #expect(Self.occurrences("bandwidth: ", in: log) == 1, "logged once, not at every tick")
    }

    @Test func aCycleLongerThanMaxSyncDurationIsStoppedCleanlyAndReported() async throws {
        let s = try await CLITests.Setup("daemon-maxdur")
        defer { s.cleanUp() }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.configPath))) as! [String: Any]
        var control = config["concurrency_control"] as! [String: Any]
        control["max_sync_duration_seconds"] = 1
        control["bandwidth_limit_bytes_per_second"] = 20_000_000 // 1 GiB would take ~50 s
        config["concurrency_control"] = control
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: s.configPath))
        try Self.bigSparseFile(s)
        let (status, log) = try await Self.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the cycle stopped") { log().contains("cycle finished: cancelled") }
            #expect(log().contains("exceeded concurrency_control.max_sync_duration_seconds"))
            try await waitUntil(timeout: .seconds(30), waitingFor: "idle again") { n.all.last { $0.hasPrefix("STATUS=") }?.hasPrefix("STATUS=idle") == true }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(!s.remoteFiles().contains { $0.contains(".dms-") }, "the aborted transfer's temp file is removed")
        _ = log
    }

    @Test func aStalledTransferStopsTheWatchdogPingsAndTheyResumeWhenItMovesAgain() async throws {
        try await TestSSHServer.withPrivateServer(in: "/tmp/dms-test-sshd-stall-\(getpid())") { nas in
            let s = try await CLITests.Setup("daemon-stall", server: nas)
            defer { s.cleanUp() }
            // Throttled, so that the transfer is certainly still moving when the NAS is frozen.
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.configPath))) as! [String: Any]
            var control = config["concurrency_control"] as! [String: Any]
            control["bandwidth_limit_bytes_per_second"] = 50_000_000
            config["concurrency_control"] = control
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: s.configPath))
            try Self.bigSparseFile(s)
            let (status, log) = try await Self.withDaemon(s, watchdogSeconds: 2) { execution, n, log in
                try await waitUntil(timeout: .seconds(90), waitingFor: "a temp file on the NAS") { s.remoteFiles().contains { $0.contains("/.dms-") } }
                // Freeze the NAS side of the connection (sshd's session processes): the link is "dead".
                let sessions = ProcessTree.descendants(of: nas.pid)
                #expect(!sessions.isEmpty)
                for pid in sessions { kill(pid, SIGSTOP) }
                defer { for pid in sessions { kill(pid, SIGCONT) } }
                // Within the stall limit (2 s) plus a tick, pings stop: wait for a 3-second silence.
                do {
                    try await waitUntil(timeout: .seconds(30), waitingFor: "watchdog pings to stop") {
                        guard let last = n.watchdogTimes().last else { return false }
                        return ContinuousClock.now - last > .seconds(3)
                    }
                } catch {
                    Issue.record("pings did not stop; daemon log:\n\(log().suffix(3000))")
                    throw error
                }
                #expect(log().contains("withholding watchdog pings"))
                for pid in sessions { kill(pid, SIGCONT) }
                let silentSince = n.watchdogTimes().count
                try await waitUntil(timeout: .seconds(15), waitingFor: "pings to resume") { n.watchdogTimes().count > silentSince }
                try execution.send(signal: .terminate)
            }
            #expect(status == .exited(0))
            _ = log
        }
    }
}
