import Logging
import Testing

@testable import SystemdSupport

@Suite("StderrLogHandler line format")
struct StderrLogHandlerTests {
    let t = 1_795_430_401 // 2026-11-23T10:40:01Z

    @Test("time, padded level, message, sorted metadata; spaces quoted")
    func basicLine() {
        let line = StderrLogHandler.formatLine(
            epochSeconds: t, level: .info, message: "message",
            metadata: ["key2": "value with space", "key": "value"])
        #expect(line == #"2026-11-23T10:40:01Z info  message key=value key2="value with space""#)
    }

    @Test("long level names are not padded")
    func levels() {
        #expect(
            StderrLogHandler.formatLine(epochSeconds: t, level: .warning, message: "m", metadata: [:])
                == "2026-11-23T10:40:01Z warning m")
        #expect(
            StderrLogHandler.formatLine(epochSeconds: t, level: .error, message: "m", metadata: [:])
                == "2026-11-23T10:40:01Z error m")
    }

    @Test("quotes, backslashes, empty values, newlines and control characters are escaped")
    func escaping() {
        let line = StderrLogHandler.formatLine(
            epochSeconds: t, level: .error, message: "two\nlines\u{1B}[31m",
            metadata: ["a": #"say "hi""#, "b": "", "c": "x\ny", "d": #"back\slash"#, "e": "tab\there", "f": "k=v"])
        #expect(line == #"2026-11-23T10:40:01Z error two\nlines\u{1B}[31m a="say \"hi\"" b="" c="x\ny" d="back\\slash" e="tab\there" f="k=v""#)
        #expect(!line.contains("\n"))
    }

    @Test("non-ASCII values: plain ones stay bare, C1 controls and line separators are escaped")
    func escapingBeyondASCII() {
        let line = StderrLogHandler.formatLine(
            epochSeconds: t, level: .info, message: "m\u{2028}n",
            metadata: ["a": "ünï/DJI_0001.JPG", "b": "x\u{85}y", "c": "p\u{2029}q", "d": "ü ü", "e": "del\u{7F}"])
        #expect(line == #"2026-11-23T10:40:01Z info  m\u{2028}n a=ünï/DJI_0001.JPG b="x\u{85}y" c="p\u{2029}q" d="ü ü" e="del\u{7F}""#)
    }

    @Test("secrets are blanked in the message and in values")
    func redaction() {
        let line = StderrLogHandler.formatLine(
            epochSeconds: t, level: .info, message: "GET /x?X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=abc",
            metadata: ["password": "hunter2", "header": "Authorization: Bearer xyz"])
        #expect(line == #"2026-11-23T10:40:01Z info  GET /x?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted> header="Authorization: <redacted>" password=<redacted>"#)
    }

    @Test("colour only wraps the level name")
    func colours() {
        let line = StderrLogHandler.formatLine(epochSeconds: t, level: .warning, message: "m", metadata: [:], colors: true)
        #expect(line == "2026-11-23T10:40:01Z \u{1B}[33mwarning\u{1B}[0m m")
        let info = StderrLogHandler.formatLine(epochSeconds: t, level: .info, message: "m", metadata: [:], colors: true)
        #expect(info == "2026-11-23T10:40:01Z info  m")
    }

    @Test(
        "UTC timestamps",
        arguments: [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_795_430_401, "2026-11-23T10:40:01Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z")
        ])
    func timestamps(seconds: Int, expected: String) {
        #expect(StderrLogHandler.utcTimestamp(epochSeconds: seconds) == expected)
    }
}

@Suite("redactSecrets")
struct SecretRedactionTests {
    @Test(
        "secrets are blanked",
        arguments: [
            (
                "https://b.s3/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F20261123%2Fus&X-Amz-Signature=0f3a9c&x-id=GetObject",
                "https://b.s3/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>&x-id=GetObject"
            ),
            ("x-amz-signature=abc", "x-amz-signature=<redacted>"),
            ("X-Amz-Security-Token: FQoG+/abc==\nnext", "X-Amz-Security-Token: <redacted>\nnext"),
            (
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=ff\r\nHost: a",
                "Authorization: <redacted>\r\nHost: a"
            ),
            ("authorization:Bearer abc", "authorization:<redacted>"),
            (#"{"Authorization": "Bearer abc", "k": 1}"#, #"{"Authorization": "<redacted>", "k": 1}"#),
            ("secret_key=wJalrXUtnFEMI/K7MDENG rest", "secret_key=<redacted> rest"),
            ("aws_secret_access_key = wJalr", "aws_secret_access_key = <redacted>"),
            (#"{"secret_key": "wJa\"lr", "region": "us"}"#, #"{"secret_key": "<redacted>", "region": "us"}"#),
            ("SecretAccessKey: abc, next=1", "SecretAccessKey: <redacted>, next=1"),
            ("config.secret_key='abc'", "config.secret_key='<redacted>'"),
            ("password=hunter2&user=bob", "password=<redacted>&user=bob"),
            ("session_token=tok123", "session_token=<redacted>"),
            // Every trigger word, in upper case.
            ("PASSWORD=hunter2", "PASSWORD=<redacted>"), ("API_KEY=abc", "API_KEY=<redacted>"),
            ("SESSION_TOKEN=abc", "SESSION_TOKEN=<redacted>"), ("PRIVATE_KEY=abc", "PRIVATE_KEY=<redacted>"),
            ("AWS_CREDENTIAL=abc", "AWS_CREDENTIAL=<redacted>"), ("X-AMZ-SIGNATURE=abc", "X-AMZ-SIGNATURE=<redacted>"),
            ("MY_SECRET=abc", "MY_SECRET=<redacted>"), ("REQUEST_SIGNATURE=abc", "REQUEST_SIGNATURE=<redacted>")
        ])
    func redacts(input: String, expected: String) {
        #expect(redactSecrets(input) == expected)
    }

    @Test(
        "ordinary text is left alone",
        arguments: [
            "copied DJI_0001.MP4 (1.2 GiB) to nas:/media/2026/11/23",
            "authorization header missing",
            "secret_key=",
            "tokens=5 signatures verified",
            "",
            "ünïcödé text with X-Amz-Date=20261123T000000Z"
        ])
    func leavesAlone(input: String) {
        #expect(redactSecrets(input) == input)
    }

    @Test(
        "secret-looking metadata keys",
        arguments: [
            ("secret_key", true), ("aws_secret_access_key", true), ("password", true), ("s3.secret_key", true),
            ("authorization", true), ("api_key", true), ("session_token", true), ("X-Amz-Signature", true),
            ("path", false), ("tokens", false), ("message_id", false), ("remote_path", false)
        ])
    func secretKeys(key: String, expected: Bool) {
        #expect(isSecretKey(key) == expected)
    }
}
