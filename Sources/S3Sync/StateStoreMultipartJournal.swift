import Foundation
import Hashing
import MediaSync
import ObjectStorage

/// The multipart journal of one destination, in the state database.
public struct StateStoreMultipartJournal: MultipartJournal {
    let store: StateStore
    let destination: String

    public init(store: StateStore, destination: String) {
        self.store = store
        self.destination = destination
    }

    public func find(key: String, fingerprint: String) throws -> JournaledUpload? {
        try store.multipartUpload(destination: destination, key: key, fingerprint: fingerprint).map(Self.upload)
    }

    public func started(_ upload: JournaledUpload) throws {
        try store.recordMultipartUploadStarted(
            StateStore.MultipartUploadRecord(
                destination: destination, key: upload.key, uploadID: upload.uploadID, fingerprint: upload.fingerprint,
                partSize: upload.partSize, createdAt: upload.createdAt.timeIntervalSince1970, parts: upload.parts.map(Self.record)))
    }

    public func partDone(key: String, uploadID: String, part: UploadedPart) throws {
        try store.recordMultipartPart(uploadID: uploadID, Self.record(part))
    }

    public func ended(key: String, uploadID: String) throws {
        try store.forgetMultipartUpload(uploadID: uploadID)
    }

    public func all() throws -> [JournaledUpload] {
        try store.multipartUploads(destination: destination).map(Self.upload)
    }

    static func record(_ part: UploadedPart) -> StateStore.MultipartPartRecord {
        .init(number: part.number, etag: part.etag, size: part.size, sha256: part.sha256?.hex ?? "")
    }

    static func upload(_ r: StateStore.MultipartUploadRecord) -> JournaledUpload {
        JournaledUpload(
            key: r.key, uploadID: r.uploadID, fingerprint: r.fingerprint, partSize: r.partSize,
            createdAt: Date(timeIntervalSince1970: r.createdAt),
            parts: r.parts.map { UploadedPart(number: $0.number, etag: $0.etag, size: $0.size, sha256: SHA256Digest(hex: $0.sha256)) })
    }
}
