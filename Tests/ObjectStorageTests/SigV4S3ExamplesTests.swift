import CurlHTTP
import Hashing
import ObjectStorage
import TestSupport
import Testing

/// The S3 signature examples of the AWS S3 API reference, as tabled in Tests/testdata/README.md:
/// the requests are built here from the table's descriptions; the expected signatures (and signed
/// header lists) are read from the table.
@Suite("SigV4: S3 examples")
struct SigV4S3ExamplesTests {
    let inputs: SuiteInputs
    let host: String
    let signer: SigV4Signer

    init() throws {
        inputs = try SuiteInputs.s3()
        host = try #require(inputs.host)
        signer = SigV4Signer(credentials: inputs.credentials, region: inputs.region, service: inputs.service)
    }

    private var emptyHash: String { SHA256Hasher.hash([UInt8]()).hex }

    private func headers(_ extra: [(name: String, value: String)], payloadHash: String) -> [(name: String, value: String)] {
        [("Host", host), ("x-amz-date", inputs.date.amzDate), ("x-amz-content-sha256", payloadHash)] + extra
    }

    @Test("GET /test.txt with Range")
    func getWithRange() throws {
        let row = try ExampleRow.find("GET `/test.txt`")
        let signed = signer.sign(
            SigV4Request(
                method: "GET", path: "/test.txt",
                headers: headers([("Range", "bytes=0-9")], payloadHash: emptyHash),
                payloadHash: emptyHash), at: inputs.date)
        #expect(signed.signedHeaders == row.signedHeaders)
        #expect(signed.signature == row.signature)
    }

    @Test("PUT /test$file.text (the $ is encoded once)")
    func putWithDollar() throws {
        let row = try ExampleRow.find("PUT `/test$file.text`")
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = SHA256Hasher.hash(body).hex
        let signed = signer.sign(
            SigV4Request(
                method: "PUT", path: "/test$file.text",
                headers: headers(
                    [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                    payloadHash: hash),
                payloadHash: hash), at: inputs.date)
        #expect(signed.canonicalRequest.split(separator: "\n")[1] == Substring(try #require(row.backticked.dropFirst().first)))
        #expect(signed.signedHeaders == row.signedHeaders)
        #expect(signed.signature == row.signature)
    }

    @Test("GET /?lifecycle (a parameter without value)")
    func getLifecycle() throws {
        let row = try ExampleRow.find("GET `/?lifecycle`")
        let signed = signer.sign(
            SigV4Request(
                method: "GET", path: "/", query: [("lifecycle", "")],
                headers: headers([], payloadHash: emptyHash), payloadHash: emptyHash),
            at: inputs.date)
        #expect(signed.signedHeaders == row.signedHeaders)
        #expect(signed.signature == row.signature)
    }

    @Test("GET /?max-keys=2&prefix=J")
    func listWithQuery() throws {
        let row = try ExampleRow.find("GET `/?max-keys=2&prefix=J`")
        let signed = signer.sign(
            SigV4Request(
                method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                headers: headers([], payloadHash: emptyHash), payloadHash: emptyHash),
            at: inputs.date)
        #expect(signed.signedHeaders == row.signedHeaders)
        #expect(signed.signature == row.signature)
    }

    @Test("presigned GET /test.txt, 86400 s, through the signer and through S3Client")
    func presignedGet() throws {
        let row = try ExampleRow.find("presigned GET `/test.txt`")
        let presigned = signer.presign(
            SigV4Request(
                method: "GET", path: "/test.txt", headers: [("host", host)],
                payloadHash: SigV4Request.unsignedPayload),
            at: inputs.date, expiresInSeconds: 86400)
        #expect(presigned.signature.signature == row.signature)
        #expect(presigned.queryString.hasSuffix("&X-Amz-Signature=\(row.signature)"))

        // The same through the client: a virtual-hosted generic endpoint gives the example's host.
        let bucket = String(try #require(host.split(separator: ".").first))
        let service = host.split(separator: ".").dropFirst().joined(separator: ".")
        let client = try S3Client(
            configuration: S3Configuration(
                provider: .generic(pathStyle: false), bucket: bucket, region: inputs.region,
                endpoint: "https://\(service)"),
            credentials: inputs.credentials)
        let url = try client.presignedURL(method: .get, key: "test.txt", expiresInSeconds: 86400, at: inputs.date)
        #expect(url.hasPrefix("https://\(host)/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        #expect(url.contains("X-Amz-Expires=86400"))
        #expect(url.hasSuffix("&X-Amz-Signature=\(row.signature)"))
        #expect(HTTPRequest.redact(url) == "https://\(host)/test.txt")
    }

    @Test("presigning refuses an expiry beyond 7 days")
    func presignExpiryBound() throws {
        let client = try S3Client(
            configuration: S3Configuration(provider: .minio, bucket: "b", endpoint: "http://127.0.0.1:9"),
            credentials: inputs.credentials)
        #expect(throws: S3Error.self) { try client.presignedURL(method: .get, key: "k", expiresInSeconds: 604_801) }
        #expect(throws: S3Error.self) { try client.presignedURL(method: .get, key: "k", expiresInSeconds: 0) }
        _ = try client.presignedURL(method: .get, key: "k", expiresInSeconds: 604_800)
    }
}

/// A row of the README's S3 examples table.
struct ExampleRow {
    let cells: [String]

    /// The texts between backticks in the first cell.
    var backticked: [String] {
        cells[0].split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// The second cell's backticked value (the signed header list).
    var signedHeaders: String {
        cells[1].split(separator: "`", omittingEmptySubsequences: false).dropFirst().first.map(String.init) ?? ""
    }

    /// The first 64-hex-digit run in the last cell.
    var signature: String {
        let hex = Set("0123456789abcdef")
        var run = ""
        for character in cells.last ?? "" {
            if hex.contains(character) {
                run.append(character)
                if run.count == 64 { return run }
            } else {
                run = ""
            }
        }
        return ""
    }

    /// The row whose first cell starts with `prefix`.
    static func find(_ prefix: String) throws -> ExampleRow {
        let readme = try SuiteInputs.readme()
        for line in readme.split(separator: "\n") where line.hasPrefix("|") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if let first = cells.first, first.hasPrefix(prefix) { return ExampleRow(cells: cells) }
        }
        throw TestSupportError("README: no S3 example row starting with \(prefix)")
    }
}
