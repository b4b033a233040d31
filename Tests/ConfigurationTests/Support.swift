import Configuration
import Foundation

/// Builds configuration documents for tests: a valid minimal file with pieces replaced or added.
enum Doc {
    static let local = #""media_roots": ["/data/dji/media"]"#
    static let nas = #""type": "nas", "host": "nas.local", "base_path": "/volume1/dji-media""#

    static let s3 = #""type": "s3", "provider": "minio", "bucket": "dji-media", "endpoint": "http://127.0.0.1:9000""#

    /// A minimal file whose only destination is an s3 one of `fields` (replacing the defaults
    /// above when `fields` has a "provider").
    static func s3(_ fields: String) -> String {
        make(nas: [fields.contains("\"provider\"") ? #""type": "s3", "# + fields : s3 + ", " + fields])
    }

    /// `{"local": {<local>}, "destinations": [{<nas>}, ...], <extra>}`
    static func make(local: String = local, nas: [String] = [nas], extra: String = "") -> String {
        let destinations = nas.map { "{ \($0) }" }.joined(separator: ", ")
        return """
            {
              "local": { \(local) },
              "destinations": [\(destinations)]\(extra.isEmpty ? "" : ",\n  " + extra)
            }
            """
    }

    /// A minimal file plus one more section.
    static func with(_ section: String, _ body: String) -> String {
        make(extra: "\"\(section)\": { \(body) }")
    }

    /// A minimal file whose only destination has `fields` added.
    static func nas(_ fields: String) -> String {
        make(nas: [nas + ", " + fields])
    }
}

func parse(_ json: String, source: String = "test.json") throws(ConfigError) -> MediaSyncConfig {
    try ConfigLoader.parse(Array(json.utf8), source: source)
}

/// The error parsing `json` throws, or nil if it parses.
func parseError(_ json: String, source: String = "test.json") -> ConfigError? {
    do {
        _ = try parse(json, source: source)
        return nil
    } catch {
        return error
    }
}

/// The checkout: the first folder above this file holding Package.swift.
func repositoryRoot(file: String = #filePath) -> URL {
    var url = URL(fileURLWithPath: file).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        url = url.deletingLastPathComponent()
    }
    fatalError("no Package.swift above \(file)")
}

/// A fresh empty folder under the system's temporary directory.
func makeTemporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("ConfigurationTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
