import Configuration
import Foundation
import Glibc
import LocalFS
import MediaSync
import SystemPackage
import TestSupport
import Testing

/// `doctor`'s checks that need no network, on real folders.
@Suite struct DoctorLocalChecksTests {
    static func config(_ dir: TemporaryDirectory, health: String = "{}", deleteSources: Bool = true) throws -> MediaSyncConfig {
        let text = """
            {"local": {"media_roots": ["\(dir.path)/media"]},
             "destinations": [{"type": "nas", "host": "nas", "base_path": "/volume1/drone"}],
             "delete_policy": {"delete_sources": \(deleteSources)},
             "concurrency_control": {"lock_file": "\(dir.path)/lock/sync.lock"},
             "state": {"directory": "\(dir.path)/db", "runtime_directory": "\(dir.path)/run"},
             "health": \(health)}
            """
        return try ConfigLoader.parse(Array(text.utf8), source: "test.json")
    }

    @Test func anInvalidConfigIsAFailureNamingTheKey() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = try dir.writeFile("bad.json", bytes: Array(#"{"local": {"media_roots": []}, "destinations": []}"#.utf8))
        let (check, config) = DoctorLocalChecks.config(path: path.string)
        #expect(config == nil)
        #expect(check.status == .fail)
        #expect(check.detail.contains("media_roots") || check.detail.contains("destinations"), "\(check.detail)")
        #expect(check.fix?.contains("config check --config \(path.string)") == true)
    }

    @Test func stateFoldersThatDoNotExistYetAreFineAndAnExistingOneIsProbed() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let config = try Self.config(dir)
        var checks = DoctorLocalChecks.stateFolders(config, configPath: "c.json")
        #expect(checks.map(\.check) == ["state.directory", "state.runtime_directory", "state.lock_folder"])
        #expect(checks.allSatisfy { $0.status == .ok && $0.detail.hasPrefix("does not exist yet") })
        _ = try dir.makeDirectory("db")
        _ = try dir.writeFile("db/state.sqlite", bytes: [])
        _ = try dir.writeFile("run", bytes: [1]) // a file where a folder belongs
        checks = DoctorLocalChecks.stateFolders(config, configPath: "c.json")
        #expect(checks[0].status == .ok && checks[0].detail.hasPrefix("writable by"))
        #expect(checks[1].status == .fail && checks[1].detail == "is not a folder")
        #expect(checks.last?.check == "state.database" && checks.last?.status == .ok)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/db") == ["state.sqlite"], "the probe file stayed")
    }

    @Test(.enabled(if: geteuid() == 0, "bind-mounting a folder read-only needs root"))
    func aStateFolderOnAReadOnlyMountFails() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let config = try Self.config(dir)
        let db = try dir.makeDirectory("db")
        try await ReadOnlyMount.with(source: dir.makeDirectory("elsewhere"), at: db) { () async throws -> Void in
            let check = DoctorLocalChecks.stateFolders(config, configPath: "c.json")[0]
            #expect(check.status == .fail)
            #expect(check.detail.contains("Read-only file system"), "\(check.detail)")
            #expect(check.fix?.contains("state.directory in c.json") == true)
        }
    }

    @Test func keptSourcesNeedNoDeletePermission() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        _ = try dir.makeDirectory("media")
        let checks = DoctorLocalChecks.mediaRoots(try Self.config(dir, deleteSources: false), configPath: "c.json")
        #expect(checks.map(\.status) == [.ok, .ok])
        #expect(checks[1].detail.hasPrefix("not needed"))
    }

    @Test func theMetricsFolderMustExistAndBeWritable() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        #expect(DoctorLocalChecks.metrics(try Self.config(dir), configPath: "c.json").status == .ok)
        let configured = try Self.config(dir, health: #"{"prometheus_textfile": "\#(dir.path)/textfile/dms.prom"}"#)
        let missing = DoctorLocalChecks.metrics(configured, configPath: "c.json")
        #expect(missing.status == .fail && missing.fix?.contains("install -d \(dir.path)/textfile") == true)
        _ = try dir.makeDirectory("textfile")
        #expect(DoctorLocalChecks.metrics(configured, configPath: "c.json").status == .ok)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/textfile").isEmpty)
    }

    @Test func theWebhookURLIsShownWithoutItsPathAndPlainHTTPElsewhereIsAWarning() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        func check(_ url: String) throws -> DoctorCheck {
            DoctorLocalChecks.webhookURL(try Self.config(dir, health: #"{"webhook_url": "\#(url)"}"#), configPath: "c.json")
        }
        #expect(DoctorLocalChecks.webhookURL(try Self.config(dir), configPath: "c.json").detail.hasPrefix("not configured"))
        let slack = try check("https://hooks.slack.com/services/T000/B000/secret-token")
        #expect(slack.status == .ok && slack.subject == "https://hooks.slack.com/…")
        #expect(!slack.detail.contains("secret") && !slack.subject.contains("secret"))
        let plain = try check("http://alerts.example.com:8080/hook")
        #expect(plain.status == .warn && plain.subject == "http://alerts.example.com:8080/…")
        #expect(try check("http://127.0.0.1:9/hook").status == .ok)
        #expect(try check("https://").status == .fail)
    }
}
