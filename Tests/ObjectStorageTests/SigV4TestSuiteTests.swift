import Foundation
import Hashing
import ObjectStorage
import TestSupport
import Testing

/// AWS's published SigV4 test suite (Tests/testdata/aws-sig-v4-test-suite): every case's raw
/// request (.req) is parsed here, signed, and the canonical request, string to sign and
/// Authorization header compared byte for byte with the case's .creq, .sts and .authz.
@Suite("SigV4: AWS test suite")
struct SigV4TestSuiteTests {
    @Test("every case folder has a request and the three expected outputs")
    func suiteIsComplete() throws {
        let cases = try SuiteCase.all()
        // The suite as kept in Tests/testdata: 19 top-level cases, 7 normalize-path, 2 post-sts-token.
        #expect(cases.count >= 28, "found only \(cases.map(\.name))")
        #expect(cases.contains { $0.name == "post-sts-header-before" } && cases.contains { $0.name == "post-sts-header-after" })
        #expect(cases.filter { $0.normalizesPath }.count >= 7)
    }

    @Test("canonical request, string to sign and Authorization match", arguments: try SuiteCase.all())
    func signsLikeAWS(_ suiteCase: SuiteCase) throws {
        let inputs = try SuiteInputs.generic()
        let request = try RawRequest.parse(suiteCase.request)
        let signer = SigV4Signer(
            credentials: inputs.credentials, region: inputs.region, service: inputs.service,
            normalizesPath: true)
        let signed = signer.sign(
            SigV4Request(
                method: request.method, path: request.path, query: request.query, headers: request.headers,
                payloadHash: SHA256Hasher.hash(request.body).hex),
            at: inputs.date)
        #expect(signed.canonicalRequest == suiteCase.canonicalRequest)
        #expect(signed.stringToSign == suiteCase.stringToSign)
        #expect(signed.authorization == suiteCase.authorization)
    }

    @Test("S3 does not normalise paths: each segment is encoded once, dots and double slashes stay")
    func s3KeepsPaths() throws {
        let inputs = try SuiteInputs.generic()
        let s3 = SigV4Signer(credentials: inputs.credentials, region: inputs.region, service: "s3")
        let generic = SigV4Signer(credentials: inputs.credentials, region: inputs.region, service: inputs.service)
        #expect(!s3.normalizesPath && generic.normalizesPath)
        for path in ["/my-object//example//photo.user", "/a/./b/../c", "//"] {
            let request = SigV4Request(
                method: "GET", path: path, headers: [("host", "example.amazonaws.com")],
                payloadHash: SigV4Request.unsignedPayload)
            let canonicalURI = s3.canonicalRequest(request).split(separator: "\n", omittingEmptySubsequences: false)[1]
            #expect(canonicalURI == Substring(path))
        }
        #expect(URIEncoding.canonicalPath("/a b/ü$+%", normalizing: false) == "/a%20b/%C3%BC%24%2B%25")
    }
}

/// One folder of the suite.
struct SuiteCase: Sendable, CustomTestStringConvertible {
    let name: String
    let normalizesPath: Bool
    let request: [UInt8]
    let canonicalRequest: String
    let stringToSign: String
    let authorization: String

    var testDescription: String { normalizesPath ? "normalize-path/\(name)" : name }

    static func root() throws -> URL {
        // Carried in the repository (Apache-2.0: its LICENSE and NOTICE are beside it), so that a
        // bare clone passes.
        let url = URL(fileURLWithPath: try repositoryRoot()).appendingPathComponent("Tests/testdata/aws-sig-v4-test-suite")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestSupportError("the SigV4 test suite is missing: expected \(url.path)")
        }
        return url
    }

    /// Every folder below the suite's root that holds `<folder>.req`.
    static func all() throws -> [SuiteCase] {
        let root = try root()
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw TestSupportError("cannot list \(root.path)")
        }
        var cases: [SuiteCase] = []
        for case let url as URL in walker where url.pathExtension == "req" {
            let folder = url.deletingLastPathComponent()
            let name = folder.lastPathComponent
            guard url.deletingPathExtension().lastPathComponent == name else { continue }
            func text(_ ext: String) throws -> String {
                try String(contentsOf: folder.appendingPathComponent("\(name).\(ext)"), encoding: .utf8)
            }
            cases.append(
                SuiteCase(
                    name: name, normalizesPath: folder.path.contains("/normalize-path/"),
                    request: Array(try Data(contentsOf: url)), canonicalRequest: try text("creq"),
                    stringToSign: try text("sts"), authorization: try text("authz")))
        }
        return cases.sorted { $0.testDescription < $1.testDescription }
    }
}

/// A `.req` file: `METHOD path[?query] HTTP/1.1`, header lines (a line starting with white space
/// continues the previous header's value), an empty line, the body. Paths and queries are raw
/// (not percent-encoded).
struct RawRequest {
    var method: String
    var path: String
    var query: [(name: String, value: String)]
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    static func parse(_ bytes: [UInt8]) throws -> RawRequest {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { throw TestSupportError("empty request") }
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " "),
            firstSpace < lastSpace, requestLine[lastSpace...].hasPrefix(" HTTP/")
        else {
            throw TestSupportError("bad request line: \(requestLine)")
        }
        let method = String(requestLine[..<firstSpace])
        let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]
        var path = String(target)
        var query: [(name: String, value: String)] = []
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            for item in target[target.index(after: mark)...].split(separator: "&") {
                if let equals = item.firstIndex(of: "=") {
                    query.append((name: String(item[..<equals]), value: String(item[item.index(after: equals)...])))
                } else {
                    query.append((name: String(item), value: ""))
                }
            }
        }
        var headers: [(name: String, value: String)] = []
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { throw TestSupportError("continuation line before any header") }
                headers[headers.count - 1].value += "\n" + line
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw TestSupportError("bad header line: \(line)") }
                headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
            }
        }
        if !lines.isEmpty { lines.removeFirst() } // the empty line before the body
        let body = Array(lines.joined(separator: "\n").utf8)
        return RawRequest(method: method, path: path, query: query, headers: headers, body: body)
    }
}

/// Inputs the testdata README states in prose: credentials, region, service, time (and host).
struct SuiteInputs {
    let credentials: AWSCredentials
    let region: String
    let service: String
    let date: SigV4Date
    let host: String?

    static func readme() throws -> String {
        let url = try SuiteCase.root().deletingLastPathComponent().appendingPathComponent("README.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The `Credentials` line of the README section whose heading starts with `heading`.
    static func inputs(section heading: String) throws -> SuiteInputs {
        let readme = try readme()
        guard let start = readme.range(of: "\n## " + heading) else { throw TestSupportError("README: no section \(heading)") }
        // The paragraph that starts with "Credentials" (it wraps over lines), up to a blank line.
        let section = readme[start.upperBound...]
        guard let from = section.range(of: "\nCredentials") else {
            throw TestSupportError("README: no Credentials paragraph in \(heading)")
        }
        let line = section[from.upperBound...].prefix { _ in true }.components(separatedBy: "\n\n")[0]
        let values = line.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        guard values.count >= 5, let date = SigV4Date(amzDate: values[4]) else {
            throw TestSupportError("README: cannot read credentials, region, service and time from: \(line)")
        }
        return SuiteInputs(
            credentials: AWSCredentials(accessKeyID: values[0], secretAccessKey: values[1]),
            region: values[2], service: values[3], date: date, host: values.count > 5 ? values[5] : nil)
    }

    static func generic() throws -> SuiteInputs { try inputs(section: "aws-sig-v4-test-suite") }
    static func s3() throws -> SuiteInputs { try inputs(section: "S3 examples") }
}
