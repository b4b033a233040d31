import Hashing

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) with OpenSSL: SHA-256 through ``SHA256Hasher``,
/// HMAC-SHA256 through ``HMACSHA256``.
///
/// Header form: ``sign(_:at:)`` gives the `Authorization` value for a request whose headers already
/// carry `x-amz-date` (and `x-amz-content-sha256` for S3, `x-amz-security-token` if any).
/// Query form (presigned URLs): ``presign(_:at:expiresInSeconds:)``.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    /// Whether the canonical URI resolves `.`/`..` and `//` (generic services) or keeps the path as
    /// it is (S3). See ``URIEncoding/canonicalPath(_:normalizing:)``.
    public let normalizesPath: Bool

    /// - Parameter normalizesPath: nil chooses by service: `false` for `s3`, `true` otherwise.
    public init(credentials: AWSCredentials, region: String, service: String, normalizesPath: Bool? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath ?? (service != "s3")
    }

    // MARK: - The steps

    /// `host;x-amz-date`: the lower-cased names of `headers`, sorted, without repeats.
    public static func signedHeaders(_ headers: [(name: String, value: String)]) -> String {
        canonicalHeaderList(headers).map(\.name).joined(separator: ";")
    }

    /// The canonical request: method, canonical URI, canonical query, canonical headers, signed
    /// headers, payload hash, separated by newlines.
    public func canonicalRequest(_ request: SigV4Request) -> String {
        let headers = Self.canonicalHeaderList(request.headers)
        return [
            request.method,
            URIEncoding.canonicalPath(request.path, normalizing: normalizesPath),
            URIEncoding.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            request.payloadHash
        ].joined(separator: "\n")
    }

    /// `20150830/us-east-1/service/aws4_request`.
    public func credentialScope(at date: SigV4Date) -> String {
        "\(date.dateStamp)/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(canonicalRequest: String, at date: SigV4Date) -> String {
        [
            Self.algorithm,
            date.amzDate,
            credentialScope(at: date),
            SHA256Hasher.hash(Array(canonicalRequest.utf8)).hex
        ].joined(separator: "\n")
    }

    /// HMAC("AWS4" + secret, date) → region → service → "aws4_request".
    public func signingKey(at date: SigV4Date) -> [UInt8] {
        var key = HMACSHA256.authenticationCode(
            key: Array(("AWS4" + credentials.secretAccessKey).utf8),
            message: date.dateStamp)
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticationCode(key: key, message: part)
        }
        return key
    }

    // MARK: - Header form

    /// Signs `request` (whose headers are all signed) at `date`.
    public func sign(_ request: SigV4Request, at date: SigV4Date) -> SigV4Signature {
        let canonical = canonicalRequest(request)
        let toSign = stringToSign(canonicalRequest: canonical, at: date)
        let signature = Self.hex(HMACSHA256.authenticationCode(key: signingKey(at: date), message: toSign))
        let scope = credentialScope(at: date)
        let signed = Self.signedHeaders(request.headers)
        return SigV4Signature(
            canonicalRequest: canonical, stringToSign: toSign, credentialScope: scope,
            signedHeaders: signed, signature: signature,
            authorization: "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
                + "SignedHeaders=\(signed), Signature=\(signature)")
    }

    // MARK: - Query form (presigned URLs)

    /// The longest validity SigV4 allows for a presigned URL: 7 days.
    public static let maximumExpiry = 604_800

    /// Presigns `request`: its query gains `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
    /// `X-Amz-Expires`, `X-Amz-SignedHeaders` (and `X-Amz-Security-Token`), and the result ends
    /// with `X-Amz-Signature`. `request.headers` must hold `host` (and whatever else the caller of
    /// the URL will have to send identically); the payload hash is usually ``SigV4Request/unsignedPayload``.
    ///
    /// - Precondition: `expiresInSeconds` is in 1...604800.
    public func presign(_ request: SigV4Request, at date: SigV4Date, expiresInSeconds: Int) -> SigV4PresignedQuery {
        precondition(
            (1...Self.maximumExpiry).contains(expiresInSeconds),
            "X-Amz-Expires must be 1...\(Self.maximumExpiry) seconds")
        var query = request.query
        query.append((name: "X-Amz-Algorithm", value: Self.algorithm))
        query.append((name: "X-Amz-Credential", value: "\(credentials.accessKeyID)/\(credentialScope(at: date))"))
        query.append((name: "X-Amz-Date", value: date.amzDate))
        query.append((name: "X-Amz-Expires", value: String(expiresInSeconds)))
        query.append((name: "X-Amz-SignedHeaders", value: Self.signedHeaders(request.headers)))
        if let token = credentials.sessionToken {
            query.append((name: "X-Amz-Security-Token", value: token))
        }
        var signed = request
        signed.query = query
        let signature = sign(signed, at: date)
        let queryString =
            URIEncoding.canonicalQuery(query)
            + "&X-Amz-Signature=" + signature.signature
        return SigV4PresignedQuery(queryString: queryString, signature: signature)
    }

    // MARK: - Helpers

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed, continuation
    /// lines and repeated headers joined with `,` in the order given.
    static func canonicalHeaderList(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for header in headers {
            let name = trim(header.name).lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(canonicalValue(header.value))
        }
        return
            order
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { (name: $0, value: values[$0]!.joined(separator: ",")) }
    }

    static func canonicalValue(_ value: String) -> String {
        let lines = value.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.count == 1 { return collapse(value) }
        return lines.map { collapse($0) }.filter { !$0.isEmpty }.joined(separator: ",")
    }

    /// Trims spaces, tabs and CRs at both ends and turns each inner run of spaces/tabs into one space.
    static func collapse(_ text: some StringProtocol) -> String {
        var out = [UInt8]()
        var pendingSpace = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func trim(_ text: some StringProtocol) -> String { collapse(text) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
