/// A complete response: status, headers of the final response (after any `100 Continue`), body.
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    /// At most the client's `maximumResponseBodyBytes`.
    public let body: [UInt8]
    /// Body bytes sent (the request's), as curl counted them.
    public let bytesSent: Int64
    /// From the start of the request to the end of the response, as curl measured it.
    public let totalSeconds: Double
    /// Connections curl had to open for this request: 0 when it reused one.
    public let newConnections: Int

    public init(
        status: Int, headers: HTTPHeaders, body: [UInt8], bytesSent: Int64 = 0, totalSeconds: Double = 0,
        newConnections: Int = 0
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bytesSent = bytesSent
        self.totalSeconds = totalSeconds
        self.newConnections = newConnections
    }

    /// The server's id for this request (`x-amz-request-id`), for support tickets and logs.
    public var requestID: String? { headers["x-amz-request-id"] }

    public var isSuccess: Bool { (200..<300).contains(status) }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
