import Foundation
import Hashing
import Synchronization
import SystemPackage

/// Uploads one local file to one key in parts, in parallel, resumably.
///
/// **Integrity.** The upload is created with `x-amz-checksum-algorithm: SHA256`; each part is sent
/// with its SHA-256 signed (`x-amz-content-sha256`) and declared (`x-amz-checksum-sha256`), and
/// CompleteMultipartUpload names every part's checksum again, so the server checks each part as it
/// arrives and once more when it joins them (AWS and SeaweedFS 4.48 both answer `BadDigest`
/// otherwise). The object's checksum is then composite: `base64(SHA-256 of the parts' digests)-N`;
/// the uploader computes the same value and fails if the server's differs. A composite checksum is
/// not the file's SHA-256: pass the file's hex SHA-256 as user metadata (`dms-sha256`), which
/// HEAD returns (``ObjectMetadata/userMetadata``) for later verification with the size.
///
/// **Resume.** The upload id is journaled before any part is sent, each part as soon as the server
/// confirmed it. A later call for the same key and file fingerprint finds the journaled upload,
/// keeps its part size, asks ListParts what the server holds and sends only the missing parts (a
/// listed part of the wrong size is sent again). An upload the server no longer knows
/// (`NoSuchUpload`) is forgotten and a new one started.
///
/// **Failure.** A part is retried after retryable errors (throttling, 5xx, transport, and a
/// checksum mismatch, which can be damage on the way) up to ``MultipartUploadSettings/retriesPerPart``
/// times with backoff. When a part finally fails, the other parts are cancelled, and:
/// - permanent errors (authentication, refused request, configuration, the local file unreadable or
///   shrunk, a checksum mismatch that persisted, the upload gone): the upload is aborted at once and
///   forgotten (if the abort itself fails, it stays journaled for a cleanup to abort later);
/// - transient errors whose retries ran out, journal failures, and cancellation of the calling task
///   (SIGTERM): the upload stays on the server and in the journal, and the next call resumes it.
/// ``MultipartUploadError/uploadKept`` says which happened.
///
/// A file that changes while it is sent without changing size is not detected here (each part is
/// consistent in itself): the caller compares the file's identity before and after, as for any copy.
public final class MultipartUploader: Sendable {
    public let settings: MultipartUploadSettings
    public let clients: S3ClientPool
    private let journal: any MultipartJournal

    public init(
        settings: MultipartUploadSettings = MultipartUploadSettings(), journal: any MultipartJournal,
        clients: S3ClientPool
    ) {
        self.settings = settings
        self.journal = journal
        self.clients = clients
    }

    /// With a pool of its own that keeps one client per parallel part.
    public convenience init(
        settings: MultipartUploadSettings = MultipartUploadSettings(), journal: any MultipartJournal,
        makeClient: @escaping @Sendable () throws(S3Error) -> S3Client
    ) {
        self.init(
            settings: settings, journal: journal,
            clients: S3ClientPool(maximumIdle: settings.parallelParts, make: makeClient))
    }

    /// Uploads `path` as `key` (or finishes the journaled upload of this version of the file).
    ///
    /// - Parameters:
    ///   - fingerprint: identifies this version of the local file (e.g. size, mtime, inode and
    ///     SHA-256): an upload journaled under another fingerprint is never resumed.
    ///   - metadata: user metadata for the object (`x-amz-meta-<name>`), e.g. `["dms-sha256": hex]`.
    ///   - onBytesSent: body bytes handed to curl, for all parts and attempts (on curl's threads).
    ///   - partDigests: the parts' SHA-256 computed ahead (``PartDigests``); used when their part
    ///     size is the upload's, else each part is hashed before it is sent.
    ///   - throttle: called with each count of body bytes before curl sends them, on curl's
    ///     threads; may block (a shared bandwidth limiter).
    public func upload(
        file path: FilePath, key: String, fingerprint: String, contentType: String? = nil,
        metadata: [String: String] = [:], partDigests: PartDigests? = nil,
        onBytesSent: (@Sendable (Int) -> Void)? = nil,
        throttle: (@Sendable (Int) -> Void)? = nil
    ) async throws(MultipartUploadError) -> MultipartUploadResult {
        var uploadID: String?
        func fail(_ reason: MultipartUploadError.Reason, part: Int? = nil, kept: Bool) -> MultipartUploadError {
            MultipartUploadError(reason: reason, key: key, uploadID: uploadID, partNumber: part, uploadKept: kept)
        }
        let control: S3Client
        do { control = try clients.take() } catch { throw fail(.s3(error), kept: false) }
        defer { clients.put(control) }

        let fileSize: Int64
        do {
            fileSize = try await control.blocking { () throws(S3Error) in
                let file = try OpenedFile(path)
                defer { file.close() }
                return file.size
            }
        } catch { throw fail(.s3(error), kept: false) }

        // 1. Resume the journaled upload of this version of the file, if the server still has it.
        var layout: PartLayout?
        var done: [Int: UploadedPart] = [:]
        var resumed = false
        let journaled: JournaledUpload?
        do { journaled = try journal.find(key: key, fingerprint: fingerprint) } catch { throw fail(.journal("\(error)"), kept: false) }
        if let journaled {
            uploadID = journaled.uploadID
            if let kept = PartLayout(fileSize: fileSize, journaledPartSize: journaled.partSize) {
                do {
                    let listed = try await control.listParts(key: key, uploadID: journaled.uploadID)
                    layout = kept
                    resumed = true
                    let known = Dictionary(journaled.parts.map { ($0.number, $0) }, uniquingKeysWith: { $1 })
                    for part in listed where part.number <= kept.count && part.size == kept.range(ofPart: part.number).length {
                        done[part.number] = try await completed(
                            part, known: known[part.number], layout: kept, file: path,
                            key: key, uploadID: journaled.uploadID, client: control)
                    }
                } catch let error as S3Error where error.kind == .notFound {
                    // Aborted, completed, or expired by a lifecycle rule: start again.
                    try forget(key: key, uploadID: journaled.uploadID, fail)
                    uploadID = nil
                } catch let error as S3Error {
                    throw fail(.s3(error), kept: true)
                } catch let error as MultipartUploadError {
                    throw error
                } catch {
                    throw fail(.journal("\(error)"), kept: true)
                }
            } else {
                // Cut with a part size that cannot cut this file: abort it, start again. (Should the
                // abort fail, the stale-upload cleanup under the prefix aborts it later.)
                try? await control.abortMultipartUpload(key: key, uploadID: journaled.uploadID)
                try forget(key: key, uploadID: journaled.uploadID, fail)
                uploadID = nil
            }
        }

        // 2. Otherwise a new upload, journaled before any part is sent.
        if layout == nil {
            let fresh: PartLayout
            do {
                fresh = try PartLayout.forNewUpload(fileSize: fileSize, preferredPartSize: settings.partSize)
                uploadID = try await control.createMultipartUpload(
                    key: key, contentType: contentType, checksumSHA256: true,
                    metadata: metadata)
            } catch { throw fail(.s3(error), kept: false) }
            do {
                try journal.started(
                    JournaledUpload(
                        key: key, uploadID: uploadID!, fingerprint: fingerprint,
                        partSize: fresh.partSize, createdAt: Date()))
            } catch {
                // Not journaled, so never resumed: abort now (or the stale-upload cleanup will).
                try? await control.abortMultipartUpload(key: key, uploadID: uploadID!)
                throw fail(.journal("\(error)"), kept: false)
            }
            layout = fresh
        }
        let plan = layout!, id = uploadID!
        let skipped = done.values.reduce(Int64(0)) { $0 + $1.size }
        let skippedCount = done.count

        // 3. The missing parts, in parallel.
        let pending = (1...plan.count).filter { done[$0] == nil }
        if !pending.isEmpty {
            let outcome = await sendParts(
                pending, layout: plan, file: path, key: key, uploadID: id, partDigests: partDigests, control: control,
                onBytesSent: onBytesSent, throttle: throttle)
            switch outcome {
            case .success(let parts):
                for part in parts { done[part.number] = part }
            case .failure(let failure):
                throw await settle(failure, key: key, uploadID: id, control: control)
            }
        }

        // 4. Complete, and check the server's composite checksum against the parts' digests.
        let parts = (1...plan.count).map { done[$0]! }
        let expected = Self.compositeChecksum(parts)
        let completed: CompletedMultipartUpload
        do {
            completed = try await withRetries { () throws(S3Error) in
                try await control.completeMultipartUpload(key: key, uploadID: id, parts: parts)
            }
        } catch {
            // A retried Complete whose first attempt succeeded (its answer lost) finds no upload:
            // the object then tells whether it was this one.
            guard error.kind == .notFound, let head = try? await control.headObject(key: key), head.size == fileSize,
                head.checksumSHA256Header == expected
            else {
                throw await settle(PartFailure(reason: .s3(error), part: nil), key: key, uploadID: id, control: control)
            }
            completed = CompletedMultipartUpload(
                etag: head.etag, checksumSHA256: head.checksumSHA256Header,
                checksumType: head.checksumType, requestID: head.requestID)
        }
        try forget(key: key, uploadID: id, fail)
        if let returned = completed.checksumSHA256, returned != expected {
            throw fail(
                .s3(
                    S3Error(
                        kind: .checksumMismatch,
                        message: "the completed object's checksum \(returned) is not the "
                            + "parts' \(expected)", requestID: completed.requestID)), kept: false)
        }
        return MultipartUploadResult(
            key: key, uploadID: id, parts: parts, size: fileSize, partSize: plan.partSize,
            partSizeGrown: plan.grown, etag: completed.etag, checksumSHA256: completed.checksumSHA256,
            expectedChecksumSHA256: expected, requestID: completed.requestID, resumed: resumed,
            skippedParts: skippedCount, skippedBytes: skipped)
    }

    /// `base64(SHA-256(digest1 ‖ … ‖ digestN))-N`: the object checksum S3 computes for a
    /// multipart upload with SHA-256 part checksums.
    public static func compositeChecksum(_ parts: [UploadedPart]) -> String {
        let hasher = SHA256Hasher()
        for part in parts.sorted(by: { $0.number < $1.number }) { hasher.update(part.sha256?.bytes ?? []) }
        return Data(hasher.finalize().bytes).base64EncodedString() + "-\(parts.count)"
    }

    // MARK: - Parts

    struct PartFailure: Error {
        var reason: MultipartUploadError.Reason
        var part: Int?
    }

    /// Runs up to `parallelParts` workers, each with its own client, taking part numbers from one
    /// queue. The first worker uses the control client (idle meanwhile), so an upload holds no more
    /// connections than it sends parts at once. The first failure cancels the others.
    private func sendParts(
        _ numbers: [Int], layout: PartLayout, file: FilePath, key: String, uploadID: String,
        partDigests: PartDigests?, control: S3Client, onBytesSent: (@Sendable (Int) -> Void)?,
        throttle: (@Sendable (Int) -> Void)?
    ) async -> Result<[UploadedPart], PartFailure> {
        let queue = WorkQueue(numbers)
        return await withTaskGroup(of: Result<[UploadedPart], PartFailure>.self) { group in
            for worker in 0..<min(settings.parallelParts, numbers.count) {
                group.addTask { [self] in
                    let client: S3Client
                    do throws(S3Error) { client = worker == 0 ? control : try clients.take() } catch {
                        return .failure(PartFailure(reason: .s3(error), part: nil))
                    }
                    defer { if worker > 0 { clients.put(client) } }
                    var sent: [UploadedPart] = []
                    while true {
                        guard let number = queue.next() else { return .success(sent) }
                        if Task.isCancelled { return .failure(PartFailure(reason: .cancelled, part: number)) }
                        let range = layout.range(ofPart: number)
                        let part: UploadedPart
                        do throws(S3Error) {
                            part = try await withRetries { () throws(S3Error) in
                                try await client.uploadPart(
                                    key: key, uploadID: uploadID, number: number, file: file,
                                    offset: range.offset, length: range.length, declareSHA256: true,
                                    sha256: partDigests?.digest(ofPart: number, in: layout),
                                    onBodyBytesSent: onBytesSent, throttle: throttle)
                            }
                        } catch {
                            let cancelled = Task.isCancelled || error.transport?.kind == .cancelled
                            return .failure(PartFailure(reason: cancelled ? .cancelled : .s3(error), part: number))
                        }
                        do { try journal.partDone(key: key, uploadID: uploadID, part: part) } catch {
                            return .failure(PartFailure(reason: .journal("\(error)"), part: number))
                        }
                        sent.append(part)
                    }
                }
            }
            var parts: [UploadedPart] = []
            var failure: PartFailure?
            for await result in group {
                switch result {
                case .success(let sent): parts += sent
                case .failure(let error):
                    // The first failure is the cause; the others are mostly its cancellation.
                    if failure == nil {
                        failure = error
                        group.cancelAll()
                    }
                }
            }
            if Task.isCancelled, failure != nil { failure!.reason = .cancelled }
            return failure.map { .failure($0) } ?? .success(parts)
        }
    }

    /// `body`, tried again after retryable failures (and checksum mismatches) with backoff.
    private func withRetries<T>(_ body: () async throws(S3Error) -> T) async throws(S3Error) -> T {
        var retry = 0
        while true {
            do {
                return try await body()
            } catch let failure {
                guard failure.isRetryable || failure.kind == .checksumMismatch, retry < settings.retriesPerPart,
                    !Task.isCancelled
                else { throw failure }
                retry += 1
                do { try await Task.sleep(for: settings.backoff(retry)) } catch { throw failure }
            }
        }
    }

    /// A part the server holds (from ListParts), with its SHA-256: the server's, else the
    /// journal's when the ETag matches, else hashed again from the file (a part stored just before
    /// a crash, not yet journaled). Newly learnt parts are journaled.
    private func completed(
        _ listed: UploadedPart, known: UploadedPart?, layout: PartLayout, file: FilePath, key: String,
        uploadID: String, client: S3Client
    ) async throws -> UploadedPart {
        var part = listed
        if part.sha256 == nil, let known, known.etag == listed.etag, known.size == listed.size { part.sha256 = known.sha256 }
        if part.sha256 == nil {
            let range = layout.range(ofPart: part.number)
            part.sha256 = try await client.blocking { () throws(S3Error) in
                let opened = try OpenedFile(file)
                defer { opened.close() }
                return try opened.sha256(offset: range.offset, length: range.length)
            }
        }
        if known != part { try journal.partDone(key: key, uploadID: uploadID, part: part) }
        return part
    }

    /// Decides what happens to the upload after `failure` (see the type's documentation).
    private func settle(_ failure: PartFailure, key: String, uploadID: String, control: S3Client) async -> MultipartUploadError {
        func error(kept: Bool, _ reason: MultipartUploadError.Reason? = nil) -> MultipartUploadError {
            MultipartUploadError(
                reason: reason ?? failure.reason, key: key, uploadID: uploadID, partNumber: failure.part,
                uploadKept: kept)
        }
        guard case .s3(let s3) = failure.reason else { return error(kept: true) } // cancelled, journal
        switch s3.kind {
        case .notFound:
            // The server forgot it; a record left behind meets NoSuchUpload again and is forgotten then.
            _ = try? journal.ended(key: key, uploadID: uploadID)
            return error(kept: false)
        case .authentication, .rejected, .configuration, .localFile, .checksumMismatch:
            do {
                try await control.abortMultipartUpload(key: key, uploadID: uploadID)
                try journal.ended(key: key, uploadID: uploadID)
                return error(kept: false)
            } catch {
                return MultipartUploadError(
                    reason: failure.reason, key: key, uploadID: uploadID, partNumber: failure.part,
                    uploadKept: true, abortFailure: "\(error)")
            }
        case .throttled, .server, .transport, .invalidResponse:
            return error(kept: true)
        }
    }

    private func forget(
        key: String, uploadID: String,
        _ fail: (MultipartUploadError.Reason, Int?, Bool) -> MultipartUploadError
    ) throws(MultipartUploadError) {
        do { try journal.ended(key: key, uploadID: uploadID) } catch { throw fail(.journal("\(error)"), nil, true) }
    }
}

/// A finished multipart upload.
public struct MultipartUploadResult: Sendable {
    public let key: String
    public let uploadID: String
    /// All parts, in order, each with its size and SHA-256.
    public let parts: [UploadedPart]
    public let size: Int64
    public let partSize: Int64
    /// The part size is larger than settings asked (10000-part limit).
    public let partSizeGrown: Bool
    /// The server's ETag of the object (`"…-N"`).
    public let etag: String?
    /// The object's composite checksum as the server returned it (nil if it returned none).
    public let checksumSHA256: String?
    /// The composite checksum computed from the parts' digests.
    public let expectedChecksumSHA256: String
    /// The request id of CompleteMultipartUpload.
    public let requestID: String?
    /// An upload journaled by an earlier attempt was continued.
    public let resumed: Bool
    /// Parts (and their bytes) the server already held, not sent again.
    public let skippedParts: Int
    public let skippedBytes: Int64
}

/// A multipart upload that did not finish, with what became of it.
public struct MultipartUploadError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable {
        case s3(S3Error)
        /// The journal could not record or read the upload.
        case journal(String)
        /// The calling task was cancelled.
        case cancelled
    }

    public let reason: Reason
    public let key: String
    /// Nil when the failure came before an upload existed.
    public let uploadID: String?
    public let partNumber: Int?
    /// The upload is still on the server and in the journal: the next call for this file resumes it.
    public let uploadKept: Bool
    /// Why the abort of a permanently failed upload failed (it then stays journaled for cleanup).
    public let abortFailure: String?

    public init(
        reason: Reason, key: String, uploadID: String?, partNumber: Int?, uploadKept: Bool,
        abortFailure: String? = nil
    ) {
        self.reason = reason
        self.key = key
        self.uploadID = uploadID
        self.partNumber = partNumber
        self.uploadKept = uploadKept
        self.abortFailure = abortFailure
    }

    public var s3Error: S3Error? { if case .s3(let error) = reason { error } else { nil } }

    public var description: String {
        var text = "multipart upload of key \(key)"
        if let uploadID { text += " (upload id \(uploadID))" }
        if let partNumber { text += ", part \(partNumber)" }
        switch reason {
        case .s3(let error): text += ": \(error)"
        case .journal(let message): text += ": the upload journal failed: \(message)"
        case .cancelled: text += ": cancelled"
        }
        text += uploadKept ? "; the upload is kept for resuming" : "; the upload was abandoned"
        if let abortFailure { text += "; aborting it failed: \(abortFailure)" }
        return text
    }
}
