import MediaSync
import ObjectStorage

/// The journal of one destination's multipart uploads, held against the server's list of uploads
/// in progress.
///
/// A row stays when its upload is completed or aborted but the process dies before forgetting it
/// (a kill right after CompleteMultipartUpload). Such a row would count as "in progress" forever
/// (cleanup never took its key for an orphan). An upload the server no longer lists can never be
/// resumed, so its row is forgotten; if its object exists with the file's size and SHA-256, the
/// session's HEAD before any upload finds it as usual.
struct MultipartJournalReconciliation: Sendable {
    /// Every upload the server lists under the prefix.
    var listed: [MultipartUploadSummary] = []
    /// Rows forgotten: their upload is not listed.
    var forgotten: [StateStore.MultipartUploadRecord] = []
    /// Rows kept: listed, or outside the prefix (not in the listing's scope: left alone).
    var kept: [StateStore.MultipartUploadRecord] = []

    /// Reads the journal, then lists the server's uploads under `prefix`, then forgets the rows
    /// the listing lacks. The journal is read first: a row written after the listing (an upload
    /// another process started meanwhile) must not be judged against a list older than it.
    ///
    /// - Parameter listWhenJournalEmpty: list even with no journaled upload (the caller wants
    ///   the list); otherwise an empty journal costs no request.
    static func run(
        store: StateStore, destination: String, prefix: String, client: S3Client,
        listWhenJournalEmpty: Bool
    ) async throws(MultipartJournalReconciliationError) -> MultipartJournalReconciliation {
        var result = MultipartJournalReconciliation()
        let journal: [StateStore.MultipartUploadRecord]
        do { journal = try store.multipartUploads(destination: destination) } catch {
            throw MultipartJournalReconciliationError("reading the multipart journal of \(destination): \(error)")
        }
        guard !journal.isEmpty || listWhenJournalEmpty else { return result }
        do { result.listed = try await client.listMultipartUploads(prefix: prefix) } catch {
            throw MultipartJournalReconciliationError("listing multipart uploads under \(prefix.isEmpty ? "the bucket" : prefix): \(error)")
        }
        let listedIDs = Set(result.listed.map(\.uploadID))
        for row in journal {
            guard row.key.hasPrefix(prefix), !listedIDs.contains(row.uploadID) else {
                result.kept.append(row)
                continue
            }
            do { try store.forgetMultipartUpload(uploadID: row.uploadID) } catch {
                throw MultipartJournalReconciliationError("forgetting upload \(row.uploadID) of key \(row.key), which the server no longer lists: \(error)")
            }
            result.forgotten.append(row)
        }
        return result
    }
}

struct MultipartJournalReconciliationError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
