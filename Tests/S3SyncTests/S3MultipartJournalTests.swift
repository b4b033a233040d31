import Configuration
import Foundation
import Hashing
import LocalFS
import MediaSync
import ObjectStorage
import S3Sync
import SystemPackage
import TestSupport
import Testing

/// Journal rows against what the real SeaweedFS server lists (issue 11, defect 12).
@Suite struct S3MultipartJournalTests {
    /// What a kill between CompleteMultipartUpload and forgetting the upload leaves: every call
    /// reaches the state database except the last one.
    struct KilledBeforeForgetting: MultipartJournal {
        let inner: StateStoreMultipartJournal
        func find(key: String, fingerprint: String) throws -> JournaledUpload? { try inner.find(key: key, fingerprint: fingerprint) }
        func started(_ upload: JournaledUpload) throws { try inner.started(upload) }
        func partDone(key: String, uploadID: String, part: UploadedPart) throws { try inner.partDone(key: key, uploadID: uploadID, part: part) }
        func ended(key: String, uploadID: String) throws {}
        func all() throws -> [JournaledUpload] { try inner.all() }
    }

    @Test func anUploadCompletedJustBeforeAKillIsForgottenAndItsFileFoundByHEAD() async throws {
        var f = try await S3Fixture("killedmpu")
        defer { f.cleanUp() }
        var s3 = f.s3
        s3.multipartThresholdMiB = 5
        f.s3 = s3
        let name = "DJI_20250109120000_0001_V.MP4"
        let path = try f.add(name, size: 6 << 20, seed: 9)
        let sha = SHA256Hasher.hash(try FileIO.readWholeFile(path, limit: 1 << 30))
        let key = f.prefix + "2025/01/09/" + name
        let store = try f.store()
        let server = f.server
        let uploader = MultipartUploader(
            settings: MultipartUploadSettings(partSize: 5 << 20, parallelParts: 2, retriesPerPart: 1),
            journal: KilledBeforeForgetting(inner: StateStoreMultipartJournal(store: store, destination: "s3")),
            makeClient: { () throws(S3Error) in
                do { return try server.client(bucket: TestS3Server.sharedBucket) } catch {
                    throw S3Error(kind: .configuration, message: "test client: \(error)")
                }
            })
        _ = try await uploader.upload(file: path, key: key, fingerprint: "killed", metadata: ["dms-sha256": sha.hex])
        #expect(try store.multipartUploads(destination: "s3").count == 1, "the row the kill left behind")
        let client = try f.client()
        #expect(try await client.listMultipartUploads(prefix: f.prefix).isEmpty, "completed: the server lists no upload")

        // An upload the server does list is still in progress: its row stays.
        let liveKey = f.prefix + "2025/01/09/live.MP4"
        let liveID = try await client.createMultipartUpload(key: liveKey)
        defer { Task { [client] in try? await client.abortMultipartUpload(key: liveKey, uploadID: liveID) } }
        try store.recordMultipartUploadStarted(
            StateStore.MultipartUploadRecord(
                destination: "s3", key: liveKey, uploadID: liveID, fingerprint: "live", partSize: 5 << 20,
                createdAt: Date().timeIntervalSince1970))

        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages)")
        #expect(summary.bytesCopied == 0, "the object is there with the file's size and SHA-256: nothing is sent")
        #expect(
            try f.store().multipartUploads().map(\.uploadID) == [liveID],
            "the completed upload's row is gone, the listed one kept")
        #expect(try await f.objects() == ["2025/01/09/" + name: 6 << 20])
    }
}
