/// A request that got no complete response: the transport failed (connect, TLS, timeout, proxy),
/// the local body could not be read, the response was too large, or the task was cancelled.
///
/// It carries curl's own error text, the method and the URL **without** its query string (a
/// presigned URL's signature never reaches a log), and the server's request id when a response
/// had begun.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// DNS, refused or unreachable, connection reset, proxy refused.
        case connect
        /// The connect timeout, or the transfer stalled (below the low-speed limit for too long).
        case timeout
        /// Certificate verification or TLS handshake failure.
        case tls
        /// The request body could not be read (the local file failed or shrank).
        case bodyRead
        /// The response body exceeded the client's bound.
        case responseTooLarge
        /// The task was cancelled while the request ran.
        case cancelled
        /// Anything else curl reported (a protocol error, a broken pipe mid-transfer, ...).
        case transfer
    }

    public let kind: Kind
    /// curl's text: the detailed error buffer if it has one, else curl_easy_strerror.
    public let message: String
    public let method: String
    /// The URL without query string or user info.
    public let url: String
    /// CURLcode, when curl reported the failure.
    public let curlCode: Int32?
    /// `x-amz-request-id` of a response that had begun, if any.
    public let requestID: String?

    public init(kind: Kind, message: String, method: String, url: String, curlCode: Int32? = nil, requestID: String? = nil) {
        self.kind = kind
        self.message = message
        self.method = method
        self.url = HTTPRequest.redact(url)
        self.curlCode = curlCode
        self.requestID = requestID
    }

    public var description: String {
        var text = "\(method) \(url): \(kind.rawValue): \(message)"
        if let curlCode { text += " (curl error \(curlCode))" }
        if let requestID { text += " (request id \(requestID))" }
        return text
    }
}
