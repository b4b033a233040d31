import CurlHTTP

/// A failed S3 call, typed by what the caller does about it, with what an operator needs: the S3
/// error code and message, HTTP status, the server's request id, method and URL (never its query).
/// It never contains a secret: not the secret key, not a signature.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The server refused the credentials or the signature: wrong secret
        /// (`SignatureDoesNotMatch`), unknown key id (`InvalidAccessKeyId`), clock skew
        /// (`RequestTimeTooSkewed`), expired token or presigned URL, or no permission (`AccessDenied`).
        case authentication
        /// No such key, bucket or upload.
        case notFound
        /// Slow down (503 `SlowDown`, 429): retry later, with backoff.
        case throttled
        /// 5xx: retry.
        case server
        /// No complete response (connect, TLS, timeout, cancelled); see ``S3Error/transport``.
        case transport
        /// The server received different bytes than were signed or declared (`BadDigest`,
        /// `XAmzContentSHA256Mismatch`, a wrong `x-amz-checksum-sha256`): the local file changed
        /// while it was sent, or the data was damaged on the way.
        case checksumMismatch
        /// Any other refusal (4xx): the request itself is wrong; retrying will not help.
        case rejected
        /// The local file could not be opened or read.
        case localFile
        /// The configuration cannot address the bucket (see ``S3ConfigurationError``).
        case configuration
        /// A 2xx response that could not be understood (malformed XML).
        case invalidResponse
    }

    public let kind: Kind
    /// What went wrong, in words (for authentication failures: which of the causes it is).
    public let message: String
    /// S3's error code (`SignatureDoesNotMatch`, `NoSuchKey`, ...), if the server sent one.
    public let code: String?
    public let httpStatus: Int?
    /// `x-amz-request-id` (or the error body's `RequestId`).
    public let requestID: String?
    public let method: String?
    /// Without query string.
    public let url: String?
    /// The transport failure, for ``Kind/transport`` (and file-read failures during a transfer).
    public let transport: HTTPError?

    public init(
        kind: Kind, message: String, code: String? = nil, httpStatus: Int? = nil, requestID: String? = nil,
        method: String? = nil, url: String? = nil, transport: HTTPError? = nil
    ) {
        self.kind = kind
        self.message = message
        self.code = code
        self.httpStatus = httpStatus
        self.requestID = requestID
        self.method = method
        self.url = url.map(HTTPRequest.redact)
        self.transport = transport
    }

    /// Worth trying again (after a pause): throttling, server errors, transport failures other
    /// than TLS verification and cancellation.
    public var isRetryable: Bool {
        switch kind {
        case .throttled, .server: return true
        case .transport: return transport.map { $0.kind != .tls && $0.kind != .cancelled && $0.kind != .bodyRead } ?? true
        default: return false
        }
    }

    public var description: String {
        var text = "S3 \(kind.rawValue) error: \(message)"
        var details: [String] = []
        if let code { details.append("code \(code)") }
        if let httpStatus { details.append("HTTP \(httpStatus)") }
        if let method, let url { details.append("\(method) \(url)") }
        if let requestID { details.append("request id \(requestID)") }
        if !details.isEmpty { text += " (" + details.joined(separator: ", ") + ")" }
        return text
    }
}
