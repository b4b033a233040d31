import CurlHTTP
import Foundation
import Hashing
import LocalFS
import ObjectStorage
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// Multipart uploads against SeaweedFS: parts from file ranges, resume from ListParts, abort.
@Suite("S3 multipart against SeaweedFS")
struct MultipartTests {
    static let part: Int64 = 5 << 20

    /// The object's bytes, fetched through a presigned GET.
    static func download(_ s3: S3Client, key: String) async throws -> [UInt8] {
        let url = try s3.presignedURL(method: .get, key: key, expiresInSeconds: 300)
        let response = try await HTTPClient(configuration: .init(proxy: .none, maximumResponseBodyBytes: 64 << 20))
            .send(HTTPRequest(method: .get, url: url))
        #expect(response.status == 200)
        return response.body
    }

    @Test("a 12 MiB file in three parts; ListParts lists them; the object is the file")
    func uploadInParts() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("multipart")
        let dir = try TemporaryDirectory(prefix: "dms-mpu")
        defer { try? dir.remove() }
        let size = 12 << 20 + 777
        let path = try dir.writeFile("DJI_0001.MP4", size: size, seed: 4)
        let key = prefix + "2025/01/01/DJI_0001.MP4"
        let id = try await s3.createMultipartUpload(key: key, contentType: "video/mp4")
        var parts: [UploadedPart] = []
        var offset: Int64 = 0
        var number = 1
        while offset < Int64(size) {
            let length = min(Self.part, Int64(size) - offset)
            parts.append(try await s3.uploadPart(key: key, uploadID: id, number: number, file: path, offset: offset, length: length))
            offset += length
            number += 1
        }
        let listed = try await s3.listParts(key: key, uploadID: id)
        #expect(listed.map(\.number) == [1, 2, 3])
        #expect(listed.map(\.size) == parts.map(\.size))
        try await s3.completeMultipartUpload(key: key, uploadID: id, parts: listed)
        #expect(try await s3.headObject(key: key).size == Int64(size))
        let bytes = try await Self.download(s3, key: key)
        #expect(SHA256Hasher.hash(bytes) == SHA256Hasher.hash(try FileIO.readWholeFile(path, limit: 64 << 20)))
    }

    @Test("after a crash, a new client finds the finished parts with ListParts and sends only the rest")
    func resumeFromListParts() async throws {
        let server = try await TestS3Server.shared()
        let (first, prefix) = try server.makeScope("resume")
        let dir = try TemporaryDirectory(prefix: "dms-mpu-resume")
        defer { try? dir.remove() }
        let size = 11 << 20
        let path = try dir.writeFile("DJI_0002.MP4", size: size, seed: 5)
        let key = prefix + "DJI_0002.MP4"
        let id = try await first.createMultipartUpload(key: key)
        _ = try await first.uploadPart(key: key, uploadID: id, number: 1, file: path, offset: 0, length: Self.part)
        _ = try await first.uploadPart(key: key, uploadID: id, number: 2, file: path, offset: Self.part, length: Self.part)
        // "Crash": a fresh client knows only the upload id (as the state database would).
        let second = try server.client(bucket: TestS3Server.sharedBucket)
        let done = try await second.listParts(key: key, uploadID: id)
        #expect(done.map(\.number) == [1, 2])
        let sent = Mutex<Int>(0)
        let last = try await second.uploadPart(
            key: key, uploadID: id, number: 3, file: path, offset: 2 * Self.part,
            length: Int64(size) - 2 * Self.part, onBodyBytesSent: { n in sent.withLock { $0 += n } })
        #expect(sent.withLock { $0 } == size - 2 * Int(Self.part), "only the missing part travels")
        try await second.completeMultipartUpload(key: key, uploadID: id, parts: done + [last])
        let bytes = try await Self.download(second, key: key)
        #expect(SHA256Hasher.hash(bytes) == SHA256Hasher.hash(try FileIO.readWholeFile(path, limit: 64 << 20)))
    }

    @Test("an aborted upload is gone: not listed, and its parts cannot be listed")
    func abort() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("abort")
        let dir = try TemporaryDirectory(prefix: "dms-mpu-abort")
        defer { try? dir.remove() }
        let path = try dir.writeFile("DJI_0003.MP4", size: 6 << 20, seed: 6)
        let key = prefix + "DJI_0003.MP4"
        let id = try await s3.createMultipartUpload(key: key)
        _ = try await s3.uploadPart(key: key, uploadID: id, number: 1, file: path, offset: 0, length: Self.part)
        #expect(try await s3.listMultipartUploads(prefix: prefix).map(\.uploadID) == [id])
        try await s3.abortMultipartUpload(key: key, uploadID: id)
        #expect(try await s3.listMultipartUploads(prefix: prefix).isEmpty)
        await #expect(throws: S3Error.self) { _ = try await s3.listParts(key: key, uploadID: id) }
    }
}
