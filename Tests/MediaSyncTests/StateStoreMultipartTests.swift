import Foundation
import MediaSync
import SystemPackage
import TestSupport
import Testing

/// The journal of multipart uploads in the state database (migration v5).
@Suite struct StateStoreMultipartTests {
    static let hexA = String(repeating: "a", count: 64), hexB = String(repeating: "b", count: 64)

    @Test func uploadsAndPartsSurviveReopeningAndAreFoundByKeyAndFingerprint() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        var upload = StateStore.MultipartUploadRecord(
            destination: "r2", key: "2025/01/01/DJI_0001.MP4", uploadID: "u1",
            fingerprint: "f1", partSize: 5 << 20, createdAt: 1000)
        do {
            let store = try StateStore(directory: dir.filePath)
            try store.recordMultipartUploadStarted(upload)
            try store.recordMultipartPart(uploadID: "u1", .init(number: 2, etag: "\"e2\"", size: 5 << 20, sha256: Self.hexB))
            try store.recordMultipartPart(uploadID: "u1", .init(number: 1, etag: "\"old\"", size: 5 << 20, sha256: Self.hexA))
            // A part sent again replaces its record.
            try store.recordMultipartPart(uploadID: "u1", .init(number: 1, etag: "\"e1\"", size: 5 << 20, sha256: Self.hexA))
        }
        let store = try StateStore(directory: dir.filePath)
        upload.parts = [
            .init(number: 1, etag: "\"e1\"", size: 5 << 20, sha256: Self.hexA),
            .init(number: 2, etag: "\"e2\"", size: 5 << 20, sha256: Self.hexB)
        ]
        #expect(try store.multipartUpload(destination: "r2", key: upload.key, fingerprint: "f1") == upload)
        #expect(try store.multipartUpload(destination: "r2", key: upload.key, fingerprint: "changed") == nil)
        #expect(try store.multipartUpload(destination: "nas", key: upload.key, fingerprint: "f1") == nil)

        // The newest upload of a key and fingerprint wins; all() lists both, oldest first.
        let newer = StateStore.MultipartUploadRecord(
            destination: "r2", key: upload.key, uploadID: "u2", fingerprint: "f1",
            partSize: 8 << 20, createdAt: 2000)
        try store.recordMultipartUploadStarted(newer)
        #expect(try store.multipartUpload(destination: "r2", key: upload.key, fingerprint: "f1")?.uploadID == "u2")
        #expect(try store.multipartUploads().map(\.uploadID) == ["u1", "u2"])
        #expect(try store.multipartUploads(destination: "nas").isEmpty)

        // Forgetting an upload drops its parts too; a part of an unknown upload is refused.
        try store.forgetMultipartUpload(uploadID: "u1")
        #expect(try store.multipartUploads().map(\.uploadID) == ["u2"])
        #expect(throws: (any Error).self) {
            try store.recordMultipartPart(uploadID: "u1", .init(number: 3, etag: "\"e3\"", size: 1, sha256: Self.hexA))
        }
        // An upload id is unique.
        #expect(throws: (any Error).self) { try store.recordMultipartUploadStarted(newer) }
    }
}
