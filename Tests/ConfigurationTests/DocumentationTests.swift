import Configuration
import Foundation
import Testing

/// docs/configuration.md has one table per section; each row starts `| \`key\` | type | default | meaning |`.
struct DocumentedSection {
    struct Row {
        let key: String
        let type: String
        let defaultValue: String
    }

    let name: String
    var rows: [Row] = []
}

func documentedSections() throws -> [DocumentedSection] {
    let url = repositoryRoot().appendingPathComponent("docs/configuration.md")
    let text = try String(contentsOf: url, encoding: .utf8)
    var sections: [DocumentedSection] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("## ") {
            // A section heading is "## `name`"; other headings (## Rules) are prose.
            let heading = line.dropFirst(3)
            if heading.hasPrefix("`"), let end = heading.dropFirst().firstIndex(of: "`") {
                var name = String(heading[heading.index(after: heading.startIndex)..<end])
                // "## `destinations` of type `s3`": the keys of that destination type.
                if heading.hasSuffix(" of type `s3`") { name += " (s3)" }
                sections.append(DocumentedSection(name: name))
            }
        } else if line.hasPrefix("| `"), !sections.isEmpty {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            // "", key, type, default, meaning, ""
            guard cells.count == 6 else {
                Issue.record("table row without four cells: \(line)")
                continue
            }
            let key = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            sections[sections.count - 1].rows.append(.init(key: key, type: cells[2], defaultValue: cells[3]))
        }
    }
    return sections
}

@Suite struct DocumentationTests {
    @Test func everyKeyIsDocumentedAndEveryDocumentedKeyExists() throws {
        let documented = try documentedSections()
        #expect(documented.map(\.name).filter { $0 != "destinations (s3)" } == ConfigLoader.topLevelKeys)
        for (name, section) in ConfigLoader.sections.map({ ($0.name, $0) }) + [("destinations (s3)", ConfigLoader.s3Destination)] {
            let rows = documented.first { $0.name == name }?.rows ?? []
            let keys = rows.map(\.key)
            #expect(keys == section.keys, "section \(section.name): docs \(keys), loader \(section.keys)")
            let required = rows.filter { $0.defaultValue == "*required*" }.map(\.key)
            #expect(required == section.requiredKeys, "section \(section.name)")
        }
    }

    @Test func documentedTypesAreKnown() throws {
        let types: Set = ["string", "string or null", "integer", "number", "boolean", "array of strings"]
        for section in try documentedSections() {
            for row in section.rows {
                #expect(types.contains(row.type), "\(section.name).\(row.key): \(row.type)")
            }
        }
    }

    /// `null` is accepted exactly where the Type column says "or null".
    @Test func documentedNullsMatchTheCode() throws {
        for section in try documentedSections() {
            for row in section.rows where row.defaultValue != "*required*" {
                let field = "\"\(row.key)\": null"
                let json =
                    switch section.name {
                    case "local": Doc.make(local: Doc.local + ", " + field)
                    case "destinations": Doc.nas(field)
                    // A provider for which this key may be null.
                    case "destinations (s3)" where row.key == "endpoint":
                        Doc.s3(#""provider": "aws", "bucket": "dji-media", "region": "eu-central-1", "# + field)
                    case "destinations (s3)": Doc.s3(field)
                    default: Doc.with(section.name, field)
                    }
                let error = parseError(json)
                if row.type.hasSuffix("or null") {
                    #expect(error == nil, "\(section.name).\(row.key): \(String(describing: error))")
                } else {
                    #expect(error?.kind == .wrongType, "\(section.name).\(row.key) accepts null")
                    #expect(error?.found == "null")
                }
            }
        }
    }

    /// A file built from the documented defaults (plus the required keys) loads to the same
    /// configuration as a minimal file: the Default column matches the code.
    @Test func documentedDefaultsMatchTheCode() throws {
        var root: [String: Any] = [:]
        var s3Object: [String: Any] = [:]
        let required: [String: Any] = [
            "media_roots": ["/data/dji/media"], "type": "nas", "host": "nas.local", "base_path": "/volume1/dji-media",
            "provider": "aws", "bucket": "dji-media"
        ]
        for section in try documentedSections() {
            var object: [String: Any] = [:]
            for row in section.rows {
                if row.defaultValue == "*required*" {
                    guard let value = required[row.key] else {
                        Issue.record("no test value for the required key \(row.key)")
                        continue
                    }
                    object[row.key] = value
                    continue
                }
                #expect(
                    row.defaultValue.hasPrefix("`") && row.defaultValue.hasSuffix("`"),
                    "\(section.name).\(row.key): default \(row.defaultValue) is not a JSON literal")
                let literal = row.defaultValue.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
                object[row.key] = try JSONSerialization.jsonObject(with: Data(literal.utf8), options: .fragmentsAllowed)
            }
            if section.name == "destinations (s3)" {
                object["type"] = "s3"
                object["provider"] = "aws"
                object["bucket"] = "dji-media"
                object["region"] = "eu-central-1"
                s3Object = object
            } else {
                root[section.name] = section.name == "destinations" ? [object] : object
            }
        }
        let data = try JSONSerialization.data(withJSONObject: root)
        #expect(try ConfigLoader.parse(data, source: "docs") == parse(Doc.make()))

        var expected = MediaSyncConfig.S3(provider: "aws", bucket: "dji-media")
        expected.region = "eu-central-1"
        root["destinations"] = [s3Object]
        let s3Config = try ConfigLoader.parse(JSONSerialization.data(withJSONObject: root), source: "docs")
        #expect(s3Config.destinations == [.s3(expected)])
    }

    @Test func documentedLimitsMatchTheCode() throws {
        let text = try String(contentsOf: repositoryRoot().appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        #expect(text.contains("At most \(ConfigLoader.maxRuntimeDirectoryBytes) bytes long"))
        #expect(text.contains("dji-media-sync config check [--config PATH]"))
        #expect(text.contains("exits 78"))
        #expect(text.contains(MediaSyncConfig.defaultPath))
        for level in ConfigLoader.logLevels { #expect(text.contains("`\"\(level)\"`")) }
        for option in ConfigLoader.reservedSSHOptions + ConfigLoader.sshOptionsWithKeys.map(\.option) {
            #expect(text.contains("`\(option)`"), "\(option)")
        }
    }
}
