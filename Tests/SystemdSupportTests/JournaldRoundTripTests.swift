import Foundation
import Logging
import TestSupport
import Testing

@testable import SystemdSupport

/// journald is the only judge of what sd_journal_sendv produced; without one on the host
/// (containers, CI) the systemd e2e suite, which boots a real systemd, covers this.
private let journaldRunning = access("/run/systemd/journal/socket", F_OK) == 0

@Suite("JournaldLogHandler writes entries journald accepts")
struct JournaldRoundTripTests {
    @Test(
        "an entry sent through the handler reads back with its fields",
        .enabled(if: journaldRunning, "no journald on this host; covered by the systemd e2e suite"))
    func roundTrip() async throws {
        let id = (0..<32).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        var logger = Logger(label: "systemd-support-tests") {
            JournaldLogHandler(label: $0, syslogIdentifier: "dji-media-sync-tests", metadataProvider: nil)
        }
        logger[metadataKey: "destination"] = "nas"
        logger.warning(
            "round trip \(id)",
            metadata: [
                "message_id": .string(id),
                "remote-path": "/media/a\nb.mp4",
                "secret_key": "must-not-appear"
            ])

        var entry: [String: Any]?
        try await waitUntil(timeout: .seconds(10), waitingFor: "the entry in journalctl") {
            entry = Self.readEntry(messageID: id)
            return entry != nil
        }
        let e = try #require(entry)
        #expect(e["MESSAGE"] as? String == "round trip \(id)")
        #expect(e["PRIORITY"] as? String == "4")
        #expect(e["SYSLOG_IDENTIFIER"] as? String == "dji-media-sync-tests")
        #expect(e["DESTINATION"] as? String == "nas")
        #expect(e["REMOTE_PATH"] as? String == "/media/a\nb.mp4")
        #expect(e["SECRET_KEY"] as? String == "<redacted>")
        #expect(e["LOGGER"] as? String == "systemd-support-tests")
        #expect((e["CODE_FILE"] as? String)?.hasSuffix("JournaldRoundTripTests.swift") == true)
    }

    /// The first entry `journalctl -o json MESSAGE_ID=<id>` prints, parsed. `id` is hex.
    private static func readEntry(messageID id: String) -> [String: Any]? {
        guard let pipe = popen("journalctl --no-pager -o json MESSAGE_ID=\(id) 2>/dev/null", "r") else { return nil }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, pipe)
            if n <= 0 { break }
            data.append(contentsOf: buffer[..<n])
        }
        pclose(pipe)
        guard let firstLine = data.split(separator: UInt8(ascii: "\n")).first else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(firstLine))) as? [String: Any]
    }
}
