/// One HTTP request: method, absolute URL (already percent-encoded), headers and body.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// `scheme://host[:port]/path?query`, encoded. Never logged with its query (see ``redactedURL``).
    public var url: String
    public var headers: HTTPHeaders
    public var body: HTTPBody
    /// Sends `Expect: 100-continue` with a body, so that a server refusing the request (bad
    /// signature, no such bucket) answers before the body is sent. Off: curl's own default (on for
    /// bodies over 1 MiB) is disabled, so that no request waits for a 100 that never comes.
    public var expectContinue: Bool

    public init(
        method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: HTTPBody = .none,
        expectContinue: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.expectContinue = expectContinue
    }

    /// The URL without its query string and without user info: safe for logs and errors (a
    /// presigned URL's query is a bearer credential).
    public var redactedURL: String { Self.redact(url) }

    public static func redact(_ url: String) -> String {
        var text = Substring(url)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            text = text[..<cut]
        }
        if let schemeEnd = text.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = text[authorityStart...].firstIndex(of: "/") ?? text.endIndex
            if let at = text[authorityStart..<authorityEnd].lastIndex(of: "@") {
                return String(text[..<authorityStart]) + String(text[text.index(after: at)...])
            }
        }
        return String(text)
    }
}

public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let get = HTTPMethod(rawValue: "GET")
    public static let head = HTTPMethod(rawValue: "HEAD")
    public static let put = HTTPMethod(rawValue: "PUT")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let delete = HTTPMethod(rawValue: "DELETE")

    public var description: String { rawValue }
}

/// A request body.
public enum HTTPBody: Sendable {
    case none
    /// Small bodies (XML of a few KiB).
    case bytes([UInt8])
    /// `length` bytes of an open file from `offset`, read with pread as curl asks for them: never
    /// the whole file in memory, and the descriptor's own offset is not used (nor moved). The
    /// caller keeps `descriptor` open until the request returns.
    case file(descriptor: Int32, offset: Int64, length: Int64)

    public var length: Int64 {
        switch self {
        case .none: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .file(_, _, let length): length
        }
    }
}
