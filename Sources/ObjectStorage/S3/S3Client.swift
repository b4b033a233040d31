import CurlHTTP
import Foundation
import Glibc
import Hashing
import LocalFS
import SystemPackage

/// Calls of the S3 API against one bucket, signed with SigV4 (header form), over one
/// ``HTTPClient`` (one connection, one request at a time: use one client per parallel worker).
///
/// Every call throws ``S3Error``, whose kind says what to do (retry, fix credentials, give up)
/// and which keeps the server's request id.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    /// The bucket's address (for logs: no secrets in it).
    public let bucketAddress: S3Address
    private let credentials: AWSCredentials
    private let signer: SigV4Signer
    private let http: HTTPClient
    private let clock: @Sendable () -> SigV4Date

    /// - Parameter clock: when requests are signed (tests pass a skewed one).
    public init(
        configuration: S3Configuration, credentials: AWSCredentials,
        clock: @escaping @Sendable () -> SigV4Date = { SigV4Date.now() }
    ) throws(S3Error) {
        do {
            bucketAddress = try S3Addressing.address(
                provider: configuration.provider, bucket: configuration.bucket, key: nil,
                region: configuration.region, endpoint: configuration.endpoint)
        } catch {
            throw S3Error(kind: .configuration, message: error.description)
        }
        self.configuration = configuration
        self.credentials = credentials
        signer = SigV4Signer(credentials: credentials, region: bucketAddress.signingRegion, service: "s3")
        http = HTTPClient(configuration: configuration.http)
        self.clock = clock
    }

    /// The hex SHA-256 of an empty body.
    static let emptyPayloadHash = SHA256Hasher.hash([UInt8]()).hex

    // MARK: - Objects

    /// Uploads the file at `path` as `key` in one request, streamed from the file.
    ///
    /// The body's SHA-256 is signed (`x-amz-content-sha256`) and declared (`x-amz-checksum-sha256`),
    /// so the server stores the object only if it received exactly those bytes: a file that changes
    /// while it is sent fails with ``S3Error/Kind/checksumMismatch``.
    ///
    /// - Parameters:
    ///   - sha256: the file's SHA-256 if already known; nil reads the file once more to hash it first.
    ///   - metadata: user metadata, sent as `x-amz-meta-<name>` (names lowercase, values ASCII),
    ///     e.g. `["dms-sha256": hex]`; ``headObject(key:)`` returns it in ``ObjectMetadata/userMetadata``.
    ///   - onBodyBytesSent: byte counts as the body goes out (on the transfer's thread).
    ///   - throttle: called with each count of body bytes before they go out; may block (see
    ///     ``HTTPClient/send(_:onBodyBytesSent:throttle:)``).
    public func putObject(
        key: String, file path: FilePath, sha256 known: SHA256Digest? = nil, contentType: String? = nil,
        metadata: [String: String] = [:],
        onBodyBytesSent: (@Sendable (Int) -> Void)? = nil,
        throttle: (@Sendable (Int) -> Void)? = nil
    ) async throws(S3Error) -> PutObjectResult {
        let file = try await blocking { () throws(S3Error) in try OpenedFile(path) }
        defer { file.close() }
        let digest: SHA256Digest
        if let known {
            digest = known
        } else {
            digest = try await blocking { () throws(S3Error) in try file.sha256() }
        }
        var headers: [(name: String, value: String)] = [
            ("x-amz-checksum-sha256", Data(digest.bytes).base64EncodedString())
        ]
        if let contentType { headers.append(("content-type", contentType)) }
        headers += Self.metadataHeaders(metadata)
        let response = try await perform(
            Call(
                method: .put, key: key, headers: headers,
                body: .file(descriptor: file.descriptor, offset: 0, length: file.size), payloadHash: digest.hex,
                // Large bodies wait for "100 Continue": a refused request costs no upload.
                expectContinue: file.size >= 1 << 20), onBodyBytesSent: onBodyBytesSent, throttle: throttle)
        return PutObjectResult(
            key: key, size: file.size, sha256: digest, etag: response.headers["ETag"],
            versionID: response.headers["x-amz-version-id"], requestID: response.requestID)
    }

    /// Size, ETag, user metadata and (when stored with one) the SHA-256 of `key`. A missing key throws
    /// ``S3Error/Kind/notFound``.
    public func headObject(key: String) async throws(S3Error) -> ObjectMetadata {
        let response = try await perform(Call(method: .head, key: key, headers: [("x-amz-checksum-mode", "ENABLED")]))
        guard let length = response.headers["Content-Length"].flatMap({ Int64($0) }) else {
            throw S3Error(
                kind: .invalidResponse, message: "HEAD response without a Content-Length",
                httpStatus: response.status, requestID: response.requestID)
        }
        let checksumHeader = response.headers["x-amz-checksum-sha256"]
        let checksum = checksumHeader.flatMap { Data(base64Encoded: $0) }.flatMap { $0.count == 32 ? SHA256Digest(bytes: Array($0)) : nil }
        return ObjectMetadata(
            key: key, size: length, etag: response.headers["ETag"],
            lastModified: response.headers["Last-Modified"], contentType: response.headers["Content-Type"],
            checksumSHA256: checksum, checksumSHA256Header: checksumHeader,
            checksumType: response.headers["x-amz-checksum-type"],
            userMetadata: Self.userMetadata(response.headers), requestID: response.requestID)
    }

    /// `x-amz-meta-<name>: value` for each entry (names lowercased: S3 stores them so).
    static func metadataHeaders(_ metadata: [String: String]) -> [(name: String, value: String)] {
        metadata.sorted { $0.key < $1.key }.map { ("x-amz-meta-" + $0.key.lowercased(), $0.value) }
    }

    /// The `x-amz-meta-*` headers of a response, by lowercased name without the prefix.
    static func userMetadata(_ headers: HTTPHeaders) -> [String: String] {
        var metadata: [String: String] = [:]
        for field in headers where field.name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(field.name.lowercased().dropFirst("x-amz-meta-".count))] = field.value
        }
        return metadata
    }

    /// Deletes `key` (S3 answers success for a key that does not exist).
    public func deleteObject(key: String) async throws(S3Error) {
        _ = try await perform(Call(method: .delete, key: key))
    }

    /// One page of the bucket's keys, in key order.
    ///
    /// Keys are requested with `encoding-type=url` (XML 1.0 cannot carry every character a key may
    /// hold) and returned decoded.
    public func listObjectsV2(
        prefix: String? = nil, delimiter: String? = nil, continuationToken: String? = nil,
        startAfter: String? = nil, maxKeys: Int? = nil
    ) async throws(S3Error) -> ListObjectsV2Page {
        var query: [(name: String, value: String)] = [("list-type", "2"), ("encoding-type", "url")]
        if let prefix { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        if let maxKeys { query.append(("max-keys", String(maxKeys))) }
        let response = try await perform(Call(method: .get, key: nil, query: query))
        guard let root = S3XMLNode.parse(response.body), root.name == "ListBucketResult" else {
            throw S3Error(
                kind: .invalidResponse, message: "ListObjectsV2 answered something other than a ListBucketResult",
                httpStatus: response.status, requestID: response.requestID, method: "GET", url: bucketAddress.url())
        }
        let urlEncoded = root.string("EncodingType")?.lowercased() == "url"
        func decoded(_ text: String) -> String { urlEncoded ? Self.percentDecoded(text) : text }
        var objects: [S3ObjectSummary] = []
        for entry in root.children("Contents") {
            guard let key = entry.string("Key"), let size = entry.string("Size").flatMap({ Int64($0) }) else {
                throw S3Error(
                    kind: .invalidResponse, message: "ListObjectsV2 entry without Key or Size",
                    requestID: response.requestID)
            }
            objects.append(
                S3ObjectSummary(
                    key: decoded(key), size: size, etag: entry.string("ETag"),
                    lastModified: entry.string("LastModified"), storageClass: entry.string("StorageClass")))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.string("Prefix") }.map(decoded)
        let token = root.string("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        return ListObjectsV2Page(
            objects: objects, commonPrefixes: prefixes,
            isTruncated: root.string("IsTruncated") == "true", nextContinuationToken: token,
            keyCount: root.string("KeyCount").flatMap { Int($0) }, requestID: response.requestID)
    }

    // MARK: - Bucket

    /// Creates the bucket; succeeds if this account already owns it.
    public func createBucket() async throws(S3Error) {
        var body: [UInt8] = []
        if configuration.provider == .aws, bucketAddress.signingRegion != "us-east-1" {
            body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(bucketAddress.signingRegion)</LocationConstraint></CreateBucketConfiguration>").utf8)
        }
        do {
            _ = try await perform(
                Call(
                    method: .put, key: nil, body: body.isEmpty ? .none : .bytes(body),
                    payloadHash: SHA256Hasher.hash(body).hex))
        } catch  where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    /// Deletes the (empty) bucket.
    public func deleteBucket() async throws(S3Error) {
        _ = try await perform(Call(method: .delete, key: nil))
    }

    // MARK: - Presigned URLs

    /// A URL that lets anyone holding it make one kind of request on `key` until it expires, with
    /// no credentials (query-string SigV4, `UNSIGNED-PAYLOAD`). It is a bearer secret: never log it
    /// (``HTTPRequest/redact(_:)`` drops its query).
    ///
    /// - Parameters:
    ///   - expiresInSeconds: 1...604800 (7 days).
    ///   - headers: headers the caller of the URL must send with exactly these values (e.g.
    ///     `content-type` for a PUT); `host` is always signed.
    ///   - date: the signing time (default: now).
    public func presignedURL(
        method: HTTPMethod, key: String, expiresInSeconds: Int,
        headers: [(name: String, value: String)] = [], at date: SigV4Date? = nil
    ) throws(S3Error) -> String {
        guard (1...SigV4Signer.maximumExpiry).contains(expiresInSeconds) else {
            throw S3Error(
                kind: .configuration,
                message: "a presigned URL expires after 1 to \(SigV4Signer.maximumExpiry) seconds (7 days), not \(expiresInSeconds)")
        }
        let address = try address(key: key)
        let request = SigV4Request(
            method: method.rawValue, path: address.path,
            headers: [("host", address.authority)] + headers, payloadHash: SigV4Request.unsignedPayload)
        let presigned = signer.presign(request, at: date ?? clock(), expiresInSeconds: expiresInSeconds)
        return address.url(query: presigned.queryString)
    }

    // MARK: - Sending

    struct Call {
        var method: HTTPMethod
        var key: String?
        var query: [(name: String, value: String)] = []
        /// Extra headers; all are signed.
        var headers: [(name: String, value: String)] = []
        var body: HTTPBody = .none
        var payloadHash: String = S3Client.emptyPayloadHash
        var expectContinue = false
        /// A call on the service (ListBuckets: `GET /`), not on the bucket.
        var onService = false
    }

    /// `GET /` of the service: the endpoint's host (path-style), or the bucket's host without the
    /// bucket's label (virtual-hosted).
    var serviceAddress: S3Address {
        var authority = bucketAddress.authority
        if !bucketAddress.pathStyle, authority.hasPrefix(configuration.bucket + ".") {
            authority.removeFirst(configuration.bucket.count + 1)
        }
        return S3Address(
            scheme: bucketAddress.scheme, authority: authority, path: "/",
            signingRegion: bucketAddress.signingRegion, pathStyle: bucketAddress.pathStyle)
    }

    private func address(key: String?) throws(S3Error) -> S3Address {
        do {
            return try configuration.address(key: key)
        } catch {
            throw S3Error(kind: .configuration, message: error.description)
        }
    }

    /// Signs and sends `call`; a non-2xx answer throws the matching ``S3Error``.
    func perform(
        _ call: Call, onBodyBytesSent: (@Sendable (Int) -> Void)? = nil,
        throttle: (@Sendable (Int) -> Void)? = nil,
        responseSink: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil
    ) async throws(S3Error) -> HTTPResponse {
        let address = call.onService ? serviceAddress : try address(key: call.key)
        let date = clock()
        var signed = call.headers
        signed.append(("host", address.authority))
        signed.append(("x-amz-date", date.amzDate))
        signed.append(("x-amz-content-sha256", call.payloadHash))
        if let token = credentials.sessionToken { signed.append(("x-amz-security-token", token)) }
        let signature = signer.sign(
            SigV4Request(
                method: call.method.rawValue, path: address.path, query: call.query,
                headers: signed, payloadHash: call.payloadHash), at: date)
        var headers = HTTPHeaders(signed)
        headers.add("Authorization", signature.authorization)
        let request = HTTPRequest(
            method: call.method, url: address.url(query: URIEncoding.canonicalQuery(call.query)),
            headers: headers, body: call.body, expectContinue: call.expectContinue)
        let response: HTTPResponse
        do {
            response = try await http.send(request, onBodyBytesSent: onBodyBytesSent, throttle: throttle, responseSink: responseSink)
        } catch {
            throw S3Error(
                kind: error.kind == .bodyRead ? .localFile : .transport, message: error.message,
                requestID: error.requestID, method: error.method, url: error.url, transport: error)
        }
        guard response.isSuccess else {
            throw S3ErrorMapping.error(
                for: response, method: call.method.rawValue, url: request.url,
                key: call.key, bucket: configuration.bucket, accessKeyID: credentials.accessKeyID)
        }
        return response
    }

    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(S3Error) -> T) async throws(S3Error) -> T {
        try await Self.blocking(body)
    }

    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(S3Error) -> T) async throws(S3Error) -> T {
        let result: Result<T, S3Error>
        do {
            result = try await runBlocking { () -> Result<T, S3Error> in
                do throws(S3Error) { return .success(try body()) } catch { return .failure(error) }
            }
        } catch {
            throw S3Error(kind: .localFile, message: "\(error)")
        }
        return try result.get()
    }

    static func percentDecoded(_ text: String) -> String {
        URIEncoding.decode(text, plusAsSpace: true, strict: false) ?? text
    }
}

/// A local file opened read-only for one upload (closed by the caller).
final class OpenedFile: Sendable {
    let path: FilePath
    let descriptor: Int32
    let size: Int64

    init(_ path: FilePath) throws(S3Error) {
        self.path = path
        let fd = path.withPlatformString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY) }
        guard fd >= 0 else { throw Self.failure("open", path, errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let err = errno
            Glibc.close(fd)
            throw Self.failure("fstat", path, err)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw S3Error(kind: .localFile, message: "\(path): not a regular file")
        }
        descriptor = fd
        size = Int64(st.st_size)
    }

    func close() { Glibc.close(descriptor) }

    /// SHA-256 of the file's `size` bytes (pread, 1 MiB at a time).
    func sha256() throws(S3Error) -> SHA256Digest { try sha256(offset: 0, length: size) }

    /// SHA-256 of bytes `start ..< start + length`.
    func sha256(offset start: Int64, length: Int64) throws(S3Error) -> SHA256Digest {
        let hasher = SHA256Hasher()
        try read(offset: start, length: length) { hasher.update($0) }
        return hasher.finalize()
    }

    /// Hands bytes `start ..< start + length` to `consume` in order, up to 1 MiB at a time (pread).
    func read(offset start: Int64, length: Int64, _ consume: (UnsafeRawBufferPointer) -> Void) throws(S3Error) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let end = start + length
        var offset = start
        while offset < end {
            let n = pread(descriptor, buffer.baseAddress, min(buffer.count, Int(end - offset)), off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure("read", path, errno)
            }
            guard n > 0 else {
                throw S3Error(kind: .localFile, message: "\(path): the file shrank while it was hashed (\(offset) of \(end) bytes)")
            }
            consume(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            offset += Int64(n)
        }
    }

    private static func failure(_ operation: String, _ path: FilePath, _ code: Int32) -> S3Error {
        S3Error(kind: .localFile, message: LocalFSError(operation, path: path, errno: code).description)
    }
}
