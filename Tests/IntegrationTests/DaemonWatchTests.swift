import Foundation
import Glibc
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `schedule.watch`: the daemon reacts to new media within seconds instead of at the next timer
/// tick (an hour here, so only the watch can explain a copy).
@Suite struct DaemonWatchTests {
    static let minimumAge = 2.0

    /// The CLI tests' setup with an hour between timer cycles and a 2 s stability rule.
    static func setup(_ name: String, watch: Bool = true) async throws -> CLITests.Setup {
        let s = try await CLITests.Setup(name)
        try s.set("local", "min_file_age_seconds", minimumAge)
        try s.set("schedule", "interval_minutes", 60)
        try s.set("schedule", "watch", watch)
        return s
    }

    /// Whether this kernel and container let root make a user namespace and set its watch limit.
    static func userNamespaces() -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-U", "-r", "/bin/sh", "-c", "echo 3 > /proc/sys/user/max_inotify_watches"]
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static func cpuSeconds(_ pid: pid_t) -> Double {
        // utime and stime: fields 14 and 15 of /proc/PID/stat.
        guard let fields = ProcessTree.statFields(pid), fields.count > 12 else { return .nan }
        let ticks = (Double(fields[11]) ?? .nan) + (Double(fields[12]) ?? .nan)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test func aFileClosedInANewSubfolderOrMovedInIsOnTheNASWithinTheMinimumAgePlusFiveSeconds() async throws {
        let s = try await Self.setup("daemon-watch")
        defer { s.cleanUp() }
        let (status, log) = try await DaemonTests.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            var passed = false
            defer { if !passed { Issue.record("the daemon's log:\n\(log())") } }
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle") { DaemonTests.occurrences("cycle finished", in: log()) == 1 }
            #expect(log().contains("watching the media root for new media"), "\(log())")

            // Idle, the watch costs no CPU: measured over two of the daemon's own idle ticks (every
            // 2 s here, each sending STATUS), the loop's only wake-ups.
            let pid = execution.processIdentifier.value
            let ticks = n.count("STATUS=idle")
            let idleBefore = Self.cpuSeconds(pid), since = ContinuousClock.now
            try await waitUntil(timeout: .seconds(10), waitingFor: "two idle ticks") { n.count("STATUS=idle") >= ticks + 2 }
            let idleCPU = Self.cpuSeconds(pid) - idleBefore
            print("DaemonWatchTests: idle CPU \(idleCPU) s over \(ContinuousClock.now - since)")
            #expect(idleCPU < 0.3, "idle CPU \(idleCPU) s over two idle ticks")

            // Written and closed in a folder made after the daemon started.
            let folder = s.source.appending("flight-1").appending("camera")
            try FileManager.default.createDirectory(atPath: folder.string, withIntermediateDirectories: true)
            try TestFiles.write(TestFiles.pseudoRandomBytes(count: 200_000, seed: 7), to: folder.appending("DJI_20250101120000_0001_D.JPG"))
            let written = ContinuousClock.now
            try await waitUntil(timeout: .seconds(Self.minimumAge + 5), waitingFor: "the new file on the NAS") {
                s.remoteFiles().contains("2025/01/01/DJI_20250101120000_0001_D.JPG")
            }
            print("DaemonWatchTests: a closed file was on the NAS \(ContinuousClock.now - written) after it was written (min_file_age_seconds \(Self.minimumAge))")

            // Moved in from a hidden temp name, as some writers do.
            let hidden = s.source.appending(".partial")
            try TestFiles.write(TestFiles.pseudoRandomBytes(count: 100_000, seed: 8), to: hidden)
            let moved = ContinuousClock.now
            #expect(rename(hidden.string, s.source.appending("DJI_20250101130000_0002_D.JPG").string) == 0)
            try await waitUntil(timeout: .seconds(Self.minimumAge + 5), waitingFor: "the moved-in file on the NAS") {
                s.remoteFiles().contains("2025/01/01/DJI_20250101130000_0002_D.JPG")
            }
            print("DaemonWatchTests: a moved-in file was on the NAS \(ContinuousClock.now - moved) after it was moved in")
            passed = true
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(!log.contains("SIGUSR1"), "no signal was needed")
    }

    @Test func withTheWatchOffNoWatchStarts() async throws {
        let s = try await Self.setup("daemon-nowatch", watch: false)
        defer { s.cleanUp() }
        let (status, log) = try await DaemonTests.withDaemon(s, watchdogSeconds: 20) { execution, _, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle") { DaemonTests.occurrences("cycle finished", in: log()) == 1 }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(!log.contains("watching the media root"), "\(log)")
    }

    /// The kernel's watch limit, for real but in a user namespace of the daemon's own (where
    /// /proc/sys/user/max_inotify_watches is the namespace's, not the machine's): 3 watches for a
    /// root with 6 folders. The daemon says so, and the folders it watches still trigger a cycle.
    @Test(.enabled(if: userNamespaces(), "needs user namespaces (unshare -U -r), to give the daemon a watch limit of its own"))
    func atTheWatchLimitTheDaemonWarnsAndTheWatchedFoldersStillTrigger() async throws {
        let s = try await Self.setup("daemon-watch-limit")
        defer { s.cleanUp() }
        for name in ["a", "b", "c", "d", "e"] {
            try FileManager.default.createDirectory(atPath: s.source.appending(name).string, withIntermediateDirectories: true)
        }
        let launcher = ["/usr/bin/unshare", "-U", "-r", "/bin/sh", "-c", "echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\""]
        let (status, log) = try await DaemonTests.withDaemon(s, watchdogSeconds: 20, launcher: launcher) { execution, _, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle") { DaemonTests.occurrences("cycle finished", in: log()) == 1 }
            #expect(log().contains("inotify watch limit reached at"), "\(log())")
            #expect(log().contains("fs.inotify.max_user_watches"), "the warning names the setting")
            // The root is watched (it came first): a file there still starts a cycle by itself.
            try TestFiles.write(TestFiles.pseudoRandomBytes(count: 1000, seed: 4), to: s.source.appending("DJI_20250101120000_0001_D.JPG"))
            try await waitUntil(timeout: .seconds(Self.minimumAge + 5), waitingFor: "the file in the watched root on the NAS") {
                s.remoteFiles().contains("2025/01/01/DJI_20250101120000_0001_D.JPG")
            }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0), "\(log)")
    }
}
