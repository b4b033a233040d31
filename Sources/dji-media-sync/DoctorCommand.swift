import ArgumentParser
import Configuration
import Foundation
import LocalFS
import Logging
import MediaSync
import S3Sync
import SSHTransport
import SystemPackage

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the set-up end to end: config, media folders, state folders, each destination, metrics, webhook.",
        discussion: """
            Permissions are checked for the user running doctor: run it as the service's user (root by default). \
            Nothing is changed, except with --write-test (a tiny object under each S3 prefix, deleted again, and a test \
            alert to the webhook). Exit status: 0 no ✗ (warnings allowed), 1 at least one ✗. See docs/operations.md.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Machine-readable output (schema_version 1).") var json = false
    @Flag(name: .long, help: "Also PUT, HEAD and DELETE a tiny object under each S3 prefix, and send a test alert to the webhook.")
    var writeTest = false
    @Flag(name: .long, help: "Send a test alert to the webhook (without the S3 write test).") var webhookTest = false

    func run() async throws {
        LocalFS.ignoreSIGPIPE()
        // ssh's and curl's own messages go to stderr only at error level; the report is stdout.
        var logger = Logger(label: "dji-media-sync.doctor")
        logger.logLevel = .critical
        let checks = await Self.checks(
            configPath: global.config, writeTest: writeTest,
            webhookTest: writeTest || webhookTest, logger: logger)
        let report = DoctorReport(checks: checks, host: LocalFS.hostName())
        if json {
            print(report.json())
        } else {
            let color = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            print(report.table(color: color), terminator: "")
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    static func checks(configPath: String, writeTest: Bool, webhookTest: Bool, logger: Logger) async -> [DoctorCheck] {
        let (configCheck, loaded) = DoctorLocalChecks.config(path: configPath)
        guard let config = loaded else { return [configCheck] }
        var checks = [configCheck]
        checks += DoctorLocalChecks.mediaRoots(config, configPath: configPath)
        checks += DoctorLocalChecks.stateFolders(config, configPath: configPath)
        checks += await destinationChecks(config, writeTest: writeTest, logger: logger)
        checks.append(DoctorLocalChecks.metrics(config, configPath: configPath))
        let url = DoctorLocalChecks.webhookURL(config, configPath: configPath)
        checks.append(url)
        if let webhook = config.health.webhookURL, url.status != .fail {
            checks.append(
                webhookTest
                    ? await webhookCheck(WebhookSender(url: webhook, timeoutSeconds: config.health.webhookTimeoutSeconds, logger: logger), subject: url.subject)
                    : DoctorCheck("webhook.test", subject: url.subject, .skip, "not run: pass --webhook-test or --write-test to send a test alert"))
        }
        return checks
    }

    static func destinationChecks(_ config: MediaSyncConfig, writeTest: Bool, logger: Logger) async -> [DoctorCheck] {
        // ssh's control socket goes to a private folder: the doctor, run as another user or while
        // the service is stopped, must not create the service's runtime folder. /tmp, not TMPDIR:
        // a socket path has at most 107 bytes.
        var template = Array("/tmp/dms-doctor-XXXXXX".utf8CString)
        let runtime =
            template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) }
            ?? "/tmp/dms-doctor-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let storage = config.storageManagement
        let minFree = storage.enableSpaceCheck ? Int64(storage.minFreeSpaceGB * 1_000_000_000) : nil
        var checks: [DoctorCheck] = []
        for destination in config.destinations {
            switch destination {
            case let .nas(nas):
                let nasDestination = NASDestination(
                    config: nas, integrity: config.integrity, concurrency: config.concurrency,
                    runtimeDirectory: runtime, instanceID: "doctor")
                checks += await nasDestination.doctorChecks(
                    minFreeBytes: minFree, usageWarning: config.health.destinationUsageWarning,
                    logger: logger)
            case let .s3(s3):
                checks += await S3Settings(s3, of: config).doctorChecks(writeTest: writeTest)
            }
        }
        return checks
    }

    static func webhookCheck(_ sender: WebhookSender, subject: String) async -> DoctorCheck {
        switch await sender.sendTest() {
        case let .success(status) where (200..<300).contains(status):
            return .ok("webhook.test", subject, "a test alert was accepted (HTTP \(status))")
        case let .success(status):
            return .fail(
                "webhook.test", subject, "the webhook answered HTTP \(status) to a test alert",
                fix: "check the URL's path and token in health.webhook_url, and what the receiver expects (docs/operations.md, \"Health and alerts\")")
        case let .failure(error):
            return .fail(
                "webhook.test", subject, "no answer to a test alert: \(sender.redacted(error))",
                fix: "check that this machine reaches the receiver (DNS, proxy, firewall) within health.webhook_timeout_seconds")
        }
    }
}
