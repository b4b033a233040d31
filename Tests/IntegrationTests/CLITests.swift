import Foundation
import Glibc
import Hashing
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The `dji-media-sync` executable as an operator runs it.
@Suite struct CLITests {
    /// The binary built next to this test bundle (`swift build --build-tests` builds it).
    static func binary() throws -> String { try builtBinary() }

    struct Setup {
        let server: TestSSHServer
        let source: TemporaryDirectory
        let state: TemporaryDirectory
        let remoteBase: String
        let configPath: String

        init(_ name: String, delayMinutes: Double = 60, server: TestSSHServer? = nil) async throws {
            if let server { self.server = server } else { self.server = try await TestSSHServer.shared() }
            source = try TemporaryDirectory(prefix: "dms-cli-src")
            state = try TemporaryDirectory(prefix: "dms-cli-state")
            remoteBase = try self.server.makeRemoteBase(name: name)
            configPath = state.path + "/config.json"
            let server = self.server
            let config: [String: Any] = [
                "local": ["media_roots": [source.path], "min_file_age_seconds": 0],
                "destinations": [
                    [
                        "type": "nas", "host": server.host, "port": server.port, "user": server.user,
                        "identity_file": server.identityFile, "known_hosts_file": server.knownHostsFile,
                        "ssh_config_file": "none", "base_path": remoteBase
                    ]
                ],
                "delete_policy": ["delay_minutes": delayMinutes],
                "concurrency_control": ["lock_file": state.path + "/run/sync.lock"],
                "state": ["directory": state.path + "/db", "runtime_directory": state.path + "/run"]
            ]
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted])
            try TestFiles.write([UInt8](data), to: FilePath(configPath))
        }

        /// Sets `key` of the config's `section` (an object) to `value`.
        func set(_ section: String, _ key: String, _ value: Any) throws {
            let url = URL(fileURLWithPath: configPath)
            var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            var object = config[section] as? [String: Any] ?? [:]
            object[key] = value
            config[section] = object
            try JSONSerialization.data(withJSONObject: config).write(to: url)
        }

        func remoteFiles() -> [String] {
            var names: [String] = []
            DirectoryWalker.walk(FilePath(remoteBase), onError: { _ in }) { names.append(String(decoding: $0.path.bytes.dropFirst(remoteBase.utf8.count + 1), as: UTF8.self)) }
            return names.sorted()
        }

        func cleanUp() {
            try? source.remove()
            try? state.remove()
            try? TemporaryDirectory.remove(path: remoteBase)
        }
    }

    static func run(_ arguments: [String]) async throws -> (status: TerminationStatus, out: String, err: String) {
        let r = try await Subprocess.run(
            .path(FilePath(try binary())), arguments: Arguments(arguments),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        return (r.terminationStatus, r.standardOutput, r.standardError)
    }

    @Test func killDashNineMidTransferLeavesNoPartialFileAndTheNextRunCompletesIt() async throws {
        let s = try await Setup("kill9")
        defer { s.cleanUp() }
        // A large sparse file: cheap to make, slow enough to stream that the kill lands mid-file.
        let video = s.source.appending("DJI_20250101120000_0001_V.MP4")
        try TestFiles.write([], to: video, modified: .secondsAgo(3600))
        _ = video.withPlatformString { truncate($0, 1 << 30) }
        try TestFiles.setModificationTime(video, to: .secondsAgo(3600))
        let identity = try LocalFS.status(video).identity

        let binary = try Self.binary()
        let child = Task {
            try await Subprocess.run(
                .path(FilePath(binary)), arguments: ["sync", "--once", "--config", s.configPath],
                input: .none, output: .discarded, error: .discarded
            ) { execution in
                // Wait until the temp file is being written on the NAS, then kill -9.
                try await waitUntil(timeout: .seconds(60), poll: .milliseconds(5), waitingFor: "a temp file on the NAS") {
                    s.remoteFiles().contains { $0.contains("/.dms-") }
                }
                try execution.send(signal: .kill)
            }
        }
        let result = try await child.value
        #expect(result.terminationStatus == .signaled(SIGKILL))
        #expect(!s.remoteFiles().contains("2025/01/01/DJI_20250101120000_0001_V.MP4"), "a partial file under its final name")

        // A new run reclaims the journaled temp file and completes the copy; nothing is deleted.
        let second = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(second.status == .exited(0), "\(second.out)\n\(second.err)")
        #expect(s.remoteFiles() == ["2025/01/01/DJI_20250101120000_0001_V.MP4"])
        #expect(second.err.contains("temp files left by an interrupted run"))
        #expect(try LocalFS.status(video).identity == identity)
        let remote = FilePath(s.remoteBase + "/2025/01/01/DJI_20250101120000_0001_V.MP4")
        #expect(try LocalFS.status(remote).identity.size == 1 << 30)
    }

    @Test func aSecondCycleWhileOneRunsSaysSoAndExits75() async throws {
        let s = try await Setup("lock")
        defer { s.cleanUp() }
        guard case let .acquired(lock) = try FileLock.acquire(FilePath(s.state.path + "/run/sync.lock"), wait: false) else {
            Issue.record("could not take the lock for the test")
            return
        }
        let busy = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(busy.status == .exited(75))
        #expect(busy.out.contains("already running"))
        #expect(busy.out.contains("pid \(getpid())"))
        withExtendedLifetime(lock) {}
    }

    @Test func withWaitASyncWaitsForTheRunningCycleThenRuns() async throws {
        let s = try await Setup("wait")
        defer { s.cleanUp() }
        try TestFiles.write(size: 100, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        guard case let .acquired(lock) = try FileLock.acquire(FilePath(s.state.path + "/run/sync.lock"), wait: false) else {
            Issue.record("could not take the lock for the test")
            return
        }
        let waiting = Task { try await Self.run(["sync", "--once", "--wait", "--config", s.configPath]) }
        // It is blocked on the lock: nothing has been copied.
        #expect(s.remoteFiles().isEmpty)
        _ = consume lock // the other cycle ends
        let result = try await waiting.value
        #expect(result.status == .exited(0), "\(result.err)")
        #expect(s.remoteFiles() == ["2025/01/01/DJI_20250101120000_0001_D.JPG"])
    }

    @Test func aDryRunCopiesAndDeletesNothing() async throws {
        let s = try await Setup("dryrun", delayMinutes: 0)
        defer { s.cleanUp() }
        let path = s.source.appending("DJI_20250101120000_0001_D.JPG")
        try TestFiles.write(size: 100, to: path, modified: .secondsAgo(3600))
        let dry = try await Self.run(["sync", "--once", "--dry-run", "--config", s.configPath])
        #expect(dry.status == .exited(0))
        #expect(dry.out.contains("dry run: nothing was copied, deleted or recorded"))
        #expect(dry.err.contains("would copy") && dry.err.contains("2025/01/01/DJI_20250101120000_0001_D.JPG"))
        #expect(s.remoteFiles().isEmpty)
        #expect(LocalFS.exists(path))
    }

    @Test func queueListShowsAQuarantinedFileAndQueueRetryReleasesIt() async throws {
        let s = try await Setup("qretry")
        defer { s.cleanUp() }
        try TestFiles.write(size: 100, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        // The day folder is not writable by the NAS user: a permanent error, quarantined at once.
        try LocalFS.createDirectories(FilePath(s.remoteBase + "/2025/01/01"))
        let first = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(first.status == .exited(1))
        #expect(first.out.contains("1 quarantined"))
        let list = try await Self.run(["queue", "list", "--config", s.configPath])
        #expect(list.out.contains("quarantined (dji-media-sync queue retry)"))
        #expect(list.out.contains("DJI_20250101120000_0001_D.JPG"))
        let retry = try await Self.run(["queue", "retry", "--all", "--config", s.configPath])
        #expect(retry.status == .exited(0))
        #expect(retry.out.contains("released 1 file"))
        let after = try await Self.run(["queue", "list", "--config", s.configPath])
        #expect(!after.out.contains("quarantined"))
    }

    @Test func aBadConfigNamesTheKeyAndExits78() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = dir.path + "/c.json"
        try TestFiles.write(
            Array(#"{"local": {"media_roots": ["/data"]}, "destinations": [{"type": "nas", "host": "h", "base_path": "/b", "port": "22a"}]}"#.utf8), to: FilePath(path))
        let check = try await Self.run(["config", "check", "--config", path])
        #expect(check.status == .exited(78))
        #expect(check.err.contains("destinations[0].port"))
        let sync = try await Self.run(["sync", "--once", "--config", path])
        #expect(sync.status == .exited(78))
        let missing = try await Self.run(["config", "check", "--config", dir.path + "/nope.json"])
        #expect(missing.status == .exited(78))
        #expect(missing.err.contains("nope.json"))
    }

    @Test func verifyReportsADamagedCopyAndExits1() async throws {
        let s = try await Setup("verify")
        defer { s.cleanUp() }
        try TestFiles.write(size: 4000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        #expect(try await Self.run(["sync", "--once", "--config", s.configPath]).status == .exited(0))
        let good = try await Self.run(["verify", "--since", "1h", "--config", s.configPath])
        #expect(good.status == .exited(0), "\(good.out) \(good.err)")
        #expect(good.out.contains("1 copy re-verified (sha256), 0 missing or different"))
        let copy = FilePath(s.remoteBase + "/2025/01/01/DJI_20250101120000_0001_D.JPG")
        let fd = copy.withPlatformString { open($0, O_WRONLY) }
        _ = pwrite(fd, "X", 1, 100)
        close(fd)
        let bad = try await Self.run(["verify", "--since", "1h", "--config", s.configPath])
        #expect(bad.status == .exited(1))
        #expect(bad.out.contains("1 missing or different"))
        #expect(bad.err.contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c10"))
    }

    /// A real HTTP server on loopback (python3's http.server) that stores each POST body, or,
    /// with `silent`, accepts connections and never answers.
    static func webhookServer(_ dir: String, silent: Bool) async throws -> (port: Int, task: Task<Void, any Error>) {
        let script = """
            import http.server, os, sys, time, socket
            d = sys.argv[1]
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers['Content-Length']))
                    n = len(os.listdir(d))
                    open(os.path.join(d, 'post-%03d.json' % n), 'wb').write(body)
                    self.send_response(204); self.end_headers()
                def log_message(self, *a): pass
            if sys.argv[2] == 'silent':
                s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)
                open(os.path.join(d, 'port.tmp'), 'w').write(str(s.getsockname()[1])); os.rename(os.path.join(d, 'port.tmp'), os.path.join(d, 'port'))
                conns = []
                while True:
                    c, _ = s.accept(); conns.append(c)
            srv = http.server.HTTPServer(('127.0.0.1', 0), H)
            open(os.path.join(d, 'port.tmp'), 'w').write(str(srv.server_address[1])); os.rename(os.path.join(d, 'port.tmp'), os.path.join(d, 'port'))
            srv.serve_forever()
            """
        // Debian's python3 (scripts/install-deps.sh installs it); a PATH lookup may find a shim that
        // needs an environment CI does not have.
        let python: Executable = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? .path("/usr/bin/python3") : .name("python3")
        let errors = try FileDescriptor.open(FilePath(dir + "/server.err"), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        let task = Task {
            _ = try await Subprocess.run(
                python, arguments: ["-c", script, dir, silent ? "silent" : "normal"],
                output: .discarded, error: .fileDescriptor(errors, closeAfterSpawningProcess: true))
        }
        do {
            // The server writes the port to a temp name and renames it: a complete number or nothing.
            try await waitUntil(timeout: .seconds(30), waitingFor: "the webhook server") {
                (try? String(contentsOfFile: dir + "/port", encoding: .utf8)).flatMap { Int($0) } != nil
            }
        } catch {
            Issue.record("the webhook server did not start: \((try? String(contentsOfFile: dir + "/server.err", encoding: .utf8)) ?? "")")
            throw error
        }
        guard let port = Int(try String(contentsOfFile: dir + "/port", encoding: .utf8)) else {
            throw TestSupportError("\(dir)/port holds no port number")
        }
        return (port, task)
    }

    @Test func alertsReachTheWebhookAndADeadWebhookDoesNotStallTheCycle() async throws {
        let s = try await Setup("webhook")
        defer { s.cleanUp() }
        let hooks = try TemporaryDirectory(prefix: "dms-hook")
        defer { try? hooks.remove() }
        let (port, server) = try await Self.webhookServer(hooks.path, silent: false)
        defer { server.cancel() }
        // The NAS is unreachable (nothing listens on its port): a critical alert.
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.configPath))) as! [String: Any]
        var nas = (config["destinations"] as! [[String: Any]])[0]
        nas["port"] = 1
        config["destinations"] = [nas]
        config["health"] = ["webhook_url": "http://127.0.0.1:\(port)/alerts", "webhook_timeout_seconds": 2]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: s.configPath))
        try TestFiles.write(size: 10, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let run = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(run.status == .exited(1))
        #expect(run.out.contains("health:          critical"))
        try await waitUntil(timeout: .seconds(10), waitingFor: "a POST") {
            (try? FileManager.default.contentsOfDirectory(atPath: hooks.path))?.contains { $0.hasPrefix("post-") } == true
        }
        try await waitUntil(timeout: .seconds(10), waitingFor: "the unreachable alert") {
            let posts = (try? FileManager.default.contentsOfDirectory(atPath: hooks.path).filter { $0.hasPrefix("post-") }) ?? []
            return posts.filter { $0.hasSuffix(".json") }.contains { name in
                let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: hooks.path + "/" + name)))) as? [String: Any]
                return json?["rule"] as? String == "unreachable:nas" && json?["state"] as? String == "raised"
                    && json?["level"] as? String == "critical" && json?["source"] as? String == "dji-media-sync"
            }
        }

        // A webhook that never answers: the cycle itself is not held up (only the exit waits,
        // bounded by the timeout and the retries).
        let silentDir = try TemporaryDirectory(prefix: "dms-hook-silent")
        defer { try? silentDir.remove() }
        let (silentPort, silent) = try await Self.webhookServer(silentDir.path, silent: true)
        defer { silent.cancel() }
        config["health"] = ["webhook_url": "http://127.0.0.1:\(silentPort)/alerts", "webhook_timeout_seconds": 1, "alert_suppression_minutes": 0]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: s.configPath))
        let stalled = try await Self.run(["sync", "--once", "--config", s.configPath])
        let cycleLine = try #require(stalled.out.split(separator: "\n").first { $0.hasPrefix("cycle ") })
        let seconds = Double(cycleLine.split(separator: " ").last!.dropLast()) ?? 99
        #expect(seconds < 3, "the cycle took \(seconds) s: \(cycleLine)")
        #expect(stalled.err.contains("webhook: could not deliver"))
    }

    /// libcurl and the ~30 libraries it needs cost every start ~7 ms: only the S3 destination and
    /// the webhook load it. A NAS cycle runs without it (the dynamic loader lists every library it
    /// loads, dlopen included).
    @Test func aNASCycleNeverLoadsLibcurl() async throws {
        let s = try await Setup("nocurl")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let r = try await Subprocess.run(
            .path(FilePath(try Self.binary())), arguments: ["sync", "--once", "--config", s.configPath],
            environment: .inherit.updating(["LD_DEBUG": "libs"]),
            output: .string(limit: 1 << 20), error: .string(limit: 8 << 20))
        #expect(r.terminationStatus == .exited(0), "\(r.standardError.suffix(2000))")
        #expect(r.standardOutput.contains("copied:          1 file,"))
        #expect(r.standardError.contains("libsqlite3.so"), "LD_DEBUG=libs lists the libraries loaded")
        #expect(!r.standardError.contains("libcurl"))
    }

    @Test func statusAndQueueListReadTheState() async throws {
        let s = try await Setup("status")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let sync = try await Self.run(["sync", "--once", "--config", s.configPath])
        #expect(sync.status == .exited(0), "\(sync.err)")
        #expect(sync.out.contains("copied:          1 file,"))
        let status = try await Self.run(["status", "--json", "--config", s.configPath])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any])
        #expect((json["ledger"] as? [String: Any])?["present"] as? Int == 1)
        #expect((json["delete_queue"] as? [String: Any])?["pending"] as? Int == 1)
        let queue = try await Self.run(["queue", "list", "--config", s.configPath])
        #expect(queue.out.contains("DJI_20250101120000_0001_D.JPG"))
    }
}
