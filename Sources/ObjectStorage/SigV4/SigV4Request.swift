/// What SigV4 signs of a request: method, path and query (both **not** percent-encoded: the signer
/// encodes them), the headers to sign, and the payload's hash.
public struct SigV4Request: Sendable {
    public var method: String
    /// The path as a name, not encoded: `/my bucket/photo ü.jpg`.
    public var path: String
    /// Query parameters, not encoded, in any order (a parameter without a value has value "").
    public var query: [(name: String, value: String)]
    /// The headers to sign, in any order and case; a name may repeat (values are joined with `,`
    /// in the order given), and a value may span lines (each line is trimmed; lines are joined
    /// with `,`). Every header given here is signed.
    public var headers: [(name: String, value: String)]
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`, or a streaming marker.
    public var payloadHash: String

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)], payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }

    /// `UNSIGNED-PAYLOAD`: the body is not part of the signature (presigned URLs).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
}

/// Every step of one signature, for the Authorization header and for tests and diagnostics.
public struct SigV4Signature: Sendable {
    public let canonicalRequest: String
    public let stringToSign: String
    /// `20150830/us-east-1/service/aws4_request`.
    public let credentialScope: String
    /// `host;x-amz-date`.
    public let signedHeaders: String
    /// 64 lower-case hex digits.
    public let signature: String
    /// The `Authorization` header's value.
    public let authorization: String
}

/// A presigned request's query: the request's own parameters plus `X-Amz-*` ones, ending with
/// `X-Amz-Signature`. Whoever has it can make the request until it expires: treat it as a secret.
public struct SigV4PresignedQuery: Sendable {
    /// Encoded and sorted, ready to follow `?` (the signature last).
    public let queryString: String
    public let signature: SigV4Signature
}
