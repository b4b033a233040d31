/// S3-compatible services as presets: each knows its host names, its addressing style and the
/// region it signs with.
///
/// | provider | URL of `key` in `bucket` | signing region |
/// |---|---|---|
/// | `aws` | `https://bucket.s3.<region>.amazonaws.com/key` (virtual-hosted; `amazonaws.com.cn` for `cn-*`) | region |
/// | `minio` | `<endpoint>/bucket/key` (path-style; endpoint required) | region, default `us-east-1` |
/// | `aliyunOSS` | `https://bucket.s3.oss-<region>.aliyuncs.com/key` (virtual-hosted) | region (`cn-hangzhou`) |
/// | `volcengineTOS` | `https://bucket.tos-s3-<region>.volces.com/key` (virtual-hosted) | region (`cn-beijing`) |
/// | `cloudflareR2` | `https://<account>.r2.cloudflarestorage.com/bucket/key` (path-style) | `auto` |
/// | `generic` | `<endpoint>/bucket/key`, or `bucket.<endpoint host>/key` when not path-style | region, default `us-east-1` |
///
/// An explicit endpoint replaces the preset's host for every provider (a private link, an R2
/// jurisdiction host, a test server). Virtual-hosted addressing needs a bucket name that is a
/// valid DNS name without dots (a dotted name would not match the provider's wildcard
/// certificate); AWS and generic endpoints fall back to path-style for such names, OSS and TOS
/// (which refuse path-style requests) reject them.
///
/// Known gaps by provider (what the S3 API offers that they do not):
/// - Aliyun OSS: no `aws-chunked` uploads (we never send them); path-style refused.
/// - Volcengine TOS: path-style refused.
/// - Cloudflare R2: region must be `auto`; multipart parts must all have the same size except the
///   last; no `x-amz-storage-class` values other than STANDARD and STANDARD_IA.
/// - MinIO and generic servers: whatever the server implements (SeaweedFS, used by the tests,
///   checks SigV4, presigned URLs and `x-amz-checksum-sha256`).
public enum S3Provider: Sendable, Hashable {
    case aws
    case minio
    case aliyunOSS
    case volcengineTOS
    case cloudflareR2(accountID: String)
    case generic(pathStyle: Bool)
}

/// Why an S3 address could not be made from the configuration.
public struct S3ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `scheme://host[:port]` of an S3 service.
public struct S3Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// A host name, an IPv4 address, or a bracketed IPv6 address (`[::1]`).
    public let host: String
    public let port: Int?

    public init(scheme: String = "https", host: String, port: Int? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// Parses `https://host[:port]` (a trailing `/` is allowed; a scheme-less `host[:port]` means
    /// https). No path, query, or user info.
    public init(parsing text: String) throws(S3ConfigurationError) {
        var rest = Substring(text)
        var scheme = "https"
        if let separator = rest.range(of: "://") {
            scheme = rest[..<separator.lowerBound].lowercased()
            rest = rest[separator.upperBound...]
        }
        guard scheme == "http" || scheme == "https" else {
            throw S3ConfigurationError("endpoint \(text): the scheme must be http or https")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ \t".contains($0) }) else {
            throw S3ConfigurationError("endpoint \(text): expected scheme://host[:port], with no path, query or user")
        }
        var host = rest
        var port: Int?
        let portSeparator: Substring.Index?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw S3ConfigurationError("endpoint \(text): unterminated [IPv6] address")
            }
            host = rest[...close]
            portSeparator = rest.index(after: close) < rest.endIndex ? rest.index(after: close) : nil
            if let portSeparator, rest[portSeparator] != ":" {
                throw S3ConfigurationError("endpoint \(text): unexpected text after the IPv6 address")
            }
        } else {
            portSeparator = rest.firstIndex(of: ":")
            if let portSeparator { host = rest[..<portSeparator] }
        }
        if let portSeparator {
            guard let number = Int(rest[rest.index(after: portSeparator)...]), (1...65535).contains(number) else {
                throw S3ConfigurationError("endpoint \(text): the port must be a number in 1...65535")
            }
            port = number
        }
        guard !host.isEmpty else { throw S3ConfigurationError("endpoint \(text): no host") }
        self.init(scheme: scheme, host: host.lowercased(), port: port)
    }

    /// `host[:port]`, without the scheme's default port: the `Host` header and the URL authority.
    public var authority: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    public var description: String { "\(scheme)://\(authority)" }
}

/// Where one request goes: the URL's parts and the values the signature needs.
public struct S3Address: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    /// `host[:port]` (the `Host` header, which is signed).
    public let authority: String
    /// The path as names, not encoded (`/bucket/my photo.jpg` or `/my photo.jpg`): what SigV4 encodes.
    public let path: String
    /// The region the signature's scope names.
    public let signingRegion: String
    public let pathStyle: Bool

    /// The encoded path: each segment percent-encoded once (the same spelling SigV4 signs).
    public var encodedPath: String { URIEncoding.canonicalPath(path, normalizing: false) }

    /// The URL, with `query` (already encoded, without `?`) if any.
    public func url(query: String = "") -> String {
        "\(scheme)://\(authority)\(encodedPath)" + (query.isEmpty ? "" : "?" + query)
    }

    public var description: String { url() }
}

public enum S3Addressing {
    /// The address of `key` in `bucket` (or of the bucket itself when `key` is nil or empty).
    ///
    /// A pure function of its inputs; see ``S3Provider`` for the rules.
    /// - Parameters:
    ///   - region: required for AWS, OSS and TOS; defaults to `us-east-1` for MinIO and generic;
    ///     `auto` (or nil) for R2.
    ///   - endpoint: `scheme://host[:port]`; required for MinIO and generic, optional elsewhere.
    public static func address(
        provider: S3Provider, bucket: String, key: String?, region: String?,
        endpoint: String?
    ) throws(S3ConfigurationError) -> S3Address {
        try validateBucket(bucket)
        let key = key ?? ""
        let custom = try endpoint.map { (text: String) throws(S3ConfigurationError) in try S3Endpoint(parsing: text) }
        let region = region.flatMap { $0.isEmpty ? nil : $0 }

        func required(_ what: String) throws(S3ConfigurationError) -> String {
            guard let region else { throw S3ConfigurationError("\(what) needs a region") }
            return region
        }
        func pathStyle(_ endpoint: S3Endpoint, region: String) -> S3Address {
            S3Address(
                scheme: endpoint.scheme, authority: endpoint.authority,
                path: "/" + bucket + (key.isEmpty ? "" : "/" + key), signingRegion: region, pathStyle: true)
        }
        func virtualHosted(_ endpoint: S3Endpoint, region: String, fallBackToPathStyle: Bool) throws(S3ConfigurationError) -> S3Address {
            guard isVirtualHostable(bucket) else {
                if fallBackToPathStyle { return pathStyle(endpoint, region: region) }
                throw S3ConfigurationError(
                    "bucket \(bucket): this provider needs virtual-hosted addressing, so the bucket name must be "
                        + "a DNS name of lower-case letters, digits and '-' (no dots)")
            }
            let host = S3Endpoint(scheme: endpoint.scheme, host: "\(bucket).\(endpoint.host)", port: endpoint.port)
            return S3Address(
                scheme: host.scheme, authority: host.authority, path: "/" + key,
                signingRegion: region, pathStyle: false)
        }

        switch provider {
        case .aws:
            let region = try required("AWS S3")
            if let custom { return try virtualHosted(custom, region: region, fallBackToPathStyle: true) }
            // AWS China (cn-north-1, cn-northwest-1) is a partition of its own, under another domain.
            let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
            // Dotted names fall back to path-style on the same regional host.
            return try virtualHosted(S3Endpoint(host: "s3.\(region).\(domain)"), region: region, fallBackToPathStyle: true)
        case .minio:
            guard let custom else { throw S3ConfigurationError("MinIO needs an endpoint (e.g. http://127.0.0.1:9000)") }
            return pathStyle(custom, region: region ?? "us-east-1")
        case .aliyunOSS:
            var region = try required("Aliyun OSS")
            if region.hasPrefix("oss-") { region.removeFirst(4) } // "oss-cn-hangzhou" names the same region
            let host = custom ?? S3Endpoint(host: "s3.oss-\(region).aliyuncs.com")
            return try virtualHosted(host, region: region, fallBackToPathStyle: false)
        case .volcengineTOS:
            let region = try required("Volcengine TOS")
            let host = custom ?? S3Endpoint(host: "tos-s3-\(region).volces.com")
            return try virtualHosted(host, region: region, fallBackToPathStyle: false)
        case .cloudflareR2(let accountID):
            guard region == nil || region == "auto" else {
                throw S3ConfigurationError("Cloudflare R2 signs with region \"auto\", not \"\(region!)\"")
            }
            guard custom != nil || isDNSLabel(accountID.lowercased()) else {
                throw S3ConfigurationError("Cloudflare R2 account id \(accountID) is not a valid host name label")
            }
            return pathStyle(custom ?? S3Endpoint(host: "\(accountID.lowercased()).r2.cloudflarestorage.com"), region: "auto")
        case .generic(let usePathStyle):
            guard let custom else { throw S3ConfigurationError("a generic S3 service needs an endpoint") }
            let region = region ?? "us-east-1"
            return usePathStyle
                ? pathStyle(custom, region: region)
                : try virtualHosted(custom, region: region, fallBackToPathStyle: true)
        }
    }

    static func validateBucket(_ bucket: String) throws(S3ConfigurationError) {
        guard !bucket.isEmpty, bucket.utf8.count <= 255 else {
            throw S3ConfigurationError("bucket name must have 1 to 255 characters")
        }
        guard bucket.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") }) else {
            throw S3ConfigurationError("bucket \(bucket): a bucket name has no '/', spaces or non-ASCII characters")
        }
    }

    /// A DNS label of the bucket's own: 3...63 of `a-z 0-9 -`, starting and ending alphanumeric.
    static func isVirtualHostable(_ bucket: String) -> Bool {
        (3...63).contains(bucket.utf8.count) && isDNSLabel(bucket)
    }

    static func isDNSLabel(_ label: String) -> Bool {
        let bytes = Array(label.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63 else { return false }
        func alphanumeric(_ c: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
        }
        return alphanumeric(first) && alphanumeric(last)
            && bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") }
    }
}
