import CurlHTTP
import Foundation
import Hashing

/// A bucket of the account, as ListBuckets names it.
public struct S3BucketSummary: Sendable, Equatable {
    public var name: String
    public var creationDate: String?
}

extension S3Client {
    /// Every incomplete multipart upload under `prefix`, all pages (ListMultipartUploads returns at
    /// most 1000 per call; the next page starts after `NextKeyMarker`/`NextUploadIdMarker`).
    /// Keys are requested URL-encoded and returned decoded.
    public func listMultipartUploads(prefix: String? = nil) async throws(S3Error) -> [MultipartUploadSummary] {
        var uploads: [MultipartUploadSummary] = []
        var keyMarker: String?
        var uploadIDMarker: String?
        while true {
            var query: [(name: String, value: String)] = [("uploads", ""), ("encoding-type", "url")]
            if let prefix, !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let uploadIDMarker { query.append(("upload-id-marker", uploadIDMarker)) }
            let response = try await perform(Call(method: .get, key: nil, query: query))
            guard let root = S3XMLNode.parse(response.body), root.name == "ListMultipartUploadsResult" else {
                throw S3Error(
                    kind: .invalidResponse,
                    message: "ListMultipartUploads in bucket \(configuration.bucket) answered something other than a ListMultipartUploadsResult",
                    httpStatus: response.status, requestID: response.requestID, method: "GET", url: bucketAddress.url())
            }
            let urlEncoded = root.string("EncodingType")?.lowercased() == "url"
            func decoded(_ text: String) -> String { urlEncoded ? Self.percentDecoded(text) : text }
            for upload in root.children("Upload") {
                guard let key = upload.string("Key"), let id = upload.string("UploadId") else { continue }
                uploads.append(MultipartUploadSummary(key: decoded(key), uploadID: id, initiated: upload.string("Initiated")))
            }
            guard root.string("IsTruncated") == "true" else { break }
            let nextKey = root.string("NextKeyMarker").map(decoded)
            let nextID = root.string("NextUploadIdMarker")
            // A truncated page without a marker that moves would loop for ever.
            guard let nextKey, !nextKey.isEmpty, nextKey != keyMarker || nextID != uploadIDMarker else {
                throw S3Error(
                    kind: .invalidResponse,
                    message: "ListMultipartUploads in bucket \(configuration.bucket) is truncated but names no next marker",
                    httpStatus: response.status, requestID: response.requestID)
            }
            keyMarker = nextKey
            uploadIDMarker = nextID
        }
        return uploads
    }

    /// When an upload's `Initiated` (ISO 8601, e.g. `2026-01-02T03:04:05.000Z`) was, in seconds
    /// since 1970; nil when missing or unreadable.
    public static func initiatedTime(_ text: String?) -> Double? {
        guard let text else { return nil }
        return iso8601Seconds(text)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what S3 lists use for dates).
    public static func iso8601Seconds(_ text: String) -> Double? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date.timeIntervalSince1970 }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)?.timeIntervalSince1970
    }
}

extension S3Client {
    /// The buckets of the account (ListBuckets, a call on the service rather than the bucket).
    public func listBuckets() async throws(S3Error) -> [S3BucketSummary] {
        let response = try await perform(Call(method: .get, key: nil, onService: true))
        guard let root = S3XMLNode.parse(response.body), root.name == "ListAllMyBucketsResult" else {
            throw S3Error(
                kind: .invalidResponse, message: "ListBuckets answered something other than a ListAllMyBucketsResult",
                httpStatus: response.status, requestID: response.requestID)
        }
        return (root.child("Buckets")?.children("Bucket") ?? []).compactMap { bucket in
            bucket.string("Name").map { S3BucketSummary(name: $0, creationDate: bucket.string("CreationDate")) }
        }
    }
}
