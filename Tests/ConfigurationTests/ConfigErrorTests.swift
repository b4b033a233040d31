import Configuration
import Testing

/// Every file of ConfigErrorCases.swift is rejected with its kind, key path and phrases.
@Suite struct ConfigErrorTests {
    @Test(arguments: errorCases)
    func rejected(_ testCase: ErrorCase) throws {
        let error = try #require(parseError(testCase.json), "accepted:\n\(testCase.json)")
        #expect(error.kind == testCase.kind, "\(error)")
        #expect(error.keyPath == testCase.path, "\(error)")
        #expect(error.file == "test.json")
        let prefix = testCase.path.isEmpty ? "test.json: " : "test.json: \(testCase.path): "
        #expect(error.description.hasPrefix(prefix), "\(error)")
        for phrase in testCase.phrases {
            #expect(error.description.contains(phrase), "\(error)\ndoes not contain\n\(phrase)")
        }
        #expect(error.exitCode == 78)
    }

    @Test func messagesReadAsDocumented() {
        #expect(
            parseError(Doc.nas(#""port": "22a""#), source: "media_sync_config.json")?.description
                == #"media_sync_config.json: destinations[0].port: expected an integer from 1 to 65535, found "22a" (a string)"#)
        let unknown = parseError(Doc.with("delete_policy", #""delay_minuts": 5"#), source: "media_sync_config.json")
        #expect(
            unknown?.description
                == #"media_sync_config.json: delete_policy.delay_minuts: unknown key; did you mean "delay_minutes"?"#)
        #expect(unknown?.suggestion == "delay_minutes")
        #expect(unknown?.found == #""delay_minuts""#)
    }

    @Test func structuredFieldsMatchTheMessage() throws {
        let error = try #require(parseError(Doc.with("concurrency_control", #""parallel_transfers": 0"#)))
        #expect(error.expected == "an integer from 1 to 32")
        #expect(error.found == "0 (a number)")
        #expect(error.message == "expected an integer from 1 to 32, found 0 (a number)")
    }

    @Test func firstErrorInDocumentOrderIsReported() {
        // Two problems in one object: whichever comes first in the file is reported.
        #expect(
            parseError(Doc.with("delete_policy", #""delay_minutes": -1, "delay_minuts": 5"#))?.keyPath
                == "delete_policy.delay_minutes")
        #expect(
            parseError(Doc.with("delete_policy", #""delay_minuts": 5, "delay_minutes": -1"#))?.keyPath
                == "delete_policy.delay_minuts")
        // Across sections, too.
        let json = #"""
            { "schedule": { "interval_minutes": 0 }, "local": { "media_roots": [] }, "destinations": [] }
            """#
        #expect(parseError(json)?.keyPath == "schedule.interval_minutes")
        // Unknown keys are reported before missing required ones.
        #expect(
            parseError(Doc.make(nas: [#""type": "nas", "hots": "h", "base_path": "/v""#]))?.keyPath
                == "destinations[0].hots")
        // The same file always gives the same error.
        let messy = Doc.make(local: #""media_roots": ["x"], "extensions": [], "zzz": 1, "aaa": 2"#)
        let first = parseError(messy)
        for _ in 0..<20 { #expect(parseError(messy) == first) }
        #expect(first?.keyPath == "local.media_roots[0]")
    }

    @Test func invalidJSONGivesLineAndColumn() throws {
        let json = "{\n  \"local\": {\n    \"media_roots\": [/data]\n  }\n}"
        let error = try #require(parseError(json))
        #expect(error.kind == .invalidJSON)
        #expect(error.keyPath == "")
        #expect(error.description.hasPrefix("test.json: not valid JSON: "), "\(error)")
        #expect(error.description.contains("line 3, column 21"), "\(error)")
    }

    @Test(arguments: [
        ("", "the file is empty"),
        ("  \n", "the file is empty"),
        (#"{"local": {}} x"#, "not valid JSON"),
        (#"{"local": "#, "not valid JSON"),
        ("{\"a\": \"\u{0}\"}", "NUL byte at line 1, column 8"),
        (#"{"local": {"media_roots": ["/x",]}}"#, "comma before a closing bracket at line 1, column 32"),
        ("{\n \"local\": {},\n}", "comma before a closing bracket at line 2, column 13")
    ])
    func invalidJSON(_ json: String, _ phrase: String) throws {
        let error = try #require(parseError(json))
        #expect(error.kind == .invalidJSON)
        #expect(error.description.hasPrefix("test.json: not valid JSON: "), "\(error)")
        #expect(error.description.contains(phrase), "\(error)")
    }

    @Test func notUTF8() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse([0x7B, 0xFF, 0x7D], source: "test.json")
        }
        #expect(error.description == "test.json: not valid JSON: the file is not UTF-8 text")
    }
}
