import Backoff
import CurlHTTP
import Foundation
import LocalFS
import Logging
import MediaSync

/// Posts alerts as JSON to `health.webhook_url` over libcurl (TLS verified, bounded time,
/// a few retries). Never throws and never blocks a cycle: the daemon runs it in its own task.
struct WebhookSender: Sendable {
    let url: String
    let timeoutSeconds: Double
    let logger: Logger
    let host = LocalFS.hostName()
    static let attempts = 3

    func deliver(_ alerts: [AlertDecider.Alert]) async {
        guard !alerts.isEmpty else { return }
        let client = HTTPClient(
            configuration: HTTPClientConfiguration(
                connectTimeoutSeconds: max(1, Int(timeoutSeconds.rounded(.up))),
                totalTimeoutSeconds: max(1, Int(timeoutSeconds.rounded(.up)))))
        for alert in alerts {
            let body: [String: Any] = [
                "source": "dji-media-sync", "host": host, "state": alert.state, "rule": alert.rule,
                "level": alert.level, "message": alert.message,
                "time": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: alert.time))
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) else { continue }
            let request = HTTPRequest(
                method: HTTPMethod(rawValue: "POST"), url: url,
                headers: ["Content-Type": "application/json"], body: .bytes([UInt8](data)))
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let response = try await client.send(request)
                    if (200..<300).contains(response.status) { break }
                    throw WebhookError(status: response.status)
                } catch {
                    guard attempt < Self.attempts, !Task.isCancelled else {
                        logger.warning("webhook: could not deliver the \(alert.state) alert \(alert.rule) after \(attempt) attempts: \(redacted(error))")
                        break
                    }
                    // Cancelled while waiting: the guard above ends the loop next time round.
                    try? await Task.sleep(for: Self.backoff.duration(afterAttempts: attempt))
                }
            }
        }
    }

    /// 1 s, 2 s, 4 s … at most 30 s, ±25 %.
    static let backoff = Backoff(base: 1, maximum: 30, jitter: 0.25)

    struct WebhookError: Error, CustomStringConvertible {
        let status: Int
        var description: String { "the webhook answered HTTP \(status)" }
    }
}

extension WebhookSender {
    /// The URL as it may be shown: scheme, host and port. Webhook URLs often carry their token in
    /// the path (Slack, Teams), which curl's error text would otherwise repeat into the journal.
    var shownURL: String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return "the webhook URL" }
        return "\(scheme)://\(host)\(parsed.port.map { ":\($0)" } ?? "")/…"
    }

    func redacted(_ error: any Error) -> String {
        "\(error)".replacingOccurrences(of: HTTPRequest.redact(url), with: shownURL)
    }

    /// One test alert (`doctor --webhook-test`), sent once without retries: the HTTP status, or why
    /// there was none. Receivers see `"state": "test"` and can ignore it.
    func sendTest() async -> Result<Int, any Error> {
        let client = HTTPClient(
            configuration: HTTPClientConfiguration(
                connectTimeoutSeconds: max(1, Int(timeoutSeconds.rounded(.up))),
                totalTimeoutSeconds: max(1, Int(timeoutSeconds.rounded(.up)))))
        let body: [String: Any] = [
            "source": "dji-media-sync", "host": host, "state": "test", "rule": "doctor", "level": "info",
            "message": "test alert from dji-media-sync doctor on \(host); no action needed",
            "time": ISO8601DateFormatter().string(from: Date())
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            let request = HTTPRequest(
                method: HTTPMethod(rawValue: "POST"), url: url,
                headers: ["Content-Type": "application/json"], body: .bytes([UInt8](data)))
            return .success(try await client.send(request).status)
        } catch {
            return .failure(error)
        }
    }
}
