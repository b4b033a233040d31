import CurlHTTP
import Foundation
import Hashing
import ObjectStorage
import Subprocess
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// S3Client against a real S3 server: SeaweedFS on loopback (scripts/test-s3.sh).
@Suite("S3 client against SeaweedFS")
struct S3ClientIntegrationTests {
    @Test("PutObject streams a file; HeadObject matches its size and SHA-256")
    func putThenHead() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("put")
        let directory = try TemporaryDirectory(prefix: "dms-s3-put")
        defer { try? directory.remove() }
        // Over 1 MiB: sent with Expect: 100-continue.
        let size = 3 << 20 + 12345
        let path = try directory.writeFile("DJI_0001.MP4", size: size, seed: 1)
        let expected = SHA256Hasher.hash(Array(try Data(contentsOf: URL(fileURLWithPath: path.string))))

        let sent = Mutex(0)
        let put = try await s3.putObject(
            key: prefix + "2025/01/01/DJI_0001.MP4", file: path, contentType: "video/mp4",
            onBodyBytesSent: { count in sent.withLock { $0 += count } })
        #expect(put.size == Int64(size))
        #expect(put.sha256 == expected)
        #expect(sent.withLock { $0 } == size)
        #expect(put.etag != nil)
        #expect(put.requestID != nil)

        let head = try await s3.headObject(key: prefix + "2025/01/01/DJI_0001.MP4")
        #expect(head.size == Int64(size))
        #expect(head.checksumSHA256 == expected, "x-amz-checksum-sha256: \(head.checksumSHA256Header ?? "none")")
        #expect(head.contentType == "video/mp4")

        // A known digest is used as given (no second read of the file), and a small file works too.
        let small = try directory.writeFile("small.txt", bytes: Array("hello".utf8))
        let smallPut = try await s3.putObject(key: prefix + "small.txt", file: small, sha256: SHA256Hasher.hash(Array("hello".utf8)))
        #expect(try await s3.headObject(key: prefix + "small.txt").checksumSHA256 == smallPut.sha256)
        // An empty file.
        let empty = try directory.writeFile("empty", bytes: [])
        _ = try await s3.putObject(key: prefix + "empty", file: empty)
        #expect(try await s3.headObject(key: prefix + "empty").size == 0)
    }

    @Test("bytes that do not match the signed SHA-256 are refused as a checksum mismatch")
    func checksumMismatch() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("mismatch")
        let directory = try TemporaryDirectory(prefix: "dms-s3-mismatch")
        defer { try? directory.remove() }
        let path = try directory.writeFile("a.bin", size: 4096, seed: 2)
        let wrong = SHA256Hasher.hash(Array("something else".utf8))
        let error = await #expect(throws: S3Error.self) { _ = try await s3.putObject(key: prefix + "a.bin", file: path, sha256: wrong) }
        #expect(error?.kind == .checksumMismatch, "\(String(describing: error))")
        #expect(error?.requestID != nil)
        await #expect(throws: S3Error.self) { _ = try await s3.headObject(key: prefix + "a.bin") }
    }

    @Test("a wrong secret is a clear authentication error that names the key id and not the secret")
    func wrongSecret() async throws {
        let server = try await TestS3Server.shared()
        let (good, prefix) = try server.makeScope("auth")
        let wrongSecret = String(server.secretAccessKey.reversed())
        let bad = try server.client(
            bucket: good.configuration.bucket,
            credentials: AWSCredentials(
                accessKeyID: server.accessKeyID, secretAccessKey: wrongSecret))
        let directory = try TemporaryDirectory(prefix: "dms-s3-auth")
        defer { try? directory.remove() }
        let path = try directory.writeFile("a.bin", size: 2 << 20, seed: 3)

        let putError = await #expect(throws: S3Error.self) { _ = try await bad.putObject(key: prefix + "a.bin", file: path) }
        let failure = try #require(putError)
        #expect(failure.kind == .authentication)
        #expect(failure.code == "SignatureDoesNotMatch")
        #expect(failure.httpStatus == 403)
        #expect(failure.requestID != nil)
        #expect(failure.message.contains("secret access key"))
        #expect(failure.message.contains(server.accessKeyID))
        for text in [failure.description, String(reflecting: failure), "\(failure)"] {
            #expect(!text.contains(wrongSecret) && !text.contains(server.secretAccessKey))
        }

        // HEAD answers have no body: still an authentication error, saying what it may be.
        let headError = await #expect(throws: S3Error.self) { _ = try await bad.headObject(key: prefix + "a.bin") }
        #expect(headError?.kind == .authentication)
        #expect(headError?.description.contains(wrongSecret) == false)

        // An unknown key id.
        let stranger = try server.client(
            bucket: good.configuration.bucket,
            credentials: AWSCredentials(
                accessKeyID: "DMSUNKNOWNKEY0000000", secretAccessKey: wrongSecret))
        let unknown = await #expect(throws: S3Error.self) { _ = try await stranger.listObjectsV2() }
        #expect(unknown?.kind == .authentication)
        #expect(unknown?.code == "InvalidAccessKeyId")
    }

    @Test("a clock an hour off is refused as clock skew")
    func clockSkew() async throws {
        let server = try await TestS3Server.shared()
        let bucket = TestS3Server.sharedBucket
        let skewed = try server.client(
            bucket: bucket,
            clock: {
                SigV4Date(secondsSince1970: SigV4Date.now().secondsSince1970 - 3600)
            })
        let error = await #expect(throws: S3Error.self) { _ = try await skewed.listObjectsV2() }
        #expect(error?.kind == .authentication)
        #expect(error?.code == "RequestTimeTooSkewed", "\(String(describing: error))")
        #expect(error?.message.contains("clock") == true)
    }

    @Test("a presigned GET works with plain curl; one changed signature character, or an expired URL, is refused")
    func presignedGet() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("presign")
        let directory = try TemporaryDirectory(prefix: "dms-s3-presign")
        defer { try? directory.remove() }
        let content = Array("presigned content\n".utf8)
        let path = try directory.writeFile("note.txt", bytes: content)
        _ = try await s3.putObject(key: prefix + "shared/note with space.txt", file: path)

        let url = try s3.presignedURL(method: .get, key: prefix + "shared/note with space.txt", expiresInSeconds: 600)
        let fetched = try await curl(url, to: directory.path + "/fetched")
        #expect(fetched == 200)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/fetched"))) == content)

        let tampered = try #require(Self.changingOneSignatureCharacter(url))
        #expect(tampered != url)
        #expect(try await curl(tampered, to: directory.path + "/tampered") == 403)

        let old = SigV4Date(secondsSince1970: SigV4Date.now().secondsSince1970 - 600)
        let expired = try s3.presignedURL(method: .get, key: prefix + "shared/note with space.txt", expiresInSeconds: 60, at: old)
        #expect(try await curl(expired, to: directory.path + "/expired") == 403)
    }

    @Test("ListObjectsV2 returns what was put, page by page, with prefixes and odd keys")
    func list() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("list")
        let directory = try TemporaryDirectory(prefix: "dms-s3-list")
        defer { try? directory.remove() }
        let keys = ["a/1.jpg", "a/2 two.jpg", "a/ü+$&=.jpg", "a/deeper/3.jpg", "b/4.jpg"].map { prefix + $0 }
        var sizes: [String: Int64] = [:]
        for (index, key) in keys.enumerated() {
            let path = try directory.writeFile("f\(index)", size: 100 + index * 10, seed: UInt64(index))
            sizes[key] = try await s3.putObject(key: key, file: path).size
        }

        var listed: [S3ObjectSummary] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try await s3.listObjectsV2(prefix: prefix + "a/", continuationToken: token, maxKeys: 2)
            #expect(page.objects.count <= 2)
            #expect(page.requestID != nil)
            listed += page.objects
            if page.isTruncated {
                let next: String = try #require(page.nextContinuationToken)
                token = next
            } else {
                token = nil
            }
            pages += 1
        } while token != nil && pages < 10
        #expect(pages == 2)
        #expect(listed.map(\.key) == keys.filter { $0.hasPrefix(prefix + "a/") }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for object in listed { #expect(object.size == sizes[object.key]) }

        let top = try await s3.listObjectsV2(prefix: prefix, delimiter: "/")
        #expect(top.objects.isEmpty)
        #expect(top.commonPrefixes == [prefix + "a/", prefix + "b/"])
        #expect(!top.isTruncated)
    }

    @Test("DeleteObject removes a key; HeadObject of a missing key is notFound")
    func deleteAndNotFound() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("delete")
        let directory = try TemporaryDirectory(prefix: "dms-s3-delete")
        defer { try? directory.remove() }
        _ = try await s3.putObject(key: prefix + "gone.txt", file: try directory.writeFile("x", bytes: [1, 2, 3]))
        try await s3.deleteObject(key: prefix + "gone.txt")
        let error = await #expect(throws: S3Error.self) { _ = try await s3.headObject(key: prefix + "gone.txt") }
        #expect(error?.kind == .notFound)
        #expect(error?.httpStatus == 404)
        try await s3.deleteObject(key: prefix + "never-existed.txt")

        let missingBucket = try server.client(bucket: "dms-no-such-bucket-\(TestS3Server.randomSuffix())")
        let noBucket = await #expect(throws: S3Error.self) { _ = try await missingBucket.listObjectsV2() }
        #expect(noBucket?.kind == .notFound)
        #expect(noBucket?.code == "NoSuchBucket")
    }

    @Test("CreateBucket (again: still fine), then DeleteBucket")
    func bucketLifecycle() async throws {
        let server = try await TestS3Server.shared()
        let s3 = try server.client(bucket: "dms-lifecycle-\(TestS3Server.randomSuffix())")
        try await s3.createBucket()
        try await s3.createBucket()
        #expect(try await s3.listObjectsV2().objects.isEmpty)
        try await s3.deleteBucket()
        let error = await #expect(throws: S3Error.self) { _ = try await s3.listObjectsV2() }
        #expect(error?.code == "NoSuchBucket")
    }

    @Test("a missing local file is a local-file error naming the path")
    func missingFile() async throws {
        let server = try await TestS3Server.shared()
        let s3 = try server.client(bucket: "dms-unused")
        let error = await #expect(throws: S3Error.self) {
            _ = try await s3.putObject(key: "k", file: FilePath("/nonexistent/dms/file.mp4"))
        }
        #expect(error?.kind == .localFile)
        #expect(error?.message.contains("/nonexistent/dms/file.mp4") == true)
    }

    // MARK: - Helpers

    /// `curl` with no proxy, body to `output`; returns the HTTP status.
    private func curl(_ url: String, to output: String) async throws -> Int {
        let result = try await Subprocess.run(
            .name("curl"), arguments: ["-sS", "--noproxy", "*", "-o", output, "-w", "%{http_code}", url],
            output: .string(limit: 4096), error: .string(limit: 1 << 16))
        #expect(result.terminationStatus.isSuccess, "curl: \(result.standardError)")
        return Int(result.standardOutput) ?? -1
    }

    /// The URL with the first hex digit of X-Amz-Signature changed.
    static func changingOneSignatureCharacter(_ url: String) -> String? {
        guard let range = url.range(of: "X-Amz-Signature=") else { return nil }
        var characters = Array(url)
        let index = url.distance(from: url.startIndex, to: range.upperBound)
        guard index < characters.count else { return nil }
        characters[index] = characters[index] == "0" ? "1" : "0"
        return String(characters)
    }
}
