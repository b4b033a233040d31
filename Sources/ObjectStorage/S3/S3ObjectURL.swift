/// Object URLs in both directions: the public (unsigned) URL of a key, and the key a URL names.
extension S3Configuration {
    /// The address of `key` in this bucket (nil or empty: the bucket itself), by the rules of
    /// ``S3Addressing``: the URL a request, a presigned URL and `url` all use.
    public func address(key: String?) throws(S3ConfigurationError) -> S3Address {
        try S3Addressing.address(provider: provider, bucket: bucket, key: key, region: region, endpoint: endpoint)
    }

    /// The key that `url` names in this bucket.
    ///
    /// Accepted: the bucket's own address form (virtual-hosted `https://bucket.host/key`, or
    /// path-style `scheme://host/bucket/key`), and path-style on the service host of a
    /// virtual-hosted bucket (`https://s3.eu-west-1.amazonaws.com/bucket/key`). Scheme, host and
    /// port must be the configured ones (`:443` of https may be written or not). The query (a presigned
    /// URL's signature) and fragment are ignored. The path is percent-decoded once; `+` stays `+`
    /// and dot segments stay (a key is a name, not a path).
    /// - Throws: when the URL is malformed or names another host, bucket, or no object. Messages
    ///   name the URL without its query, so no signature reaches them.
    public func key(ofURL url: String) throws(S3ConfigurationError) -> String {
        let parsed = try ParsedURL(url)
        let own = try address(key: nil)
        let ownEndpoint = try S3Endpoint(parsing: "\(own.scheme)://\(own.authority)")
        var path: Substring?
        if parsed.endpoint.sameServer(as: ownEndpoint) {
            path = own.pathStyle ? parsed.path.droppingBucket(bucket) : parsed.path
        } else if !own.pathStyle, ownEndpoint.host.hasPrefix(bucket + "."),
            parsed.endpoint.sameServer(
                as: S3Endpoint(
                    scheme: ownEndpoint.scheme, host: String(ownEndpoint.host.dropFirst(bucket.count + 1)),
                    port: ownEndpoint.port))
        {
            path = parsed.path.droppingBucket(bucket)
        }
        guard let path else {
            throw S3ConfigurationError("\(parsed.display) is not an object of bucket \(bucket) at \(own.url())")
        }
        guard let key = URIEncoding.decode(path.dropFirst()) else {
            throw S3ConfigurationError("\(parsed.display): malformed percent-encoding (a % not followed by two hex digits, or not UTF-8)")
        }
        guard !key.isEmpty else { throw S3ConfigurationError("\(parsed.display) names the bucket, not an object") }
        return key
    }

    /// Whether `text` is to be read as a URL rather than a key: it starts with `http://` or `https://`.
    public static func isURL(_ text: String) -> Bool {
        let lower = text.prefix(8).lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }
}

/// The parts of an object URL this needs; the path stays encoded.
private struct ParsedURL {
    let endpoint: S3Endpoint
    /// `/…`, still percent-encoded, without query or fragment.
    let path: Substring
    /// `scheme://authority/path`: the URL without its query, for messages.
    let display: String

    init(_ url: String) throws(S3ConfigurationError) {
        let withoutQuery = url.prefix { $0 != "?" && $0 != "#" }
        guard let separator = withoutQuery.range(of: "://") else { throw S3ConfigurationError("\(withoutQuery): not an http(s) URL") }
        let rest = withoutQuery[separator.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.contains("@") else { throw S3ConfigurationError("\(withoutQuery): a URL with user info is not an object URL") }
        endpoint = try S3Endpoint(parsing: String(withoutQuery[..<separator.upperBound] + authority))
        path = slash == rest.endIndex ? "/" : rest[slash...]
        display = String(withoutQuery)
    }
}

extension S3Endpoint {
    /// Same scheme, host and port (a default port written or not).
    fileprivate func sameServer(as other: S3Endpoint) -> Bool {
        scheme == other.scheme && authority == other.authority
    }
}

extension Substring {
    /// `/bucket/rest` → `/rest`; nil when the first segment is not `bucket`.
    fileprivate func droppingBucket(_ bucket: String) -> Substring? {
        let head = "/" + bucket
        guard hasPrefix(head) else { return nil }
        let rest = dropFirst(head.count)
        return rest.isEmpty || rest.hasPrefix("/") ? (rest.isEmpty ? "/" : rest) : nil
    }
}
