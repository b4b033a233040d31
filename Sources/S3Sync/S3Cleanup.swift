import Foundation
import Logging
import MediaSync
import ObjectStorage

/// What one part of a cleanup found and did. Failures are counted and described, never thrown.
public struct S3CleanupSection: Sendable {
    public var found = 0
    public var deleted = 0
    public var failed = 0
    /// Left alone: younger than the safety age (or of unknown age), with an upload in progress, or
    /// possibly a ledger key's object listed under another spelling (see ``notes``).
    public var skipped = 0
    /// DeleteObjects / AbortMultipartUpload requests sent.
    public var requests = 0
    /// The first failures, in words (key, S3 code, message, request id); at most 50 kept.
    public var failures: [String] = []
    /// A failure that stopped this part early (a listing or the ledger could not be read).
    public var error: String?
    /// What an operator should know that is not a failure (e.g. a ledger key the server lists
    /// under another spelling, whose object was therefore kept).
    public var notes: [String] = []

    public init() {}

    public var hasFailures: Bool { failed > 0 || error != nil }

    mutating func fail(_ text: String, count: Int = 1) {
        failed += count
        if failures.count < 50 { failures.append(text) }
    }
}

public struct S3CleanupReport: Sendable {
    public var staleUploads = S3CleanupSection()
    public var orphans = S3CleanupSection()
    public var hasFailures: Bool { staleUploads.hasFailures || orphans.hasFailures }
    public init() {}
}

/// Cleanup of one S3 destination, under its prefix only:
/// - incomplete multipart uploads initiated more than N hours ago are aborted (their parts cost
///   storage and are invisible in a listing);
/// - orphans, the objects the ledger does not reference for this destination, are found by a
///   merge of two sorted streams (ListObjectsV2 pages, ledger pages in byte order; neither is held
///   whole) and deleted only when `apply` is set, in DeleteObjects batches of at most 1000 run by
///   one worker per client.
///
/// An object is an orphan only when all of these hold: no ledger row of this destination names
/// its key (checked once more by an indexed lookup just before it is reported, so the result does
/// not depend on the server's listing order), no ledger key resolves to it under another spelling
/// (see below), it is older than the safety age (an upload whose ledger row is not written yet is
/// never taken for one), and no multipart upload of its key is in progress. Nothing here throws:
/// failures end up in the report.
///
/// A server may store a key under another spelling than the one written (SeaweedFS turns `\` into
/// `/`), so a ledger key can be missing from the listing while its object exists under a name no
/// ledger row holds. Before any orphan is chosen, a first pass over the listing finds the ledger
/// keys it lacks and HEADs each: one that still exists is a respelled key, and any listed object
/// of its size and ETag is kept (which listed name is its object cannot be known). If that cannot
/// be settled (a HEAD fails), no orphan is deleted.
public struct S3Cleanup: Sendable {
    public let settings: S3Settings
    public let store: StateStore
    /// One per concurrent worker (a client runs one request at a time); the first one lists.
    public let clients: [S3Client]
    /// Keys per DeleteObjects request (1...1000).
    public var batchSize = S3Client.maximumKeysPerDelete
    /// Ledger keys read per query during the merge.
    public var ledgerPageSize = 1000

    public init(settings: S3Settings, store: StateStore, clients: [S3Client]) {
        precondition(!clients.isEmpty, "S3Cleanup needs at least one client")
        self.settings = settings
        self.store = store
        self.clients = clients
    }

    var prefix: String { settings.config.prefix }
    /// The destination's name in the ledger.
    var destination: String { settings.config.name }

    /// Both parts: stale uploads first (so that their keys no longer count as in progress), then orphans.
    public func run(
        olderThanHours hours: Double, apply: Bool, now: Double = Date().timeIntervalSince1970,
        onStaleUpload: @Sendable (MultipartUploadSummary) -> Void = { _ in },
        onOrphan: @Sendable (S3ObjectSummary) -> Void = { _ in }
    ) async -> S3CleanupReport {
        var report = S3CleanupReport()
        report.staleUploads = await abortStaleUploads(olderThanHours: hours, apply: apply, now: now, onFound: onStaleUpload)
        report.orphans = await removeOrphans(minimumAgeHours: hours, apply: apply, now: now, onFound: onOrphan)
        return report
    }

    /// The journal reconciled with the server's uploads under the prefix (see
    /// ``MultipartJournalReconciliation``): the listing, and the rows still counted in progress.
    func reconcileJournal() async throws(MultipartJournalReconciliationError) -> MultipartJournalReconciliation {
        try await MultipartJournalReconciliation.run(
            store: store, destination: destination, prefix: prefix,
            client: clients[0], listWhenJournalEmpty: true)
    }

    // MARK: - Stale multipart uploads

    /// Aborts (with `apply`) the multipart uploads under the prefix initiated at least `hours` ago;
    /// an upload of unknown age is skipped. An aborted upload is also dropped from the state
    /// database's resume records, so that no later resume asks for it.
    public func abortStaleUploads(
        olderThanHours hours: Double, apply: Bool, now: Double = Date().timeIntervalSince1970,
        onFound: @Sendable (MultipartUploadSummary) -> Void = { _ in }
    ) async -> S3CleanupSection {
        var section = S3CleanupSection()
        let uploads: [MultipartUploadSummary]
        do {
            uploads = try await reconcileJournal().listed
        } catch {
            section.error = "\(settings.displayName): \(error)"
            return section
        }
        let cutoff = now - hours * 3600
        for upload in uploads {
            guard let initiated = S3Client.initiatedTime(upload.initiated), initiated <= cutoff else {
                section.skipped += 1
                continue
            }
            section.found += 1
            onFound(upload)
            guard apply else { continue }
            section.requests += 1
            do {
                try await clients[0].abortMultipartUpload(key: upload.key, uploadID: upload.uploadID)
                section.deleted += 1
                // A record left behind is harmless: resuming it finds NoSuchUpload and forgets it.
                try? store.forgetMultipartUpload(uploadID: upload.uploadID)
            } catch  where error.kind == .notFound {
                section.deleted += 1 // finished or aborted meanwhile: gone either way
                try? store.forgetMultipartUpload(uploadID: upload.uploadID)
            } catch {
                section.fail("abort upload \(upload.uploadID) of key \(upload.key): \(error)")
            }
        }
        return section
    }

    // MARK: - Orphans

    /// Finds (and with `apply` deletes) the objects under the prefix that the ledger does not
    /// reference for this destination; see the type's description for what counts as one.
    public func removeOrphans(
        minimumAgeHours hours: Double, apply: Bool, now: Double = Date().timeIntervalSince1970,
        onFound: @Sendable (S3ObjectSummary) -> Void = { _ in }
    ) async -> S3CleanupSection {
        var section = S3CleanupSection()
        // Keys with an upload in progress: on the server, and in this daemon's resume records
        // (those the server still lists; see reconcileJournal).
        let inProgress: Set<String>
        do {
            let journal = try await reconcileJournal()
            inProgress = Set(journal.listed.map(\.key)).union(journal.kept.map(\.key))
        } catch {
            section.error = "uploads in progress under \(settings.displayName): \(error)"
            return section
        }
        let respelled: [RespelledKey]
        do {
            respelled = try await respelledLedgerKeys()
        } catch {
            section.error = "no orphan deleted: cannot tell whether \(settings.displayName) lists every ledger key as written: \(error)"
            return section
        }
        for key in respelled {
            section.notes.append(
                "ledger key \(key.key) exists but is not listed (the server spells it differently): "
                    + "objects of \(key.size) bytes with ETag \(key.etag ?? "(none)") are kept")
        }
        var ledger = LedgerCursor(store: store, destination: destination, prefix: Array(prefix.utf8), pageSize: ledgerPageSize)
        let cutoff = now - hours * 3600
        var pending: [String] = []
        let flushAt = clients.count * batchSize
        var token: String?
        do {
            repeat {
                let page = try await clients[0].listObjectsV2(prefix: prefix.isEmpty ? nil : prefix, continuationToken: token)
                for object in page.objects {
                    let key = Array(object.key.utf8)
                    if try ledger.contains(key) { continue }
                    guard let modified = object.lastModified.flatMap(S3Client.iso8601Seconds), modified <= cutoff,
                        !inProgress.contains(object.key)
                    else {
                        section.skipped += 1
                        continue
                    }
                    // The merge relies on the listing's byte order; this lookup does not.
                    if try store.ledgerReferences(destination: destination, remotePath: key) { continue }
                    if respelled.contains(where: { $0.couldBe(object) }) {
                        section.skipped += 1
                        continue
                    }
                    section.found += 1
                    onFound(object)
                    guard apply else { continue }
                    pending.append(object.key)
                    if pending.count >= flushAt {
                        await delete(pending, into: &section)
                        pending.removeAll(keepingCapacity: true)
                    }
                }
                token = page.isTruncated ? page.nextContinuationToken : nil
                if page.isTruncated, token == nil {
                    section.error = "listing \(settings.displayName) is truncated but has no continuation token"
                }
            } while token != nil
        } catch {
            section.error = "listing \(settings.displayName) or reading the ledger: \(error)"
        }
        await delete(pending, into: &section)
        return section
    }

    /// A ledger key the listing lacks but HEAD finds: the server lists its object under another key.
    struct RespelledKey: Sendable {
        var key: String
        var size: Int64
        var etag: String?

        /// Whether a listed object may be this one: same size, and same ETag when both have one.
        func couldBe(_ object: S3ObjectSummary) -> Bool {
            guard object.size == size else { return false }
            guard let etag, let other = object.etag else { return true }
            return Self.unquoted(etag) == Self.unquoted(other)
        }

        static func unquoted(_ etag: String) -> String { etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    }

    /// First pass: the ledger keys under the prefix that a whole listing lacks, HEADed (spread over
    /// the clients); those that exist. A ledger key passed over by the merge but listed later (the
    /// server does not list in byte order) is not lacking.
    func respelledLedgerKeys() async throws -> [RespelledKey] {
        var ledger = LedgerCursor(store: store, destination: destination, prefix: Array(prefix.utf8), pageSize: ledgerPageSize)
        ledger.passedOver = []
        var token: String?
        repeat {
            let page = try await clients[0].listObjectsV2(prefix: prefix.isEmpty ? nil : prefix, continuationToken: token)
            for object in page.objects {
                let key = Array(object.key.utf8)
                if try !ledger.contains(key) { ledger.passedOver?.remove(key) }
            }
            token = page.isTruncated ? page.nextContinuationToken : nil
            if page.isTruncated, token == nil {
                throw S3Error(kind: .invalidResponse, message: "listing \(settings.displayName) is truncated but has no continuation token")
            }
        } while token != nil
        try ledger.finish()
        let lacking = (ledger.passedOver ?? []).map { String(decoding: $0, as: UTF8.self) }.sorted()
        guard !lacking.isEmpty else { return [] }
        let queue = WorkQueue(lacking)
        return try await withThrowingTaskGroup(of: [RespelledKey].self) { group in
            for client in clients.prefix(lacking.count) {
                group.addTask {
                    var found: [RespelledKey] = []
                    while let key = queue.next() {
                        do throws(S3Error) {
                            let head = try await client.headObject(key: key)
                            found.append(RespelledKey(key: key, size: head.size, etag: head.etag))
                        } catch  where error.kind == .notFound {
                            continue // gone: it cannot be any listed object
                        } catch {
                            throw S3Error(kind: error.kind, message: "HEAD of ledger key \(key): \(error)")
                        }
                    }
                    return found
                }
            }
            var all: [RespelledKey] = []
            for try await part in group { all += part }
            return all.sorted { $0.key < $1.key }
        }
    }

    private func delete(_ keys: [String], into section: inout S3CleanupSection) async {
        guard !keys.isEmpty else { return }
        let result = await S3Client.deleteObjects(keys, clients: clients, batchSize: batchSize)
        section.requests += result.requests
        section.deleted += result.deleted
        for failure in result.failed { section.fail("delete \(failure)") }
    }

    // MARK: - The daemon's periodic and at-shutdown cleanup

    /// Aborts this destination's multipart uploads older than `abort_stale_uploads_after_hours`,
    /// logs one summary line (or a warning with the first failures) and returns what it did. Never
    /// throws: a cleanup failure must not break a sync. Call it every `cleanup_interval_hours`
    /// (when > 0) and at shutdown when `cleanup_on_shutdown` is set.
    public static func abortStaleUploads(
        settings: S3Settings, store: StateStore, logger: Logger,
        now: Double = Date().timeIntervalSince1970
    ) async -> S3CleanupSection {
        let name = settings.config.name
        let hours = settings.config.abortStaleUploadsAfterHours
        let client: S3Client
        do {
            client = try settings.makeClient(credentials: try settings.credentials())
        } catch {
            var section = S3CleanupSection()
            section.error = "\(error)"
            logger.warning(
                "s3 cleanup of \(name): cannot make a client: \(error)",
                metadata: ["destination": "\(name)"])
            return section
        }
        let cleanup = S3Cleanup(settings: settings, store: store, clients: [client])
        let section = await cleanup.abortStaleUploads(olderThanHours: hours, apply: true, now: now)
        let summary =
            "s3 cleanup of \(name) (\(settings.displayName)): stale multipart uploads older than \(hours) h: "
            + "found \(section.found), aborted \(section.deleted), failed \(section.failed)"
        let fields = SyncEvent.staleUploadsCleaned.metadata([
            "destination": "\(name)", "found": "\(section.found)", "aborted": "\(section.deleted)", "failed": "\(section.failed)"
        ])
        if section.hasFailures {
            logger.warning("\(summary); \((section.error.map { [$0] } ?? []) + section.failures.prefix(5))", metadata: fields)
        } else if section.found > 0 {
            logger.notice("\(summary)", metadata: fields)
        } else {
            logger.debug("\(summary)", metadata: ["destination": "\(name)"])
        }
        return section
    }
}

/// The ledger's remote paths of one destination under a prefix, read a page at a time in byte
/// order; ``contains(_:)`` must be asked with keys in increasing byte order (a key out of order
/// is answered false: the caller's indexed lookup settles it).
struct LedgerCursor {
    let store: StateStore
    let destination: String
    let prefix: [UInt8]
    let pageSize: Int
    /// When set, collects the ledger keys moved past without being asked for.
    var passedOver: Set<[UInt8]>?
    private var page: [[UInt8]] = []
    private var index = 0
    private var exhausted = false

    init(store: StateStore, destination: String, prefix: [UInt8], pageSize: Int) {
        self.store = store
        self.destination = destination
        self.prefix = prefix
        self.pageSize = pageSize
    }

    /// Whether the ledger holds `key`; moves past it and every ledger key before it (a listing
    /// names a key once).
    mutating func contains(_ key: [UInt8]) throws -> Bool {
        while let head = try current() {
            if head == key {
                index += 1
                return true
            }
            if key.lexicographicallyPrecedes(head) { return false }
            passedOver?.insert(head)
            index += 1
        }
        return false
    }

    /// Moves past every remaining ledger key (collected in ``passedOver`` when set).
    mutating func finish() throws {
        while let head = try current() {
            passedOver?.insert(head)
            index += 1
        }
    }

    /// The first ledger key not moved past yet (reading the next page when needed); nil at the end.
    private mutating func current() throws -> [UInt8]? {
        if index == page.count {
            guard !exhausted else { return nil }
            page = try store.ledgerRemotePaths(destination: destination, prefix: prefix, after: page.last, limit: pageSize)
            index = 0
            if page.count < pageSize { exhausted = true }
            if page.isEmpty { return nil }
        }
        return page[index]
    }
}
