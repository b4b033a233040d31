import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import MediaSync
import ObjectStorage
import Synchronization
import SystemPackage

/// A bucket of an S3-compatible store as a destination of the cycle.
///
/// An object is never visible half-written: a single PUT stores it whole or not at all, and a
/// multipart upload becomes an object only when completed. So there are no temp names to journal;
/// multipart uploads in flight are journaled in the state database instead, to resume them.
///
/// Both ends check SHA-256: the server refuses a body whose SHA-256 differs from the one declared
/// (whole object for a PUT, every part for a multipart upload), and the file's SHA-256 is stored as
/// `x-amz-meta-dms-sha256`. Re-verification (before a source is deleted, consistency checks) reads
/// the object's size and that recorded, server-checked SHA-256 with a HEAD: it does not download
/// the object.
public struct S3Destination: Destination {
    public let settings: S3Settings
    let transferTimeoutSeconds: Double
    let store: StateStore
    /// Injected by tests; nil reads `credentials_file` or the environment at each connect.
    public var credentialsOverride: AWSCredentials?

    public init(
        settings: S3Settings, integrity: MediaSyncConfig.IntegrityChecks,
        store: StateStore
    ) {
        self.settings = settings
        transferTimeoutSeconds = integrity.transferTimeoutSeconds
        self.store = store
    }

    public var name: String { settings.config.name }
    public var displayName: String { settings.displayName }

    public var configurationFingerprint: String {
        let c = settings.config
        let text = [
            c.provider, c.bucket, c.region ?? "", c.endpoint ?? "", c.accountID ?? "", "\(c.pathStyle)", c.prefix,
            c.credentialsFile ?? "env", c.credentialsProfile, "\(c.multipartThresholdMiB)", "\(c.partSizeMiB)",
            c.proxy ?? "", c.caFile ?? ""
        ].joined(separator: "\u{1F}")
        return String(SHA256Hasher.hash(Array(text.utf8)).hex.prefix(16))
    }

    public func connect(
        journal: any TempJournal, progress: any TransferProgress,
        logger: Logger
    ) async throws(DestinationError) -> any DestinationSession {
        try await open(progress: progress, logger: logger, reconcile: true)
    }

    /// The same proof of address, credentials and bucket (a LIST), without reconciling the
    /// multipart journal: a dry run writes nothing.
    public func connectReadOnly(progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession {
        try await open(progress: progress, logger: logger, reconcile: false)
    }

    func open(progress: any TransferProgress, logger: Logger, reconcile: Bool) async throws(DestinationError) -> S3Session {
        let credentials: AWSCredentials
        if let credentialsOverride {
            credentials = credentialsOverride
        } else {
            do { credentials = try settings.credentials() } catch {
                throw DestinationError(.misconfigured, "destination \(name): \(error)")
            }
        }
        let settings = self.settings
        // Small files and the parts of a large one never run together: this many connections at most.
        let pool = S3ClientPool(maximumIdle: max(settings.config.parallelFiles, settings.config.parallelParts) + 1) { () throws(S3Error) in
            try settings.makeClient(credentials: credentials)
        }
        // One cheap call proves the address, the credentials and the bucket before any upload.
        let client: S3Client
        do throws(S3Error) {
            client = try pool.take()
            _ = try await client.listObjectsV2(prefix: settings.config.prefix, maxKeys: 1)
        } catch {
            throw Self.destinationError(error, bucketLevel: true, context: "cannot list \(displayName)")
        }
        defer { pool.put(client) }
        // Before any upload of this session (none runs yet, and the cycle lock keeps other cycles
        // out): a journaled upload the server no longer lists was completed or aborted by a process
        // that died before forgetting it; left, it would count as in progress forever.
        if reconcile { await reconcileJournal(client: client, logger: logger) }
        progress.heartbeat()
        return S3Session(destination: self, pool: pool, logger: logger)
    }

    func reconcileJournal(client: S3Client, logger: Logger) async {
        do throws(MultipartJournalReconciliationError) {
            let reconciled = try await MultipartJournalReconciliation.run(
                store: store, destination: name, prefix: settings.config.prefix,
                client: client, listWhenJournalEmpty: false)
            for row in reconciled.forgotten {
                logger.notice(
                    "forgot the journaled multipart upload \(row.uploadID) of \(row.key): the server no longer lists it (completed or aborted before it was forgotten)",
                    metadata: ["destination": "\(name)", "key": "\(row.key)", "upload_id": "\(row.uploadID)"])
            }
        } catch {
            // Harmless to leave for now: a resume of such a row meets NoSuchUpload and forgets it.
            logger.warning(
                "destination \(name): could not reconcile the multipart journal with the server: \(error)",
                metadata: ["destination": "\(name)"])
        }
    }

    /// What the cycle does about an S3 failure.
    static func destinationError(
        _ error: S3Error, bucketLevel: Bool = false, key: String? = nil,
        context: String
    ) -> DestinationError {
        let kind: DestinationError.Kind
        switch error.kind {
        case .authentication: kind = .authentication
        case .notFound: kind = bucketLevel ? .misconfigured : .permanent
        case .throttled, .server, .invalidResponse: kind = .transient
        case .transport:
            switch error.transport?.kind {
            case .timeout?: kind = .timeout
            case .cancelled?: kind = .cancelled
            case .tls?: kind = .misconfigured
            case .bodyRead?: kind = .transient
            default: kind = .unreachable
            }
        case .checksumMismatch: kind = .verificationFailed
        case .rejected: kind = .permanent
        case .localFile: kind = .transient
        case .configuration: kind = .misconfigured
        }
        return DestinationError(kind, "\(context): \(error)", remotePath: key)
    }
}

/// One connected use of the bucket: a pool of connections shared by the files in flight and their parts.
final class S3Session: DestinationSession {
    let destination: S3Destination
    let pool: S3ClientPool
    let logger: Logger
    let uploader: MultipartUploader

    init(destination: S3Destination, pool: S3ClientPool, logger: Logger) {
        self.destination = destination
        self.pool = pool
        self.logger = logger
        let c = destination.settings.config
        uploader = MultipartUploader(
            settings: MultipartUploadSettings(
                partSize: Int64(c.partSizeMiB) << 20, parallelParts: c.parallelParts,
                retriesPerPart: c.partRetries),
            journal: StateStoreMultipartJournal(store: destination.store, destination: destination.name), clients: pool)
    }

    var config: MediaSyncConfig.S3 { destination.settings.config }

    func transfer(
        _ items: [TransferItem], progress: any TransferProgress,
        onResult: @escaping @Sendable ([TransferResult]) async -> Void
    ) async throws(DestinationError) {
        for round in TransferItem.roundsByRemoteName(items) where !progress.stopRequested {
            // Small files (one request each) several at a time; files in parts one at a time, as
            // each already keeps `parallel_parts` requests in flight: memory stays bounded by one
            // of the two.
            let threshold = Int64(config.multipartThresholdMiB) << 20
            let small = round.filter { $0.identity.size < threshold }, large = round.filter { $0.identity.size >= threshold }
            for (lane, workers) in [(small, config.parallelFiles), (large, 1)] where !lane.isEmpty && !progress.stopRequested {
                let next = WorkQueue(lane)
                let stop = Stop()
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<min(workers, lane.count) {
                        group.addTask { [self] in
                            // A pause lets the files in flight finish and starts no more.
                            while !Task.isCancelled, stop.error == nil, !progress.stopRequested, let item = next.next() {
                                let result = await upload(item, progress: progress)
                                // A lost connection or refused credentials stop the destination (the
                                // cycle reconnects with backoff); the file is not blamed for it.
                                if case let .failed(error) = result.outcome, !error.kind.isPerFile {
                                    stop.set(error)
                                    return
                                }
                                await onResult([result])
                            }
                        }
                    }
                }
                if let error = stop.error { throw error }
                if Task.isCancelled { throw DestinationError(.cancelled, "stopping") }
            }
        }
    }

    /// Hash, find the free key, upload, check the source did not change, check the object.
    func upload(_ item: TransferItem, progress: any TransferProgress) async -> TransferResult {
        progress.fileStarted(item)
        func failed(_ error: DestinationError, sent: Int64 = 0) -> TransferResult {
            TransferResult(item: item, outcome: .failed(error), bytesSent: sent)
        }
        func changed(_ change: SourceChanged) -> TransferResult {
            TransferResult(item: item, outcome: .sourceChanged(change), bytesSent: 0)
        }

        // 1. The file's SHA-256 (and proof it is still the file discovery saw). A file that goes up
        //    in parts has its parts hashed at the same time on another thread (the whole-file hash
        //    is sequential, so the second core is free): the parts then go out without a hashing
        //    pass of their own. If that fails, each part is simply hashed before it is sent.
        let threshold = Int64(config.multipartThresholdMiB) << 20
        let multipart = item.identity.size >= threshold
        let partDigests: Task<PartDigests?, Never>? =
            multipart
            ? Task {
                [
                    size = item.identity.size, path = item.localPath,
                    partSize = Int64(config.partSizeMiB) << 20
                ] in
                try? await runBlocking { () throws -> PartDigests in
                    try PartDigests.compute(file: path, layout: PartLayout.forNewUpload(fileSize: size, preferredPartSize: partSize))
                }
            } : nil
        let sha: SHA256Digest
        switch await hashSource(item) {
        case let .digest(digest): sha = digest
        case let .changed(change): return changed(change)
        case let .failed(error): return failed(error)
        }

        // 2. The key: the wanted one, or <stem>_N<ext> when another object has it.
        let client: S3Client
        do throws(S3Error) { client = try pool.take() } catch {
            return failed(S3Destination.destinationError(error, context: "cannot connect"))
        }
        defer { pool.put(client) }
        let key: String, conflictIndex: Int
        switch await chooseKey(item, client: client, sha: { sha }) {
        case let .present(found):
            progress.heartbeat()
            return TransferResult(item: item, outcome: .alreadyPresent(remotePath: FilePath(found), sha256: sha), bytesSent: 0)
        case let .free(free, index): (key, conflictIndex) = (free, index)
        case let .failed(error): return failed(error)
        }

        // 3. Upload: one PUT, or resumable parts.
        let sent = ByteCounter()
        let onBytes: @Sendable (Int) -> Void = { n in
            sent.add(n)
            progress.bytesMoved(n)
        }
        // The bandwidth limit blocks in progress.bytesMoved (the engine's ThrottledProgress),
        // which curl's read callback calls as it reads the file.
        let metadata = [Self.shaMetadataKey: sha.hex]
        var expectedChecksum: String? = Data(sha.bytes).base64EncodedString()
        let failure: S3Error?
        if multipart {
            let fingerprint = "\(item.identity.size)-\(item.identity.mtimeNanoseconds)-\(item.identity.inode)-\(sha.hex)"
            do throws(MultipartUploadError) {
                let result = try await uploader.upload(
                    file: item.localPath, key: key, fingerprint: fingerprint,
                    metadata: metadata, partDigests: await partDigests?.value,
                    onBytesSent: onBytes)
                expectedChecksum = result.checksumSHA256 == nil ? nil : result.expectedChecksumSHA256
                if result.resumed {
                    logger.notice(
                        "resumed the multipart upload of \(key): \(result.skippedParts) parts (\(result.skippedBytes) bytes) were already stored",
                        metadata: SyncEvent.uploadResumed.metadata([
                            "destination": "\(destination.name)", "key": "\(key)", "upload_id": "\(result.uploadID)",
                            "skipped_parts": "\(result.skippedParts)", "skipped_bytes": "\(result.skippedBytes)"
                        ]))
                }
                failure = nil
            } catch {
                switch error.reason {
                case .cancelled: return failed(DestinationError(.cancelled, "stopping", remotePath: key), sent: sent.value)
                case .journal(let why):
                    return failed(DestinationError(.transient, "\(error) (state database: \(why))", remotePath: key), sent: sent.value)
                case .s3(let s3): failure = s3
                }
            }
        } else {
            do throws(S3Error) {
                _ = try await client.putObject(
                    key: key, file: item.localPath, sha256: sha, metadata: metadata,
                    onBodyBytesSent: onBytes)
                failure = nil
            } catch {
                failure = error
            }
        }
        if let failure {
            // The server refused bytes that do not match the SHA-256 taken above: the file changed.
            if failure.kind == .checksumMismatch || failure.kind == .localFile, let change = currentChange(item) { return changed(change) }
            return failed(
                S3Destination.destinationError(failure, key: key, context: "cannot upload \(item.localPath) to \(key)"),
                sent: sent.value)
        }

        // 4. A file that changed while its parts were read is not the file hashed in step 1.
        if let change = currentChange(item) {
            do { try await client.deleteObject(key: key) } catch {
                logger.warning("could not delete \(key), uploaded from a file that changed meanwhile: \(error)")
            }
            return changed(change)
        }

        // 5. Check what the server holds.
        do throws(S3Error) {
            let stored = try await client.headObject(key: key)
            let recorded = Self.recordedSHA256(stored)
            if stored.size != item.identity.size || recorded != sha
                || (expectedChecksum != nil && stored.checksumSHA256Header != nil && stored.checksumSHA256Header != expectedChecksum)
            {
                return failed(
                    DestinationError(
                        .verificationFailed,
                        "\(key) holds \(stored.size) bytes with SHA-256 \(recorded?.hex ?? "none"), "
                            + "checksum \(stored.checksumSHA256Header ?? "none"); expected \(item.identity.size) bytes, \(sha.hex)",
                        remotePath: key), sent: sent.value)
            }
        } catch {
            return failed(S3Destination.destinationError(error, key: key, context: "cannot check \(key) after the upload"), sent: sent.value)
        }
        progress.heartbeat()
        return TransferResult(
            item: item, outcome: .placed(remotePath: FilePath(key), sha256: sha, conflictIndex: conflictIndex),
            bytesSent: sent.value)
    }

    /// The change of the local file since discovery, if any.
    func currentChange(_ item: TransferItem) -> SourceChanged? {
        guard let now = try? LocalFS.status(item.localPath).identity else {
            return SourceChanged(
                path: item.localPath, expected: item.identity,
                found: FileIdentity(size: -1, mtimeNanoseconds: 0, inode: 0, device: 0))
        }
        return now == item.identity ? nil : SourceChanged(path: item.localPath, expected: item.identity, found: now)
    }

    static let shaMetadataKey = "dms-sha256"

    /// The object's SHA-256: the server's full-object checksum when it has one (computed from the
    /// bytes it stored: a single PUT), else the one recorded as `x-amz-meta-dms-sha256` (a multipart
    /// object, whose parts the server checked one by one).
    static func recordedSHA256(_ object: ObjectMetadata) -> SHA256Digest? {
        if let checksum = object.checksumSHA256 { return checksum }
        if let hex = object.userMetadata[shaMetadataKey], let digest = SHA256Digest(hex: hex) { return digest }
        return nil
    }

    func verify(_ copies: [RemoteCopy], mode: VerifyMode) async throws(DestinationError) -> [VerifyResult] {
        let results = await forEach(copies) { (client, copy) async -> Result<VerifyResult, DestinationError> in
            let key = copy.remotePath.string
            do throws(S3Error) {
                let object = try await client.headObject(key: key)
                if object.size != copy.size { return .success(.sizeMismatch(found: object.size)) }
                if mode == .sha256 {
                    guard let recorded = Self.recordedSHA256(object) else { return .success(.hashMismatch(found: "none recorded")) }
                    if recorded != copy.sha256 { return .success(.hashMismatch(found: recorded.hex)) }
                }
                return .success(.verified)
            } catch  where error.kind == .notFound {
                return .success(.missing)
            } catch {
                let mapped = S3Destination.destinationError(error, key: key, context: "cannot check \(key)")
                return mapped.kind.isPerFile ? .success(.unknown(mapped.description)) : .failure(mapped)
            }
        }
        return try collect(results)
    }

    func space() async throws(DestinationError) -> DestinationSpace? { nil }

    func removeCopies(_ copies: [RemoteCopy]) async throws(DestinationError) -> [RemovalResult] {
        let results = await forEach(copies) { (client, copy) async -> Result<RemovalResult, DestinationError> in
            let key = copy.remotePath.string
            do throws(S3Error) {
                let object = try await client.headObject(key: key)
                if object.size != copy.size { return .success(.notOurs(foundSize: object.size)) }
                try await client.deleteObject(key: key)
                return .success(.removed)
            } catch  where error.kind == .notFound {
                return .success(.missing)
            } catch {
                let mapped = S3Destination.destinationError(error, key: key, context: "cannot remove \(key)")
                return mapped.kind.isPerFile ? .success(.failed(mapped.description)) : .failure(mapped)
            }
        }
        return try collect(results)
    }

    func close() async {}

    /// Runs `body` for every element on up to `parallel_files` connections; results in order.
    func forEach<T: Sendable, R: Sendable>(
        _ elements: [T], workers: Int? = nil,
        _ body: @escaping @Sendable (S3Client, T) async -> Result<R, DestinationError>
    ) async -> [Result<R, DestinationError>] {
        let queue = WorkQueue(Array(elements.indices))
        return await withTaskGroup(of: [(Int, Result<R, DestinationError>)].self) { group in
            for _ in 0..<min(workers ?? config.parallelFiles, elements.count) {
                group.addTask { [pool] in
                    var out: [(Int, Result<R, DestinationError>)] = []
                    let client: S3Client
                    do throws(S3Error) { client = try pool.take() } catch {
                        while let index = queue.next() {
                            out.append((index, .failure(S3Destination.destinationError(error, context: "cannot connect"))))
                        }
                        return out
                    }
                    defer { pool.put(client) }
                    while let index = queue.next() { out.append((index, await body(client, elements[index]))) }
                    return out
                }
            }
            var all = [Result<R, DestinationError>?](repeating: nil, count: elements.count)
            for await part in group { for (index, result) in part { all[index] = result } }
            return all.map { $0! }
        }
    }

    func collect<R>(_ results: [Result<R, DestinationError>]) throws(DestinationError) -> [R] {
        var out: [R] = []
        for result in results {
            switch result {
            case .success(let value): out.append(value)
            case .failure(let error): throw error
            }
        }
        return out
    }
}

/// The first destination-wide failure of a round.
final class Stop: Sendable {
    private let first = Mutex<DestinationError?>(nil)
    var error: DestinationError? { first.withLock { $0 } }
    func set(_ error: DestinationError) { first.withLock { if $0 == nil { $0 = error } } }
}

final class ByteCounter: Sendable {
    private let total = Atomic<Int64>(0)
    func add(_ n: Int) { total.wrappingAdd(Int64(n), ordering: .relaxed) }
    var value: Int64 { total.load(ordering: .relaxed) }
}
