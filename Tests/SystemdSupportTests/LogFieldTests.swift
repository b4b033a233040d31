import Logging
import Testing

@testable import SystemdSupport

@Suite("journald field names and metadata flattening")
struct LogFieldTests {
    @Test(
        "metadata keys become valid journald field names",
        arguments: [
            ("file", "FILE"),
            ("remote-path", "REMOTE_PATH"),
            ("bytes.sent", "BYTES_SENT"),
            ("Destination", "DESTINATION"),
            ("_private", "PRIVATE"),
            ("__SYSTEMD_UNIT", "SYSTEMD_UNIT"),
            ("2fa_code", "FA_CODE"),
            ("_9_x", "X"),
            ("größe", "GR__E"),
            ("a b\nc", "A_B_C"),
            ("message_id", "MESSAGE_ID"),
            ("MESSAGE_ID", "MESSAGE_ID"),
            ("Message_Id", "MESSAGE_ID")
        ])
    func names(key: String, expected: String) {
        #expect(journaldFieldName(key) == expected)
    }

    @Test("keys with nothing usable are dropped", arguments: ["", "_", "___", "123", "_1_2", "0"])
    func dropped(key: String) {
        #expect(journaldFieldName(key) == nil)
    }

    @Test("names are at most 64 characters")
    func length() throws {
        let name = try #require(journaldFieldName("_" + String(repeating: "k", count: 100)))
        #expect(name == String(repeating: "K", count: 64))
    }

    @Test("nested metadata is flattened and sorted; secret keys are blanked")
    func flatten() {
        let metadata: Logger.Metadata = [
            "z": "last",
            "transfer": ["bytes": "10", "peer": ["host": "nas"]],
            "files": ["a.mp4", "b.jpg"],
            "mixed": [.string("x"), .dictionary(["k": "v"])],
            "count": .stringConvertible(42),
            "secret_key": "AKIAEXAMPLE/abc",
            "url": "https://s3/x?X-Amz-Signature=deadbeef&a=1"
        ]
        let flat = flattenLogMetadata(metadata)
        #expect(flat.map(\.key) == ["count", "files", "mixed", "secret_key", "transfer.bytes", "transfer.peer.host", "url", "z"])
        let dict = Dictionary(uniqueKeysWithValues: flat.map { ($0.key, $0.value) })
        #expect(dict["files"] == "[a.mp4, b.jpg]")
        #expect(dict["mixed"] == "[x, [k: v]]")
        #expect(dict["count"] == "42")
        #expect(dict["transfer.peer.host"] == "nas")
        #expect(dict["secret_key"] == "<redacted>")
        #expect(dict["url"] == "https://s3/x?X-Amz-Signature=<redacted>&a=1")
    }

    @Test("journal entry fields: fixed fields, priority, metadata names, collisions, redaction")
    func entryFields() {
        let fields = JournaldLogHandler.fields(
            level: .warning, message: "upload failed Authorization: AWS4-HMAC-SHA256 Credential=x",
            metadata: [
                "message_id": "0123456789abcdef0123456789abcdef", "remote-path": "/nas/a\nb.mp4",
                "priority": "user value", "123": "dropped"
            ],
            label: "sync", identifier: "dji-media-sync",
            file: "MediaSync/Cycle.swift", function: "run()", line: 42)
        let names = fields.map(\.name)
        #expect(
            names == [
                "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
                "LOGGER", "MESSAGE_ID", "META_PRIORITY", "REMOTE_PATH"
            ])
        let value = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(value["MESSAGE"] == "upload failed Authorization: <redacted>")
        #expect(value["PRIORITY"] == "4")
        #expect(value["CODE_LINE"] == "42")
        #expect(value["MESSAGE_ID"] == "0123456789abcdef0123456789abcdef")
        #expect(value["REMOTE_PATH"] == "/nas/a\nb.mp4")
        #expect(value["META_PRIORITY"] == "user value")
    }

    @Test("swift-log levels map to syslog priorities")
    func priorities() {
        let expected: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5),
            (.warning, 4), (.error, 3), (.critical, 2)
        ]
        for (level, priority) in expected {
            #expect(JournaldLogHandler.priority(level) == priority)
        }
    }

    @Test("message metadata wins over the handler's; an error becomes error=")
    func merging() {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let merged = mergedMetadata(
            handler: ["a": "handler", "b": "handler"], provider: nil,
            event: ["b": "message"], error: Boom())
        #expect(merged["a"] == "handler")
        #expect(merged["b"] == "message")
        #expect(merged["error"] == "boom")
    }
}
