import CurlHTTP
import Foundation
import Glibc
import Hashing
import LocalFS
import MediaSync
import ObjectStorage
import S3Sync
import Synchronization
import SystemPackage
import TestSupport
import Testing

final class ByteCounter: Sendable {
    private let count = Mutex(0)
    func add(_ n: Int) { count.withLock { $0 += n } }
    var total: Int { count.withLock { $0 } }
}

/// The state database as the uploader's journal, for one destination (the daemon's own adapter
/// lives with the S3 destination; this one is for the tests).
/// The daemon's own journal (the state database), as the tests use it.
typealias StateStoreJournal = StateStoreMultipartJournal

extension StateStoreMultipartJournal {
    init(store: StateStore) { self.init(store: store, destination: "s3") }
}

/// A journal that lets a test act when a part is journaled; `partDone` returns false to drop the
/// record (as if the process died between the server's answer and the journal's commit).
struct HookedJournal: MultipartJournal {
    let base: any MultipartJournal
    let partDone: @Sendable (UploadedPart) -> Bool

    func find(key: String, fingerprint: String) throws -> JournaledUpload? { try base.find(key: key, fingerprint: fingerprint) }
    func started(_ upload: JournaledUpload) throws { try base.started(upload) }
    func partDone(key: String, uploadID: String, part: UploadedPart) throws {
        if partDone(part) { try base.partDone(key: key, uploadID: uploadID, part: part) }
    }
    func ended(key: String, uploadID: String) throws { try base.ended(key: key, uploadID: uploadID) }
    func all() throws -> [JournaledUpload] { try base.all() }
}

@Suite("Multipart uploader against SeaweedFS")
struct MultipartUploaderTests {
    static let part: Int64 = 5 << 20
    static let size = 18 << 20 + 4321 // 3.5 parts

    /// What every test needs: a scope on the server, a file, a real state database.
    struct Fixture {
        let s3: S3Client
        let prefix: String
        let dir: TemporaryDirectory
        let path: FilePath
        let digest: SHA256Digest
        let store: StateStore
        let journal: StateStoreJournal
        let s3Credentials: AWSCredentials
        var key: String { prefix + "2025/01/01/DJI_0001.MP4" }

        init(_ label: String, size: Int = MultipartUploaderTests.size) async throws {
            let server = try await TestS3Server.shared()
            (s3, prefix) = try server.makeScope(label)
            s3Credentials = server.credentials
            dir = try TemporaryDirectory(prefix: "dms-" + label)
            path = try dir.writeFile("DJI_0001.MP4", size: size, seed: UInt64(size))
            digest = SHA256Hasher.hash(try FileIO.readWholeFile(path, limit: 64 << 20))
            store = try StateStore(directory: dir.filePath.appending("state"))
            journal = StateStoreJournal(store: store)
        }

        /// Clients like `s3`'s, or with another secret.
        func factory(secret: String? = nil) -> @Sendable () throws(S3Error) -> S3Client {
            let configuration = s3.configuration
            let credentials = AWSCredentials(
                accessKeyID: s3Credentials.accessKeyID,
                secretAccessKey: secret ?? s3Credentials.secretAccessKey)
            return { () throws(S3Error) in try S3Client(configuration: configuration, credentials: credentials) }
        }

        func uploader(
            parallel: Int = 4, journal: (any MultipartJournal)? = nil,
            factory: (@Sendable () throws(S3Error) -> S3Client)? = nil
        ) -> MultipartUploader {
            MultipartUploader(
                settings: .init(
                    partSize: MultipartUploaderTests.part, parallelParts: parallel, retriesPerPart: 2,
                    backoff: { _ in .milliseconds(10) }),
                journal: journal ?? self.journal, makeClient: factory ?? self.factory())
        }

        func upload(_ uploader: MultipartUploader, sent: ByteCounter? = nil) async throws(MultipartUploadError) -> MultipartUploadResult {
            try await uploader.upload(
                file: path, key: key, fingerprint: "v1", contentType: "video/mp4",
                metadata: ["dms-sha256": digest.hex], onBytesSent: { n in sent?.add(n) })
        }

        /// The object is the file: size, metadata, composite checksum, and every byte.
        func expectObjectIsTheFile(_ result: MultipartUploadResult) async throws {
            let head = try await s3.headObject(key: key)
            #expect(head.size == Int64(MultipartUploaderTests.size))
            #expect(head.userMetadata["dms-sha256"] == digest.hex)
            #expect(head.contentType == "video/mp4")
            #expect(head.checksumSHA256Header == result.expectedChecksumSHA256)
            #expect(result.checksumSHA256 == result.expectedChecksumSHA256)
            let url = try s3.presignedURL(method: .get, key: key, expiresInSeconds: 300)
            let response = try await HTTPClient(configuration: .init(proxy: .none, maximumResponseBodyBytes: 64 << 20))
                .send(HTTPRequest(method: .get, url: url))
            #expect(response.status == 200)
            #expect(SHA256Hasher.hash(response.body) == digest)
            #expect(try store.multipartUploads().isEmpty, "a completed upload leaves the journal")
            #expect(try await s3.listMultipartUploads(prefix: prefix).isEmpty)
        }
    }

    @Test("an 18 MiB file goes up in equal 5 MiB parts (the last holds the rest), 4 at a time, checked part by part")
    func uploadsInEqualParts() async throws {
        let f = try await Fixture("mpu-up")
        defer { try? f.dir.remove() }
        let sent = Mutex(0), throttled = Mutex(0)
        let uploader = f.uploader()
        let result = try await uploader.upload(
            file: f.path, key: f.key, fingerprint: "v1", contentType: "video/mp4",
            metadata: ["dms-sha256": f.digest.hex],
            onBytesSent: { n in sent.withLock { $0 += n } },
            throttle: { n in throttled.withLock { $0 += n } })
        #expect(result.parts.map(\.number) == [1, 2, 3, 4])
        #expect(result.parts.map(\.size) == [Self.part, Self.part, Self.part, Int64(Self.size) - 3 * Self.part])
        #expect(result.parts.allSatisfy { $0.sha256 != nil })
        #expect(result.size == Int64(Self.size) && result.partSize == Self.part && !result.partSizeGrown)
        #expect(!result.resumed && result.skippedParts == 0 && result.skippedBytes == 0)
        #expect(result.etag?.hasSuffix("-4\"") == true, "\(result.etag ?? "no ETag")")
        #expect(result.requestID != nil)
        #expect(sent.withLock { $0 } == Self.size, "every body byte once")
        #expect(throttled.withLock { $0 } == Self.size, "every body byte passed the throttle")
        #expect(uploader.clients.idleCount == 4, "4 connections (the control client is a worker's too), kept for reuse")
        try await f.expectObjectIsTheFile(result)
    }

    @Test("part digests computed ahead are used as they are, and the server refuses a part whose digest is not its bytes")
    func precomputedPartDigests() async throws {
        let f = try await Fixture("mpu-digests")
        defer { try? f.dir.remove() }
        let layout = try PartLayout.forNewUpload(fileSize: Int64(Self.size), preferredPartSize: Self.part)
        let digests = try PartDigests.compute(file: f.path, layout: layout)
        #expect(digests.digests.count == 4)
        let result = try await f.uploader().upload(
            file: f.path, key: f.key, fingerprint: "v1", contentType: "video/mp4",
            metadata: ["dms-sha256": f.digest.hex], partDigests: digests)
        #expect(result.parts.map(\.sha256) == digests.digests.map(Optional.some))
        try await f.expectObjectIsTheFile(result)

        // Digests of other bytes (the file changed after they were taken): refused part by part, aborted.
        let other = try await Fixture("mpu-digests-bad")
        defer { try? other.dir.remove() }
        let wrong = PartDigests(partSize: digests.partSize, digests: digests.digests.reversed())
        let error = await #expect(throws: MultipartUploadError.self) {
            _ = try await other.uploader().upload(file: other.path, key: other.key, fingerprint: "v1", partDigests: wrong)
        }
        #expect(error?.s3Error?.kind == .checksumMismatch, "\(String(describing: error))")
        #expect(error?.uploadKept == false)
        #expect(try await other.s3.listMultipartUploads(prefix: other.prefix).isEmpty)
    }

    @Test("cancelled after 2 parts (one not journaled), a new uploader sends only the missing parts")
    func resumesAfterCancellation() async throws {
        let f = try await Fixture("mpu-resume")
        defer { try? f.dir.remove() }
        let journaledParts = Mutex(0)
        let running = Mutex<Task<MultipartUploadResult, any Error>?>(nil)
        let hooked = HookedJournal(base: f.journal) { _ in
            let count = journaledParts.withLock {
                $0 += 1
                return $0
            }
            if count == 2 { running.withLock { $0?.cancel() } }
            return count != 2 // part 2 reaches the server but not the journal: a crash just after its answer
        }
        let first = f.uploader(parallel: 1, journal: hooked)
        // The lock is held until the task is stored: the hook cannot miss it.
        running.withLock { task in task = Task { try await f.upload(first) } }
        let task = try #require(running.withLock { $0 })
        let error = await #expect(throws: MultipartUploadError.self) { _ = try await task.value }
        guard case .cancelled? = error?.reason else {
            Issue.record("not a cancellation: \(String(describing: error))")
            return
        }
        #expect(error?.uploadKept == true)
        let journaled = try #require(try f.journal.find(key: f.key, fingerprint: "v1"))
        #expect(journaled.parts.map(\.number) == [1])
        #expect(try await f.s3.listParts(key: f.key, uploadID: journaled.uploadID).map { $0.number } == [1, 2])

        // Another version of the file does not resume it.
        #expect(try f.journal.find(key: f.key, fingerprint: "v2") == nil)

        let sent = ByteCounter()
        let result = try await f.upload(f.uploader(), sent: sent)
        #expect(result.resumed && result.uploadID == journaled.uploadID)
        #expect(result.skippedParts == 2 && result.skippedBytes == 2 * Self.part)
        #expect(sent.total == Self.size - 2 * Int(Self.part), "only parts 3 and 4 travel")
        #expect(result.parts.map(\.size) == [Self.part, Self.part, Self.part, Int64(Self.size) - 3 * Self.part])
        try await f.expectObjectIsTheFile(result)
    }

    @Test("a journaled upload the server no longer knows is forgotten, and a new one is made")
    func unknownJournaledUploadStartsAgain() async throws {
        let f = try await Fixture("mpu-gone")
        defer { try? f.dir.remove() }
        let gone = try await f.s3.createMultipartUpload(key: f.key, checksumSHA256: true)
        try await f.s3.abortMultipartUpload(key: f.key, uploadID: gone)
        try f.journal.started(
            JournaledUpload(
                key: f.key, uploadID: gone, fingerprint: "v1", partSize: Self.part,
                createdAt: Date()))
        let sent = ByteCounter()
        let result = try await f.upload(f.uploader(), sent: sent)
        #expect(!result.resumed && result.uploadID != gone && result.skippedParts == 0)
        #expect(sent.total == Self.size)
        try await f.expectObjectIsTheFile(result)
    }

    @Test("a file that shrinks during the upload aborts it at once and leaves the journal")
    func shrunkFileAborts() async throws {
        let f = try await Fixture("mpu-shrink")
        defer { try? f.dir.remove() }
        let path = f.path
        let hooked = HookedJournal(base: f.journal) { part in
            if part.number == 1 { _ = path.withPlatformString { truncate($0, off_t(7 << 20)) } }
            return true
        }
        let error = await #expect(throws: MultipartUploadError.self) { _ = try await f.upload(f.uploader(parallel: 1, journal: hooked)) }
        #expect(error?.s3Error?.kind == .localFile, "\(String(describing: error))")
        #expect(error?.partNumber == 2)
        #expect(error?.uploadKept == false)
        #expect(error?.uploadID != nil)
        #expect(try f.store.multipartUploads().isEmpty)
        #expect(try await f.s3.listMultipartUploads(prefix: f.prefix).isEmpty, "aborted on the server")
    }

    @Test("a part refused for its credentials aborts the upload; the other workers stop")
    func authenticationFailureAborts() async throws {
        let f = try await Fixture("mpu-auth")
        defer { try? f.dir.remove() }
        // The first client (control, and worker 1) is good; the other workers' secret is wrong.
        let made = Mutex(0)
        let good = f.factory(), bad = f.factory(secret: "wrong-secret-wrong-secret-wrong-secret00")
        let factory: @Sendable () throws(S3Error) -> S3Client = { () throws(S3Error) in
            try
                (made.withLock {
                    $0 += 1
                    return $0
                } == 1 ? good : bad)()
        }
        let error = await #expect(throws: MultipartUploadError.self) { _ = try await f.upload(f.uploader(parallel: 3, factory: factory)) }
        #expect(error?.s3Error?.kind == .authentication, "\(String(describing: error))")
        #expect(error?.uploadKept == false)
        #expect(error.map { !"\($0)".contains("wrong-secret") } == true, "no secret in the error")
        #expect(try f.store.multipartUploads().isEmpty)
        #expect(try await f.s3.listMultipartUploads(prefix: f.prefix).isEmpty)
    }

    @Test("when a part's retries run out on a connection failure, the upload is kept and the next attempt resumes it")
    func transientFailureKeepsTheUpload() async throws {
        let f = try await Fixture("mpu-transient")
        defer { try? f.dir.remove() }
        var configuration = f.s3.configuration
        configuration.endpoint = "http://127.0.0.1:\(try closedLoopbackPort())"
        let unreachable = configuration
        let credentials = f.s3Credentials
        let made = Mutex(0)
        let good = f.factory()
        let factory: @Sendable () throws(S3Error) -> S3Client = { () throws(S3Error) in
            made.withLock {
                $0 += 1
                return $0
            } == 1 ? try good() : try S3Client(configuration: unreachable, credentials: credentials)
        }
        let error = await #expect(throws: MultipartUploadError.self) { _ = try await f.upload(f.uploader(parallel: 2, factory: factory)) }
        #expect(error?.s3Error?.kind == .transport, "\(String(describing: error))")
        #expect(error?.uploadKept == true)
        let journaled = try #require(try f.journal.all().first)
        #expect(try await f.s3.listMultipartUploads(prefix: f.prefix).map { $0.uploadID } == [journaled.uploadID])
        // A part in flight when the others were cancelled may have reached the server unjournaled:
        // the resume takes it from ListParts (hashing it again locally for its checksum).
        let stored = try await f.s3.listParts(key: f.key, uploadID: journaled.uploadID).map { $0.number }
        #expect(Set(journaled.parts.map { $0.number }).isSubset(of: stored))

        let result = try await f.upload(f.uploader())
        #expect(result.resumed && result.uploadID == journaled.uploadID)
        // ≥: the cancelled part's request may still land on the server after the listing above.
        #expect(result.skippedParts >= stored.count)
        try await f.expectObjectIsTheFile(result)
    }

    @Test("a small file goes up with PutObject carrying the same metadata; HEAD returns it and the full SHA-256")
    func putObjectCarriesMetadata() async throws {
        let f = try await Fixture("mpu-put", size: 100_000)
        defer { try? f.dir.remove() }
        let throttled = ByteCounter()
        _ = try await f.s3.putObject(
            key: f.key, file: f.path, sha256: f.digest, contentType: "video/mp4",
            metadata: ["DMS-SHA256": f.digest.hex], throttle: { throttled.add($0) })
        let head = try await f.s3.headObject(key: f.key)
        #expect(head.userMetadata == ["dms-sha256": f.digest.hex], "names are lowercased")
        #expect(head.checksumSHA256 == f.digest)
        #expect(throttled.total == 100_000)
    }
}

/// The part layout: pure arithmetic.
@Suite struct PartLayoutTests {
    static let mib: Int64 = 1 << 20

    @Test func equalPartsAndTheRestLast() throws {
        let layout = try PartLayout.forNewUpload(fileSize: 18 * Self.mib + 1, preferredPartSize: 5 * Self.mib)
        #expect(layout.count == 4 && layout.partSize == 5 * Self.mib && !layout.grown)
        #expect((1...4).map { layout.range(ofPart: $0).length } == [5 * Self.mib, 5 * Self.mib, 5 * Self.mib, 3 * Self.mib + 1])
        #expect(layout.range(ofPart: 4).offset == 15 * Self.mib)
        let exact = try PartLayout.forNewUpload(fileSize: 10 * Self.mib, preferredPartSize: 5 * Self.mib)
        #expect(exact.count == 2 && exact.range(ofPart: 2).length == 5 * Self.mib)
    }

    @Test func growsToStayWithin10000Parts() throws {
        // 10000 parts of 5 MiB exactly: no growth; one byte more: 6 MiB parts.
        let full = try PartLayout.forNewUpload(fileSize: 10_000 * 5 * Self.mib, preferredPartSize: 5 * Self.mib)
        #expect(full.count == 10_000 && !full.grown)
        let size = 10_000 * 5 * Self.mib + 1
        let grown = try PartLayout.forNewUpload(fileSize: size, preferredPartSize: 5 * Self.mib)
        #expect(grown.grown && grown.partSize == 6 * Self.mib && grown.count <= 10_000)
        #expect((1..<grown.count).allSatisfy { grown.range(ofPart: $0).length == grown.partSize })
        let last = grown.range(ofPart: grown.count)
        #expect(last.offset + last.length == size && last.length > 0 && last.length <= grown.partSize)
        // Too small or too large part sizes are clamped to S3's limits.
        #expect(try PartLayout.forNewUpload(fileSize: 1, preferredPartSize: 1).partSize == 5 * Self.mib)
        #expect(try PartLayout.forNewUpload(fileSize: 1, preferredPartSize: 6 << 30).partSize == 5 << 30)
        // Beyond 10000 × 5 GiB there is no layout.
        #expect(throws: S3Error.self) { try PartLayout.forNewUpload(fileSize: 10_000 * (5 << 30) + 1, preferredPartSize: 5 * Self.mib) }
    }

    @Test func aJournaledPartSizeIsKeptOnlyIfItFits() {
        #expect(PartLayout(fileSize: 18 * Self.mib, journaledPartSize: 8 * Self.mib)?.count == 3)
        #expect(PartLayout(fileSize: 18 * Self.mib, journaledPartSize: 4 * Self.mib) == nil)
        #expect(PartLayout(fileSize: 10_001 * 5 * Self.mib, journaledPartSize: 5 * Self.mib) == nil)
    }

    @Test func compositeChecksumIsTheHashOfThePartDigests() {
        let a = SHA256Hasher.hash(Array("a".utf8)), b = SHA256Hasher.hash(Array("b".utf8))
        let parts = [UploadedPart(number: 2, etag: "", size: 1, sha256: b), UploadedPart(number: 1, etag: "", size: 1, sha256: a)]
        let expected = Data(SHA256Hasher.hash(a.bytes + b.bytes).bytes).base64EncodedString() + "-2"
        #expect(MultipartUploader.compositeChecksum(parts) == expected)
    }
}
