import CurlHTTP
import Hashing

/// Where the client sends its requests and how it connects.
public struct S3Configuration: Sendable {
    public var provider: S3Provider
    public var bucket: String
    /// See ``S3Addressing/address(provider:bucket:key:region:endpoint:)`` for when it is needed.
    public var region: String?
    /// `scheme://host[:port]`; required for MinIO and generic services.
    public var endpoint: String?
    public var http: HTTPClientConfiguration

    public init(
        provider: S3Provider, bucket: String, region: String? = nil, endpoint: String? = nil,
        http: HTTPClientConfiguration = HTTPClientConfiguration()
    ) {
        self.provider = provider
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self.http = http
    }
}

public struct PutObjectResult: Sendable {
    public let key: String
    public let size: Int64
    /// The SHA-256 that was signed (`x-amz-content-sha256`) and declared (`x-amz-checksum-sha256`):
    /// the server accepted the object only because its bytes have this hash.
    public let sha256: SHA256Digest
    public let etag: String?
    public let versionID: String?
    public let requestID: String?
}

public struct ObjectMetadata: Sendable {
    public let key: String
    public let size: Int64
    public let etag: String?
    /// As the server sent it (an HTTP date).
    public let lastModified: String?
    public let contentType: String?
    /// The object's SHA-256, when it was stored with one (`x-amz-checksum-sha256`) and the server
    /// returns it; nil otherwise (for a multipart object the value is a checksum of checksums,
    /// which is also nil here: see ``checksumType``).
    public let checksumSHA256: SHA256Digest?
    /// `x-amz-checksum-sha256` exactly as returned (base64; `…-N` for composite checksums).
    public let checksumSHA256Header: String?
    /// `FULL_OBJECT` or `COMPOSITE` when the server says.
    public let checksumType: String?
    /// The object's `x-amz-meta-*` headers, by lowercased name without the prefix (e.g.
    /// `dms-sha256`, the whole file's hex SHA-256 this program stores with every object).
    public let userMetadata: [String: String]
    public let requestID: String?
}

public struct S3ObjectSummary: Sendable, Equatable {
    public let key: String
    public let size: Int64
    public let etag: String?
    public let lastModified: String?
    public let storageClass: String?
}

/// One page of ListObjectsV2 (at most `max-keys`, 1000 by default).
public struct ListObjectsV2Page: Sendable {
    public let objects: [S3ObjectSummary]
    public let commonPrefixes: [String]
    public let isTruncated: Bool
    /// Pass to the next call to get the next page (present when ``isTruncated``).
    public let nextContinuationToken: String?
    public let keyCount: Int?
    public let requestID: String?
}
