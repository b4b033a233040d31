import Foundation

/// A multipart upload as the journal keeps it: enough to resume it after a crash.
public struct JournaledUpload: Sendable, Equatable {
    public var key: String
    public var uploadID: String
    /// The caller's identity of the local file's version (it changes when the file changes).
    public var fingerprint: String
    /// The size every part but the last has; a resumed upload keeps it (R2 requires equal parts).
    public var partSize: Int64
    public var createdAt: Date
    /// Parts the server stored, each with its SHA-256.
    public var parts: [UploadedPart]

    public init(
        key: String, uploadID: String, fingerprint: String, partSize: Int64, createdAt: Date,
        parts: [UploadedPart] = []
    ) {
        self.key = key
        self.uploadID = uploadID
        self.fingerprint = fingerprint
        self.partSize = partSize
        self.createdAt = createdAt
        self.parts = parts
    }
}

/// Where ``MultipartUploader`` records uploads in flight (the daemon: its state database, through
/// an adapter bound to one destination). Each call is durable when it returns (one transaction);
/// the calls are short and synchronous.
public protocol MultipartJournal: Sendable {
    /// The newest upload of `key` recorded for this version of the file, if any.
    func find(key: String, fingerprint: String) throws -> JournaledUpload?
    /// A new upload, recorded before any of its parts is sent.
    func started(_ upload: JournaledUpload) throws
    /// A part the server stored (with its SHA-256), recorded as soon as the server confirmed it.
    func partDone(key: String, uploadID: String, part: UploadedPart) throws
    /// The upload was completed or aborted, or the server no longer knows it: forget it.
    func ended(key: String, uploadID: String) throws
    /// Every recorded upload (for a cleanup that aborts the ones that will never be resumed).
    func all() throws -> [JournaledUpload]
}
