import Configuration
import Foundation
import Testing

@Suite struct ConfigLoaderTests {
    @Test func minimalConfigGetsAllDefaults() throws {
        let config = try parse(Doc.make())
        let expected = MediaSyncConfig(
            local: .init(mediaRoots: ["/data/dji/media"]),
            destinations: [.nas(.init(host: "nas.local", basePath: "/volume1/dji-media"))])
        #expect(config == expected)
        // Spelled out, so a changed default in the struct is noticed here and in the docs test.
        #expect(config.local.extensions == ["jpg", "jpeg", "dng", "mp4", "mov", "srt", "lrf"])
        #expect(config.local.minFileAgeSeconds == 30)
        #expect(config.local.skipHidden)
        #expect(config.local.temporarySuffixes == [".tmp", ".part", ".partial", ".crdownload", "~"])
        guard case .nas(let nas) = config.destinations[0] else {
            Issue.record("not a NAS")
            return
        }
        #expect(nas.name == "nas")
        #expect(nas.port == 22)
        #expect(nas.user == nil)
        #expect(nas.identityFile == nil)
        #expect(nas.knownHostsFile == "/etc/dji-media-sync/known_hosts")
        #expect(nas.connectTimeoutSeconds == 10)
        #expect(nas.serverAliveIntervalSeconds == 15)
        #expect(nas.serverAliveCountMax == 4)
        #expect(nas.ciphers == "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com")
        #expect(nas.extraSSHOptions == [])
        #expect(nas.sshCommand == "ssh")
        #expect(nas.sshConfigFile == nil)
        #expect(nas.remoteHashCommand == "auto")
        #expect(config.integrity == .init())
        #expect(config.integrity.checksumAlgorithm == "sha256")
        #expect(config.integrity.verifyBeforeDelete == "sha256")
        #expect(config.deletePolicy.deleteSources)
        #expect(config.deletePolicy.delayMinutes == 60)
        #expect(config.concurrency.parallelTransfers == 2)
        #expect(config.concurrency.lockFile == "/run/dji-media-sync/sync.lock")
        #expect(config.schedule.intervalMinutes == 10)
        #expect(config.state.directory == "/var/lib/dji-media-sync")
        #expect(config.state.runtimeDirectory == "/run/dji-media-sync")
        #expect(config.logging.level == "info")
        #expect(MediaSyncConfig.defaultPath == "/etc/dji-media-sync/media_sync_config.json")
    }

    @Test func everyKeyIsRead() throws {
        let json = Doc.make(
            local: #"""
                "media_roots": ["/a/", "/b"], "extensions": [".MP4", "jpg", ".Jpg", "JPG", "insv"],
                "min_file_age_seconds": 0.5, "skip_hidden": false, "temporary_suffixes": []
                """#,
            nas: [
                #"""
                "type": "nas", "name": "synology-1", "host": "192.0.2.7", "port": 2222.0, "user": "dji",
                "identity_file": "/etc/k", "known_hosts_file": "/etc/kh", "base_path": "/volume1/x/",
                "connect_timeout_seconds": 5, "server_alive_interval_seconds": 0, "server_alive_count_max": 2,
                "ciphers": null, "extra_ssh_options": ["ProxyCommand=ssh -W %h:%p jump", "ProxyJump=admin@bastion"],
                "ssh_command": "/usr/bin/ssh", "ssh_config_file": "none", "remote_hash_command": "sha256sum",
                "resume_min_bytes": 0
                """#,
                #""type": "nas", "name": "backup", "host": "backup.lan", "base_path": "/", "ssh_config_file": "/etc/ssh/x""#
            ],
            extra: #"""
                "integrity_checks": { "checksum_algorithm": "sha256", "temp_prefix": ".x", "temp_suffix": "",
                                      "transfer_timeout_seconds": 60, "verify_before_delete": "size" },
                "delete_policy": { "delete_sources": false, "delay_minutes": 0 },
                "concurrency_control": { "lock_file": "/tmp/l", "max_sync_duration_seconds": 10, "parallel_transfers": 32,
                                         "batch_max_files": 1, "batch_max_megabytes": 1048576 },
                "schedule": { "interval_minutes": 0.5 },
                "state": { "directory": "/srv/state//", "runtime_directory": "/run/x" },
                "logging": { "level": "trace" }
                """#)
        let config = try parse(json)

        #expect(config.local.mediaRoots == ["/a", "/b"])
        #expect(config.local.extensions == ["mp4", "jpg", "insv"])
        #expect(config.local.minFileAgeSeconds == 0.5)
        #expect(!config.local.skipHidden)
        #expect(config.local.temporarySuffixes == [])

        var nas = MediaSyncConfig.NAS(host: "192.0.2.7", basePath: "/volume1/x")
        nas.name = "synology-1"
        nas.port = 2222
        nas.user = "dji"
        nas.identityFile = "/etc/k"
        nas.knownHostsFile = "/etc/kh"
        nas.connectTimeoutSeconds = 5
        nas.serverAliveIntervalSeconds = 0
        nas.serverAliveCountMax = 2
        nas.ciphers = nil
        nas.extraSSHOptions = ["ProxyCommand=ssh -W %h:%p jump", "ProxyJump=admin@bastion"]
        nas.sshCommand = "/usr/bin/ssh"
        nas.sshConfigFile = "none"
        nas.remoteHashCommand = "sha256sum"
        nas.resumeMinBytes = 0
        var backup = MediaSyncConfig.NAS(host: "backup.lan", basePath: "/")
        backup.name = "backup"
        backup.sshConfigFile = "/etc/ssh/x"
        #expect(config.destinations == [.nas(nas), .nas(backup)])
        #expect(config.destinations.map(\.name) == ["synology-1", "backup"])

        #expect(config.integrity.tempPrefix == ".x")
        #expect(config.integrity.tempSuffix == "")
        #expect(config.integrity.transferTimeoutSeconds == 60)
        #expect(config.integrity.verifyBeforeDelete == "size")
        #expect(!config.deletePolicy.deleteSources)
        #expect(config.deletePolicy.delayMinutes == 0)
        #expect(config.concurrency.lockFile == "/tmp/l")
        #expect(config.concurrency.maxSyncDurationSeconds == 10)
        #expect(config.concurrency.parallelTransfers == 32)
        #expect(config.concurrency.batchMaxFiles == 1)
        #expect(config.concurrency.batchMaxMegabytes == 1_048_576)
        #expect(config.schedule.intervalMinutes == 0.5)
        #expect(config.state.directory == "/srv/state")
        #expect(config.state.runtimeDirectory == "/run/x")
        #expect(config.logging.level == "trace")
    }

    @Test func runtimeDirectoryOfExactlyTheLimitIsAccepted() throws {
        #expect(ConfigLoader.maxRuntimeDirectoryBytes == 63)
        let folder = "/" + String(repeating: "r", count: 62)
        let config = try parse(Doc.with("state", #""runtime_directory": "\#(folder)""#))
        #expect(config.state.runtimeDirectory == folder)
        #expect((folder + "/cm-" + String(repeating: "h", count: 40)).utf8.count == 107)
        // A trailing slash does not count against the limit: it is dropped.
        #expect(try parse(Doc.with("state", #""runtime_directory": "\#(folder)/""#)).state.runtimeDirectory == folder)
    }

    @Test func parseAcceptsDataAndAByteOrderMark() throws {
        let fromData = try ConfigLoader.parse(Data(Doc.make().utf8), source: "d.json")
        let withBOM = try ConfigLoader.parse([0xEF, 0xBB, 0xBF] + Array(Doc.make().utf8), source: "b.json")
        #expect(fromData == withBOM)
    }

    @Test func exampleFileLoads() throws {
        let path = repositoryRoot().appendingPathComponent("media_sync_config.json").path
        let config = try ConfigLoader.load(path: path)
        #expect(config.local.mediaRoots == ["/data/dji/media"])
        var nas = MediaSyncConfig.NAS(host: "nas.local", basePath: "/volume1/dji-media")
        nas.user = "dji"
        nas.identityFile = "/etc/dji-media-sync/id_ed25519"
        nas.knownHostsFile = "/etc/dji-media-sync/known_hosts"
        #expect(config.destinations == [.nas(nas)], "apart from these, the example spells out the defaults")
        let defaults = try parse(Doc.make())
        #expect(config.local.extensions == defaults.local.extensions)
        #expect(config.local.minFileAgeSeconds == defaults.local.minFileAgeSeconds)
        #expect(config.local.skipHidden == defaults.local.skipHidden)
        #expect(config.local.temporarySuffixes == defaults.local.temporarySuffixes)
        #expect(config.integrity == defaults.integrity)
        #expect(config.deletePolicy == defaults.deletePolicy)
        #expect(config.concurrency == defaults.concurrency)
        #expect(config.schedule == defaults.schedule)
        #expect(config.state == defaults.state)
        #expect(config.logging == defaults.logging)
    }

    @Test func exampleFileHasEveryKey() throws {
        let url = repositoryRoot().appendingPathComponent("media_sync_config.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        #expect(Set(root.keys) == Set(ConfigLoader.topLevelKeys))
        for section in ConfigLoader.sections {
            let object: [String: Any]?
            if section.name == "destinations" {
                object = (root["destinations"] as? [Any])?.first as? [String: Any]
            } else {
                object = root[section.name] as? [String: Any]
            }
            let keys = try #require(object, "section \(section.name)").keys
            #expect(Set(keys) == Set(section.keys), "section \(section.name)")
        }
    }

    @Test func loadReadsAFile() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("c.json")
        try Data(Doc.make().utf8).write(to: file)
        #expect(try ConfigLoader.load(path: file.path) == parse(Doc.make()))
    }

    @Test func missingFileNamesItAndErrno() throws {
        let path = "/nonexistent-\(UUID().uuidString)/media_sync_config.json"
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path) }
        #expect(error.kind == .unreadable)
        #expect(error.file == path)
        #expect(error.errno == 2)
        #expect(error.description == "\(path): cannot read the configuration file: No such file or directory (errno 2)")
        #expect(error.exitCode == 78)
    }

    @Test func folderIsUnreadable() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: folder.path) }
        #expect(error.kind == .unreadable)
        #expect(error.description.hasPrefix("\(folder.path): cannot read the configuration file: "))
        #expect(error.description.contains("Is a directory"), "\(error)")
    }

    @Test func oversizedFileIsRejected() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("big.json")
        try Data(repeating: 0x20, count: ConfigLoader.maxFileBytes + 1).write(to: file)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: file.path) }
        #expect(error.kind == .unreadable)
        #expect(error.description.contains("larger than \(ConfigLoader.maxFileBytes) bytes"))
    }
}
