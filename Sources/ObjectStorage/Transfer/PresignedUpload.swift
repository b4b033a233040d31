import CurlHTTP
import Foundation
import Glibc
import Hashing
import LocalFS
import SystemPackage

/// Uploads a file through a presigned PUT URL, with no credentials, and verifies it.
///
/// Verification, in order:
/// 1. the file's MD5 goes along as `Content-MD5` (a standard header, outside the signature): the
///    server stores the object only if it received exactly those bytes (`BadDigest` otherwise);
/// 2. curl must have sent exactly the file's size;
/// 3. the response's ETag, when it is a plain MD5 (a single PUT without SSE-KMS), must be the
///    file's MD5;
/// 4. with a `verifyURL` (a presigned GET of the same key), a one-byte ranged GET must report the
///    object's total size (`Content-Range: bytes 0-0/SIZE`) equal to the file's.
///
/// A presigned URL is a bearer secret: errors name it without its query (``HTTPRequest/redact(_:)``).
public enum PresignedUpload {
    public struct Result: Sendable {
        public let size: Int64
        public let md5Hex: String
        public let etag: String?
        /// The size the verify URL reported (nil without one).
        public let verifiedSize: Int64?
        public let requestID: String?
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public static func upload(
        file path: FilePath, to url: String, contentType: String? = nil, verifyURL: String? = nil,
        http: HTTPClientConfiguration = HTTPClientConfiguration(),
        onBodyBytesSent: (@Sendable (Int) -> Void)? = nil
    ) async throws(Failure) -> Result {
        let redacted = HTTPRequest.redact(url)
        let file: OpenedFile
        do { file = try OpenedFile(path) } catch { throw Failure("\(path): \(error.message)") }
        defer { file.close() }
        let md5: [UInt8]
        do {
            md5 = try await file.md5()
        } catch {
            throw Failure("\(path): \(error.message)")
        }
        let md5Hex = md5.map { String(format: "%02x", $0) }.joined()
        var headers = HTTPHeaders()
        headers.add("Content-MD5", Data(md5).base64EncodedString())
        if let contentType { headers.add("Content-Type", contentType) }
        let client = HTTPClient(configuration: http)
        let request = HTTPRequest(
            method: .put, url: url, headers: headers,
            body: .file(descriptor: file.descriptor, offset: 0, length: file.size),
            expectContinue: file.size >= 1 << 20)
        let response: HTTPResponse
        do {
            response = try await client.send(request, onBodyBytesSent: onBodyBytesSent)
        } catch {
            throw Failure("upload of \(path) to \(redacted) failed: \(error)")
        }
        guard response.isSuccess else {
            throw Failure("upload of \(path) to \(redacted) was refused: \(serverError(response))")
        }
        guard response.bytesSent == file.size else {
            throw Failure("upload of \(path) to \(redacted): sent \(response.bytesSent) bytes of \(file.size)")
        }
        let etag = response.headers["ETag"]
        if let etag {
            let plain = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
            if plain.count == 32, plain.allSatisfy(\.isHexDigit), plain != md5Hex {
                throw Failure("upload of \(path) to \(redacted): the server's ETag \(etag) is not the file's MD5 \(md5Hex)")
            }
        }
        var verifiedSize: Int64?
        if let verifyURL {
            verifiedSize = try await remoteSize(verifyURL, client: client)
            guard verifiedSize == file.size else {
                throw Failure("upload of \(path): \(HTTPRequest.redact(verifyURL)) holds \(verifiedSize!) bytes, the file \(file.size)")
            }
        }
        return Result(size: file.size, md5Hex: md5Hex, etag: etag, verifiedSize: verifiedSize, requestID: response.requestID)
    }

    /// The object's size through a presigned GET URL, reading at most one byte of it.
    static func remoteSize(_ url: String, client: HTTPClient) async throws(Failure) -> Int64 {
        var headers = HTTPHeaders()
        headers.add("Range", "bytes=0-0")
        let response: HTTPResponse
        do {
            response = try await client.send(HTTPRequest(method: .get, url: url, headers: headers))
        } catch {
            throw Failure("verify through \(HTTPRequest.redact(url)) failed: \(error)")
        }
        switch response.status {
        case 206:
            // Content-Range: bytes 0-0/1234
            if let total = response.headers["Content-Range"]?.split(separator: "/").last.flatMap({ Int64($0) }) { return total }
            throw Failure("verify through \(HTTPRequest.redact(url)): a 206 without a total in Content-Range")
        case 200:
            return Int64(response.body.count) // the server ignored the range: the whole (small) object came
        case 416:
            return 0 // an empty object has no byte 0
        default:
            throw Failure("verify through \(HTTPRequest.redact(url)) was refused: \(serverError(response))")
        }
    }

    /// "HTTP 403, SignatureDoesNotMatch: …, request id …" from an error response (never the URL).
    static func serverError(_ response: HTTPResponse) -> String {
        let xml = S3XMLNode.parse(response.body)
        var text = "HTTP \(response.status)"
        if let code = xml?.string("Code") { text += ", \(code)" }
        if let message = xml?.string("Message") { text += ": \(message)" }
        if let id = response.requestID ?? xml?.string("RequestId") { text += " (request id \(id))" }
        return text
    }
}

extension OpenedFile {
    /// MD5 of the whole file, on a blocking thread.
    func md5() async throws(S3Error) -> [UInt8] {
        try await S3Client.blocking { () throws(S3Error) in
            let hasher = MD5Hasher()
            try self.read(offset: 0, length: self.size) { hasher.update($0) }
            return hasher.finalize()
        }
    }
}
