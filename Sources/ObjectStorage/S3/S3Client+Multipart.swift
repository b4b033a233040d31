import CurlHTTP
import Foundation
import Glibc
import Hashing
import LocalFS
import SystemPackage

/// One part of a multipart upload, as S3 knows it.
public struct UploadedPart: Sendable, Equatable {
    public var number: Int
    public var etag: String
    public var size: Int64
    /// The part's SHA-256 when it was declared (`x-amz-checksum-sha256`); CompleteMultipartUpload
    /// repeats it so the server checks it against the part it stored. ListParts returns it only on
    /// servers that keep it (AWS does; SeaweedFS 4.48 does not).
    public var sha256: SHA256Digest?
    public init(number: Int, etag: String, size: Int64, sha256: SHA256Digest? = nil) {
        self.number = number
        self.etag = etag
        self.size = size
        self.sha256 = sha256
    }
}

/// What CompleteMultipartUpload answered.
public struct CompletedMultipartUpload: Sendable {
    public let etag: String?
    /// `<base64>-N` (a checksum of the parts' checksums) when the upload declared SHA-256.
    public let checksumSHA256: String?
    /// `COMPOSITE` for such a checksum (when the server says).
    public let checksumType: String?
    public let requestID: String?
}

public struct MultipartUploadSummary: Sendable, Equatable {
    public var key: String
    public var uploadID: String
    public var initiated: String?
}

/// The multipart calls. Each part's SHA-256 is signed (`x-amz-content-sha256`), so the server
/// stores a part only if it received exactly those bytes; parts stream from a file range.
extension S3Client {
    /// Starts an upload of `key`; returns its upload id.
    ///
    /// - Parameters:
    ///   - checksumSHA256: declares `x-amz-checksum-algorithm: SHA256`: every part must then be sent
    ///     with `declareSHA256` (the server checks each part, and the parts' checksums again on
    ///     completion, and keeps a composite checksum `<base64>-N`).
    ///   - metadata: user metadata (`x-amz-meta-<name>`), as for ``putObject(key:file:sha256:contentType:metadata:onBodyBytesSent:throttle:)``.
    public func createMultipartUpload(
        key: String, contentType: String? = nil, checksumSHA256: Bool = false,
        metadata: [String: String] = [:]
    ) async throws(S3Error) -> String {
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append(("content-type", contentType)) }
        if checksumSHA256 { headers.append(("x-amz-checksum-algorithm", "SHA256")) }
        headers += Self.metadataHeaders(metadata)
        let response = try await perform(Call(method: .post, key: key, query: [("uploads", "")], headers: headers))
        guard let root = S3XMLNode.parse(response.body), root.name == "InitiateMultipartUploadResult",
            let id = root.string("UploadId"), !id.isEmpty
        else {
            throw S3Error(
                kind: .invalidResponse, message: "CreateMultipartUpload answered no UploadId",
                httpStatus: response.status, requestID: response.requestID)
        }
        return id
    }

    /// Uploads bytes `offset ..< offset + length` of the file as part `number` (1...10000).
    ///
    /// The range is read twice: once to hash it (its SHA-256 is signed), once as curl sends it
    /// (then mostly from the page cache); never held in memory.
    ///
    /// - Parameters:
    ///   - declareSHA256: also sends the hash as `x-amz-checksum-sha256` (required when the upload
    ///     was created with `checksumSHA256`); the result then carries it.
    ///   - throttle: may block before body bytes go out (a bandwidth limit).
    public func uploadPart(
        key: String, uploadID: String, number: Int, file path: FilePath, offset: Int64, length: Int64,
        declareSHA256: Bool = false, sha256 known: SHA256Digest? = nil,
        onBodyBytesSent: (@Sendable (Int) -> Void)? = nil,
        throttle: (@Sendable (Int) -> Void)? = nil
    ) async throws(S3Error) -> UploadedPart {
        guard (1...10_000).contains(number) else {
            throw S3Error(kind: .configuration, message: "part number \(number) is outside 1...10000")
        }
        let file = try await blocking { () throws(S3Error) in try OpenedFile(path) }
        defer { file.close() }
        guard offset >= 0, length >= 0, offset + length <= file.size else {
            throw S3Error(kind: .localFile, message: "\(path): part \(number) (\(offset)+\(length)) is beyond the file's \(file.size) bytes")
        }
        // A digest computed earlier is checked by the server against the bytes sent now.
        let digest: SHA256Digest
        if let known {
            digest = known
        } else {
            digest = try await blocking { () throws(S3Error) in try file.sha256(offset: offset, length: length) }
        }
        let headers: [(name: String, value: String)] =
            declareSHA256 ? [("x-amz-checksum-sha256", Data(digest.bytes).base64EncodedString())] : []
        let response = try await perform(
            Call(
                method: .put, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], headers: headers,
                body: .file(descriptor: file.descriptor, offset: offset, length: length), payloadHash: digest.hex,
                expectContinue: length >= 1 << 20), onBodyBytesSent: onBodyBytesSent, throttle: throttle)
        guard let etag = response.headers["ETag"] else {
            throw S3Error(
                kind: .invalidResponse, message: "UploadPart answered no ETag", httpStatus: response.status,
                requestID: response.requestID)
        }
        return UploadedPart(number: number, etag: etag, size: length, sha256: declareSHA256 ? digest : nil)
    }

    /// The parts the server holds for an upload (all pages): what a resumed upload need not send again.
    public func listParts(key: String, uploadID: String) async throws(S3Error) -> [UploadedPart] {
        var parts: [UploadedPart] = []
        var marker: String?
        repeat {
            var query: [(name: String, value: String)] = [("uploadId", uploadID)]
            if let marker { query.append(("part-number-marker", marker)) }
            let response = try await perform(Call(method: .get, key: key, query: query))
            guard let root = S3XMLNode.parse(response.body), root.name == "ListPartsResult" else {
                throw S3Error(
                    kind: .invalidResponse, message: "ListParts answered something other than a ListPartsResult",
                    httpStatus: response.status, requestID: response.requestID)
            }
            for part in root.children("Part") {
                guard let number = part.string("PartNumber").flatMap({ Int($0) }), let etag = part.string("ETag"),
                    let size = part.string("Size").flatMap({ Int64($0) })
                else { continue }
                let sha256 = part.string("ChecksumSHA256").flatMap { Data(base64Encoded: $0) }
                    .flatMap { $0.count == 32 ? SHA256Digest(bytes: Array($0)) : nil }
                parts.append(UploadedPart(number: number, etag: etag, size: size, sha256: sha256))
            }
            marker = root.string("IsTruncated") == "true" ? root.string("NextPartNumberMarker") : nil
        } while marker != nil
        return parts.sorted { $0.number < $1.number }
    }

    /// Joins the parts into the object. S3 can answer 200 with an error in the body: that is an error.
    /// Parts with a ``UploadedPart/sha256`` name it (`<ChecksumSHA256>`): the server refuses to
    /// complete (`BadDigest`) if a stored part has another checksum.
    @discardableResult
    public func completeMultipartUpload(
        key: String, uploadID: String,
        parts: [UploadedPart]
    ) async throws(S3Error) -> CompletedMultipartUpload {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts.sorted(by: { $0.number < $1.number }) {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(Self.xmlTextEscaped(part.etag))</ETag>"
            if let sha256 = part.sha256 { xml += "<ChecksumSHA256>\(Data(sha256.bytes).base64EncodedString())</ChecksumSHA256>" }
            xml += "</Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        let response = try await perform(
            Call(
                method: .post, key: key, query: [("uploadId", uploadID)],
                headers: [("content-type", "application/xml")], body: .bytes(body),
                payloadHash: SHA256Hasher.hash(body).hex))
        guard let root = S3XMLNode.parse(response.body), root.name == "CompleteMultipartUploadResult" else {
            let message = S3XMLNode.parse(response.body)?.string("Message") ?? "an unexpected answer"
            throw S3Error(
                kind: .server, message: "CompleteMultipartUpload failed: \(message)", httpStatus: response.status,
                requestID: response.requestID)
        }
        return CompletedMultipartUpload(
            etag: root.string("ETag"), checksumSHA256: root.string("ChecksumSHA256"),
            checksumType: root.string("ChecksumType"), requestID: response.requestID)
    }

    /// Abandons an upload; the server drops its parts.
    public func abortMultipartUpload(key: String, uploadID: String) async throws(S3Error) {
        _ = try await perform(Call(method: .delete, key: key, query: [("uploadId", uploadID)]))
    }
}
