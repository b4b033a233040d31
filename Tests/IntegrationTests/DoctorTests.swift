import Foundation
import Glibc
import LocalFS
import ObjectStorage
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `dji-media-sync doctor` as an operator runs it, against the real test sshd and SeaweedFS.
@Suite struct DoctorTests {
    struct Setup {
        let ssh: TestSSHServer
        let s3: TestS3Server
        let s3Client: S3Client
        let prefix: String
        let dir: TemporaryDirectory
        let remoteBase: String
        let configPath: String
        var config: [String: Any]

        init(_ name: String) async throws {
            ssh = try await TestSSHServer.shared()
            s3 = try await TestS3Server.shared()
            (s3Client, prefix) = try s3.makeScope("doctor-\(name)")
            dir = try TemporaryDirectory(prefix: "dms-doctor")
            remoteBase = try ssh.makeRemoteBase(name: "doctor-\(name)")
            configPath = dir.path + "/config.json"
            _ = try dir.makeDirectory("media/DCIM/100MEDIA")
            _ = try dir.makeDirectory("metrics")
            config = [
                "local": ["media_roots": [dir.path + "/media"], "min_file_age_seconds": 0],
                "destinations": [
                    [
                        "type": "nas", "name": "nas", "host": ssh.host, "port": ssh.port, "user": ssh.user,
                        "identity_file": ssh.identityFile, "known_hosts_file": ssh.knownHostsFile,
                        "ssh_config_file": "none", "base_path": remoteBase
                    ],
                    [
                        "type": "s3", "name": "cloud", "provider": "minio", "bucket": TestS3Server.sharedBucket,
                        "endpoint": s3.endpoint, "region": s3.region, "prefix": prefix, "proxy": "none"
                    ]
                ],
                "concurrency_control": ["lock_file": dir.path + "/run/sync.lock"],
                "state": ["directory": dir.path + "/db", "runtime_directory": dir.path + "/run"],
                // The test machine's disk may be nearly full: space is reported, not judged here.
                "storage_management": ["enable_space_check": false],
                "health": [
                    "destination_usage_warning": 1.0, "destination_usage_critical": 1.0,
                    "prometheus_textfile": dir.path + "/metrics/dji_media_sync.prom"
                ]
            ]
            try write()
        }

        func write() throws {
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted])
            try TestFiles.write([UInt8](data), to: FilePath(configPath))
        }

        mutating func setNAS(_ key: String, _ value: Any) throws {
            var destinations = config["destinations"] as! [[String: Any]]
            destinations[0][key] = value
            config["destinations"] = destinations
            try write()
        }

        /// Runs doctor with the S3 server's credentials (or `secret` instead of its secret key).
        func doctor(_ arguments: [String], secret: String? = nil) async throws -> (status: TerminationStatus, out: String, err: String) {
            let env: [Environment.Key: String?] = ["AWS_ACCESS_KEY_ID": s3.accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? s3.secretAccessKey]
            let r = try await Subprocess.run(
                .path(FilePath(try CLITests.binary())), arguments: Arguments(["doctor", "--config", configPath] + arguments),
                environment: .inherit.updating(env),
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            #expect(!r.standardOutput.contains(s3.secretAccessKey) && !r.standardError.contains(s3.secretAccessKey), "the secret key was printed")
            return (r.terminationStatus, r.standardOutput, r.standardError)
        }

        /// `doctor --json`: the exit status and the checks by "check subject".
        func doctorJSON(_ arguments: [String] = [], secret: String? = nil) async throws -> (status: TerminationStatus, checks: [String: [String: Any]], json: [String: Any]) {
            let r = try await doctor(["--json"] + arguments, secret: secret)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "not JSON: \(r.out)\n\(r.err)")
            var checks: [String: [String: Any]] = [:]
            for c in json["checks"] as? [[String: Any]] ?? [] { checks["\(c["check"]!) \(c["subject"]!)"] = c }
            return (r.status, checks, json)
        }

        func cleanUp() {
            try? dir.remove()
            try? TemporaryDirectory.remove(path: remoteBase)
        }
    }

    static func status(_ checks: [String: [String: Any]], _ key: String) -> String? { checks[key]?["status"] as? String }
    static func fix(_ checks: [String: [String: Any]], _ key: String) -> String { checks[key]?["fix"] as? String ?? "" }

    @Test func aGoodSetUpPassesEveryCheckAndTheWriteTestLeavesNothingBehind() async throws {
        var s = try await Setup("good")
        defer { s.cleanUp() }
        let hooks = try TemporaryDirectory(prefix: "dms-doctor-hook")
        defer { try? hooks.remove() }
        let (port, server) = try await CLITests.webhookServer(hooks.path, silent: false)
        defer { server.cancel() }
        var health = s.config["health"] as! [String: Any]
        health["webhook_url"] = "http://127.0.0.1:\(port)/alerts"
        s.config["health"] = health
        try s.write()

        let r = try await s.doctorJSON(["--write-test"])
        #expect(r.status == .exited(0), "\(r.json)")
        #expect(r.json["schema_version"] as? Int == 1)
        #expect(r.json["ok"] as? Bool == true)
        let generated = try #require(r.json["generated_at"] as? String)
        #expect(generated.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "not RFC 3339: \(generated)")
        let media = s.dir.path + "/media"
        let expected =
            [
                "config \(s.configPath)", "media_root.readable \(media)", "media_root.deletable \(media)",
                "state.directory \(s.dir.path)/db", "state.runtime_directory \(s.dir.path)/run",
                "metrics.folder \(s.dir.path)/metrics", "webhook.url http://127.0.0.1:\(port)/…", "webhook.test http://127.0.0.1:\(port)/…"
            ]
            + ["ssh.identity_file", "ssh.known_hosts", "ssh.connect", "ssh.host_key", "ssh.login", "nas.base_path", "nas.tools", "nas.free_space"].map { "\($0) nas" }
            + ["s3.credentials", "s3.bucket", "s3.multipart_list", "s3.write_test"].map { "\($0) cloud" }
        for key in expected { #expect(Self.status(r.checks, key) == "ok", "\(key): \(r.checks[key] ?? [:])") }
        #expect(r.checks.values.allSatisfy { $0["status"] as? String == "ok" && $0["fix"] is NSNull }, "\(r.checks)")
        #expect((r.checks["media_root.deletable \(media)"]?["detail"] as? String)?.contains("DCIM") == true)
        #expect((r.checks["nas.tools nas"]?["detail"] as? String)?.contains("SHA-256 with") == true)

        // Nothing left under the prefix, nothing on the NAS, the test alert arrived.
        #expect(try await s.s3Client.listObjectsV2(prefix: s.prefix).objects.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.remoteBase).isEmpty)
        let posts = try FileManager.default.contentsOfDirectory(atPath: hooks.path).filter { $0.hasPrefix("post-") }
        #expect(posts.count == 1)
        let alert = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: hooks.path + "/" + posts[0]))) as? [String: Any])
        #expect(alert["state"] as? String == "test" && alert["source"] as? String == "dji-media-sync")
        // No probe files left in the local folders either.
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir.path + "/metrics").isEmpty)

        // The table: a ✓ line per check, exit 0; without --write-test the S3 write test is skipped.
        let table = try await s.doctor([])
        #expect(table.status == .exited(0), "\(table.out)\n\(table.err)")
        #expect(table.out.contains("✓ config"))
        #expect(table.out.contains("✓ ssh.host_key"))
        #expect(table.out.contains("- s3.write_test"))
        #expect(!table.out.contains("✗"))
    }

    @Test func aMissingMediaRootIsAFailureWithAFix() async throws {
        var s = try await Setup("noroot")
        defer { s.cleanUp() }
        s.config["local"] = ["media_roots": [s.dir.path + "/not-there"]]
        try s.write()
        let r = try await s.doctorJSON()
        #expect(r.status == .exited(1))
        #expect(r.json["ok"] as? Bool == false)
        let key = "media_root.readable \(s.dir.path)/not-there"
        #expect(Self.status(r.checks, key) == "fail")
        #expect(Self.fix(r.checks, key).contains("mkdir -p \(s.dir.path)/not-there"))
        #expect(Self.status(r.checks, "media_root.deletable \(s.dir.path)/not-there") == "skip")
        // The rest is still checked.
        #expect(Self.status(r.checks, "ssh.login nas") == "ok")
        let table = try await s.doctor([])
        #expect(table.status == .exited(1))
        #expect(table.out.contains("✗ media_root.readable"))
        #expect(table.out.contains("    fix: create it (`sudo mkdir -p"))
    }

    @Test(.enabled(if: geteuid() == 0, "bind-mounting a folder read-only needs root"))
    func aMediaRootOnAReadOnlyMountCannotHaveItsSourcesDeleted() async throws {
        let s = try await Setup("romedia")
        defer { s.cleanUp() }
        let media = FilePath(s.dir.path + "/media")
        try await ReadOnlyMount.with(source: FilePath(s.dir.path + "/media"), at: media) {
            let r = try await s.doctorJSON()
            #expect(r.status == .exited(1))
            #expect(Self.status(r.checks, "media_root.readable \(media)") == "ok")
            let key = "media_root.deletable \(media)"
            #expect(Self.status(r.checks, key) == "fail")
            #expect((r.checks[key]?["detail"] as? String)?.contains("read-only mount") == true)
            #expect(Self.fix(r.checks, key).contains("remount,rw"))
        }
    }

    @Test func aWrongOrMissingHostKeyIsReportedAsSuchWithTheKeyscanFix() async throws {
        var s = try await Setup("hostkey")
        defer { s.cleanUp() }
        // known_hosts with another key for the same host and port.
        let key = s.dir.path + "/other_host_key"
        let keygen = try await Subprocess.run(
            .name("ssh-keygen"), arguments: ["-q", "-t", "ed25519", "-N", "", "-f", key],
            output: .discarded, error: .string(limit: 1 << 16))
        #expect(keygen.terminationStatus == .exited(0), "\(keygen.standardError)")
        let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let wrong = s.dir.path + "/known_hosts_wrong"
        try TestFiles.write(Array("[\(s.ssh.host)]:\(s.ssh.port) \(publicKey)\n".utf8), to: FilePath(wrong))
        try s.setNAS("known_hosts_file", wrong)
        let changed = try await s.doctorJSON()
        #expect(changed.status == .exited(1))
        #expect(Self.status(changed.checks, "ssh.connect nas") == "ok")
        #expect(Self.status(changed.checks, "ssh.host_key nas") == "fail", "\(changed.checks["ssh.host_key nas"] ?? [:])")
        #expect((changed.checks["ssh.host_key nas"]?["detail"] as? String)?.contains("differs") == true)
        #expect((changed.checks["ssh.host_key nas"]?["detail"] as? String)?.contains("it presented SHA256:") == true)
        #expect(Self.fix(changed.checks, "ssh.host_key nas").contains("ssh-keygen -R '[\(s.ssh.host)]:\(s.ssh.port)' -f \(wrong)"))
        #expect(Self.status(changed.checks, "ssh.login nas") == "skip")
        #expect(Self.status(changed.checks, "nas.free_space nas") == "skip")

        // An empty known_hosts: no key for the host.
        let empty = s.dir.path + "/known_hosts_empty"
        try TestFiles.write([], to: FilePath(empty))
        try s.setNAS("known_hosts_file", empty)
        let unknown = try await s.doctorJSON()
        #expect(unknown.status == .exited(1))
        #expect(Self.status(unknown.checks, "ssh.host_key nas") == "fail")
        #expect((unknown.checks["ssh.host_key nas"]?["detail"] as? String)?.contains("has no key for") == true)
        #expect(Self.fix(unknown.checks, "ssh.host_key nas").contains("ssh-keyscan -p \(s.ssh.port) \(s.ssh.host) >> \(empty)"))

        // No known_hosts file at all: caught before connecting.
        try s.setNAS("known_hosts_file", s.dir.path + "/no_known_hosts")
        let missing = try await s.doctorJSON()
        #expect(Self.status(missing.checks, "ssh.known_hosts nas") == "fail")
        #expect(Self.fix(missing.checks, "ssh.known_hosts nas").contains("ssh-keyscan"))
        #expect(Self.status(missing.checks, "ssh.connect nas") == "skip")
    }

    @Test func aRefusedKeyIsAnAuthenticationFailure() async throws {
        var s = try await Setup("auth")
        defer { s.cleanUp() }
        let key = s.dir.path + "/unknown_key"
        let keygen = try await Subprocess.run(
            .name("ssh-keygen"), arguments: ["-q", "-t", "ed25519", "-N", "", "-f", key],
            output: .discarded, error: .discarded)
        #expect(keygen.terminationStatus == .exited(0))
        try s.setNAS("identity_file", key)
        // A key others can read: ssh would ignore it, so doctor stops there.
        #expect(chmod(key, 0o640) == 0)
        let open = try await s.doctorJSON()
        #expect(open.status == .exited(1))
        #expect(Self.status(open.checks, "ssh.identity_file nas") == "fail")
        #expect(Self.fix(open.checks, "ssh.identity_file nas") == "`sudo chmod 600 \(key)`")
        #expect(Self.status(open.checks, "ssh.connect nas") == "skip")
        // Owned by another user (the service's key: root:dji-media-sync 0640), ssh uses it.
        #expect(chown(key, 65534, 0) == 0)
        let other = try await s.doctorJSON()
        #expect(Self.status(other.checks, "ssh.identity_file nas") == "ok", "\(other.checks["ssh.identity_file nas"] ?? [:])")
        #expect(chown(key, 0, 0) == 0)
        #expect(chmod(key, 0o600) == 0)
        let r = try await s.doctorJSON()
        #expect(r.status == .exited(1))
        #expect(Self.status(r.checks, "ssh.host_key nas") == "ok")
        #expect(Self.status(r.checks, "ssh.login nas") == "fail", "\(r.checks["ssh.login nas"] ?? [:])")
        #expect(Self.fix(r.checks, "ssh.login nas").contains("authorized_keys"))
    }

    @Test func aMissingBasePathIsReportedWithTheCommandThatCreatesIt() async throws {
        var s = try await Setup("nobase")
        defer { s.cleanUp() }
        try s.setNAS("base_path", s.remoteBase + "/not-there")
        let r = try await s.doctorJSON()
        #expect(r.status == .exited(1))
        #expect(Self.status(r.checks, "ssh.login nas") == "ok")
        #expect(Self.status(r.checks, "nas.base_path nas") == "fail")
        #expect(Self.fix(r.checks, "nas.base_path nas").contains("mkdir -p \(s.remoteBase)/not-there"))
        #expect(Self.status(r.checks, "nas.tools nas") == "skip")
    }

    @Test func aDeadWebhookFailsTheTestAlertWithoutShowingItsToken() async throws {
        var s = try await Setup("hook")
        defer { s.cleanUp() }
        var health = s.config["health"] as! [String: Any]
        health["webhook_url"] = "http://127.0.0.1:1/services/T000/secret-token" // nothing listens on port 1
        health["webhook_timeout_seconds"] = 2
        s.config["health"] = health
        try s.write()
        let skipped = try await s.doctorJSON()
        #expect(skipped.status == .exited(0))
        #expect(Self.status(skipped.checks, "webhook.test http://127.0.0.1:1/…") == "skip")
        let r = try await s.doctor(["--webhook-test"])
        #expect(r.status == .exited(1))
        #expect(r.out.contains("✗ webhook.test"))
        #expect(r.out.contains("no answer to a test alert"))
        #expect(!r.out.contains("secret-token") && !r.err.contains("secret-token"), "\(r.out)")
    }

    @Test func badS3CredentialsAreAnAuthenticationFailure() async throws {
        let s = try await Setup("s3auth")
        defer { s.cleanUp() }
        let r = try await s.doctorJSON(["--write-test"], secret: "not-the-secret-key")
        #expect(r.status == .exited(1))
        #expect(Self.status(r.checks, "s3.credentials cloud") == "ok")
        #expect(Self.status(r.checks, "s3.bucket cloud") == "fail")
        #expect((r.checks["s3.bucket cloud"]?["detail"] as? String)?.contains("authentication refused") == true, "\(r.checks["s3.bucket cloud"] ?? [:])")
        #expect(Self.fix(r.checks, "s3.bucket cloud").contains("credentials"))
        #expect(Self.status(r.checks, "s3.write_test cloud") == "skip")
        #expect(Self.status(r.checks, "ssh.login nas") == "ok")
    }
}
