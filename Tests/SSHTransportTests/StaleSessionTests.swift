import Foundation
import Glibc
import LocalFS
import MediaSync
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// Issue 11, 10: `sync --once` killed with -9 outside systemd left its ssh ControlMaster (its own
/// session) alive; the next run removed the journaled temps, then the old master delivered the
/// rest of the stream and its temp files stayed on the NAS for good.
@Suite struct StaleSessionTests {
    /// Processes whose /proc/<pid>/<what> satisfies `match`.
    static func processes(_ match: (Int32) -> Bool) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter(match)
    }

    static func commandLine(_ pid: Int32) -> String {
        let bytes = (try? FileIO.readWholeFile(FilePath("/proc/\(pid)/cmdline"), limit: 1 << 20)) ?? []
        return String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// The NAS receiver's writers into `base`: its perl (all files of a batch), or one dd per file.
    static func remoteWriters(in base: String) -> [Int32] {
        processes { pid in
            let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
            // (Not the control session's perl publisher: the data perl is the one that opens files.)
            return (comm == "dd\n" || (comm == "perl\n" && commandLine(pid).contains("O_EXCL")))
                && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == base
        }
    }

    static func binary() throws -> String { try builtBinary() }

    /// "state S, ppid P, pgrp G" from /proc/PID/stat, or "gone".
    static func procStat(_ pid: Int32) -> String {
        guard let f = ProcessTree.statFields(pid) else { return "gone" }
        return f.count > 3 ? "state \(f[0]), ppid \(f[1]), pgrp \(f[2])" : "?"
    }

    static func start(_ binary: String, config: String, log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["sync", "--once", "--config", config]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        return process
    }

    @Test func aRunKilledWithSIGKILLLeavesNoTempFileAndNoSocketAfterTheNextRun() async throws {
        let server = try await TestSSHServer.shared()
        let source = try TemporaryDirectory(prefix: "dms-stale-src")
        let state = try TemporaryDirectory(prefix: "dms-stale-state")
        let base = try server.makeRemoteBase(name: "stale-master")
        defer {
            try? source.remove()
            try? state.remove()
            try? TemporaryDirectory.remove(path: base)
        }
        let runtime = state.path + "/run"
        let configPath = state.path + "/config.json"
        let config: [String: Any] = [
            "local": ["media_roots": [source.path], "min_file_age_seconds": 0],
            "destinations": [
                [
                    "type": "nas", "host": server.host, "port": server.port, "user": server.user,
                    "identity_file": server.identityFile, "known_hosts_file": server.knownHostsFile,
                    "ssh_config_file": "none", "base_path": base
                ]
            ],
            "delete_policy": ["delay_minutes": 60],
            // Throttled so the stream lasts seconds however fast (or loaded) the machine: the test
            // must catch the first run's writer mid-stream.
            "concurrency_control": [
                "lock_file": runtime + "/sync.lock", "parallel_transfers": 1,
                "bandwidth_limit_bytes_per_second": 30_000_000
            ],
            "state": ["directory": state.path + "/db", "runtime_directory": runtime],
            "logging": ["level": "debug"] // what each run did, in the failure message
        ]
        try TestFiles.write([UInt8](try JSONSerialization.data(withJSONObject: config)), to: FilePath(configPath))
        let count = 40 // 160 MB in one batch: the stream lasts long enough to be caught
        for i in 0..<count {
            try TestFiles.write(
                size: 4_000_000, seed: UInt64(i), to: source.appending("DJI_20250101120000_\(1000 + i)_V.MP4"),
                modified: .secondsAgo(3600))
        }
        let binary = try Self.binary()

        // 1. The first run's writer is frozen once it writes (the stream backs up in the pipes and
        //    ssh's buffers, as on a slow link), then the run is killed with SIGKILL.
        let first = try Self.start(binary, config: configPath, log: state.path + "/first.log")
        var frozen: [Int32] = []
        try await waitUntil(timeout: .seconds(60), poll: .milliseconds(1), waitingFor: "the first run's writer writing") {
            guard first.isRunning else {
                throw TestSupportError(
                    "the first run ended before its writer was seen: "
                        + ((try? String(contentsOfFile: state.path + "/first.log", encoding: .utf8)) ?? ""))
            }
            let day = (try? FileManager.default.contentsOfDirectory(atPath: base + "/2025/01/01")) ?? []
            guard day.contains(where: { $0.hasPrefix(".dms-") }) else { return false }
            frozen = Self.remoteWriters(in: base)
            return !frozen.isEmpty
        }
        for pid in frozen { kill(pid, SIGSTOP) }
        defer { for pid in frozen { kill(pid, SIGCONT) } }
        // For the failure message: the writers frozen, and what the session files say.
        var diagnosis = "frozen: " + frozen.map { "\($0) (\(Self.procStat($0)))" }.joined(separator: ", ")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.contains(".session-") {
            diagnosis += "; \(name): \((try? String(contentsOfFile: base + "/" + name, encoding: .utf8)) ?? "?")"
        }
        kill(first.processIdentifier, SIGKILL)
        try await waitUntil(timeout: .seconds(10), waitingFor: "the first run to end") { !first.isRunning }
        let oldSSH = Self.processes { Self.commandLine($0).contains("ControlPath=\(runtime)/") }
        #expect(!oldSSH.isEmpty, "the killed run's ssh outlives it (its own session)")

        // 2. A clean run: copies everything.
        let second = try Self.start(binary, config: configPath, log: state.path + "/second.log")
        try await waitUntil(timeout: .seconds(120), poll: .milliseconds(50), waitingFor: "the second run") { !second.isRunning }
        let log = (try? String(contentsOfFile: state.path + "/second.log", encoding: .utf8)) ?? ""
        #expect(second.terminationStatus == 0, "\(log)")
        #expect(log.contains("stopped the ssh connection of an earlier run"), "\(log)")
        #expect(log.contains("temp files left by an interrupted run"), "\(log)")
        #expect(log.contains("ended 1 data session(s) of an interrupted run"), "\(log)")

        // 3. The second run ended the old run's receiver (`es`, by its session file) before it removed
        //    the temps: still frozen, it never woke to write one more from its buffered stream.
        diagnosis += "; after the second run: " + frozen.map { "\($0) (\(Self.procStat($0)))" }.joined(separator: ", ")
        #expect(frozen.allSatisfy { kill($0, 0) != 0 }, "the killed run's receiver outlived the next run: \(diagnosis)\n\(log)")
        // Whatever else of the old run is let go; once every process of it is gone, nothing of it
        // may be left on the NAS or in the runtime folder.
        for pid in frozen { kill(pid, SIGCONT) }
        try await waitUntil(timeout: .seconds(60), poll: .milliseconds(50), waitingFor: "the old run's processes to end") {
            Self.remoteWriters(in: base).isEmpty && oldSSH.allSatisfy { kill($0, 0) != 0 }
        }
        let day = try FileManager.default.contentsOfDirectory(atPath: base + "/2025/01/01")
        let top = try FileManager.default.contentsOfDirectory(atPath: base)
        // (A receiver of the killed run that read its buffered stream after the reclaim removes what
        // it wrote itself: ReceiverTests.aDataSessionCutShortRemovesItsTempsExceptResumableOnes.)
        // What the failure message needs to tell the old run's stream from the new run's leftovers.
        let journaled = Set(((try? StateStore(directory: FilePath(state.path + "/db")).pending(destination: "nas")) ?? []).map(\.string))
        let orphans = day.filter { $0.hasPrefix(".dms-") }.map { name -> String in
            let path = base + "/2025/01/01/" + name
            let status = try? LocalFS.status(FilePath(path))
            let what = status.map { "\($0.identity.size) bytes, mtime \($0.identity.mtimeNanoseconds / 1_000_000) ms" } ?? "gone"
            return "\(name) (\(what), \(journaled.contains(path) ? "journaled" : "not journaled"))"
        }
        let firstLog = (try? String(contentsOfFile: state.path + "/first.log", encoding: .utf8)) ?? ""
        #expect(
            orphans.isEmpty,
            "orphaned temp files: \(orphans); \(diagnosis); checked at \(Int64(Date().timeIntervalSince1970 * 1000)) ms\nfirst run:\n\(firstLog)\nsecond run:\n\(log)")
        #expect(top.filter { $0.hasPrefix(".dms-") }.isEmpty, "\(top)")
        #expect(day.filter { $0.hasPrefix("DJI_") }.count == count, "\(log)")
        let sockets = (try? FileManager.default.contentsOfDirectory(atPath: runtime))?.filter { $0.hasPrefix("cm-") } ?? []
        #expect(sockets.isEmpty, "stale control sockets: \(sockets)")
    }

    /// A batch that stalls (its receiver frozen mid-stream, as behind a hung NAS disk) is given up
    /// after transfer_timeout_seconds. Its receiver still holds the stream that was buffered for it:
    /// it is ended before its temps are removed, so it cannot create one afterwards when it wakes.
    @Test func aStalledBatchsReceiverIsEndedBeforeItsTempsAreRemoved() async throws {
        var f = try await NASFixture("stalled-batch")
        defer { f.cleanUp() }
        f.config.integrity.transferTimeoutSeconds = 2
        f.oneTransferAtATime()
        // The sender is held at 500 kB until the receiver is frozen: it freezes mid-stream.
        let stream = HeldStream(holdAt: 500_000)
        // Small files: the pipes and ssh's window hold many whole put requests for the receiver.
        for i in 0..<300 { try f.add("DJI_20250101120000_\(1000 + i)_D.JPG", size: 20_000, seed: UInt64(i)) }
        let base = f.remoteBase
        let freezer = Task { () -> [Int32] in
            defer { stream.release() }
            var frozen: [Int32] = []
            try await waitUntil(timeout: .seconds(60), poll: .milliseconds(1), waitingFor: "the receiver writing") {
                guard stream.held else { return false }
                let day = (try? FileManager.default.contentsOfDirectory(atPath: base + "/2025/01/01")) ?? []
                guard day.contains(where: { $0.hasPrefix(".dms-") }) else { return false }
                frozen = Self.remoteWriters(in: base)
                return !frozen.isEmpty
            }
            for pid in frozen { kill(pid, SIGSTOP) }
            return frozen
        }
        // Before the fix the cycle never ended (the ControlMaster held the frozen session's pipes).
        let fixture = f
        let done = Mutex(false)
        let cycle = Task {
            defer { done.withLock { $0 = true } }
            return try await fixture.cycle(observer: stream)
        }
        let frozen = try await freezer.value
        defer { for pid in frozen { kill(pid, SIGCONT) } }
        do {
            try await waitUntil(timeout: .seconds(90), waitingFor: "the cycle to end though its receiver hangs") { done.withLock { $0 } }
        } catch {
            for pid in frozen { kill(pid, SIGKILL) }
            throw error
        }
        let summary = try await cycle.value
        #expect(f.logs.lines.withLock { $0.contains { $0.message.contains("transfer_timeout_seconds") } }, "the batch stalled: \(summary.messages)")
        #expect(frozen.allSatisfy { kill($0, 0) != 0 }, "the stalled receiver was ended by the daemon")
        for pid in frozen { kill(pid, SIGCONT) }
        try await waitUntil(timeout: .seconds(30), waitingFor: "the frozen receiver to end") { frozen.allSatisfy { kill($0, 0) != 0 } }
        let day = try FileManager.default.contentsOfDirectory(atPath: base + "/2025/01/01")
        let top = try FileManager.default.contentsOfDirectory(atPath: base)
        #expect(day.filter { $0.hasPrefix(".dms-") }.isEmpty, "\(day.filter { $0.hasPrefix(".dms-") })")
        #expect(top.filter { $0.hasPrefix(".dms-") }.isEmpty, "\(top)")
    }
}
