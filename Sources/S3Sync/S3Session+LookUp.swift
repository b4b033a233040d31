import Hashing
import LocalFS
import MediaSync
import ObjectStorage
import SystemPackage

/// The look before an upload, shared by the upload and the dry run: the local file's SHA-256, and
/// the key to use (HEAD of the wanted key, then of `<stem>_N<ext>`, until a free one or the same
/// object).
extension S3Session {
    enum Hashed: Sendable {
        case digest(SHA256Digest)
        case changed(SourceChanged)
        case failed(DestinationError)
    }

    /// The file's SHA-256, and proof it is still the file discovery saw.
    func hashSource(_ item: TransferItem) async -> Hashed {
        do {
            let hashed = try await runBlocking { () throws -> Result<SHA256Digest, SourceChanged> in
                let source = try SourceFile(path: item.localPath, expected: item.identity)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { buffer.deallocate() }
                let result = try source.hashOnly(buffer: buffer)
                if let change = result.change { return .failure(change) }
                return .success(result.sha256)
            }
            switch hashed {
            case .success(let digest): return .digest(digest)
            case .failure(let change): return .changed(change)
            }
        } catch let change as SourceChanged {
            return .changed(change)
        } catch {
            return .failed(DestinationError(.transient, "cannot read \(item.localPath): \(error)"))
        }
    }

    enum KeyChoice: Sendable {
        /// An object of the same size and recorded SHA-256 has this key.
        case present(String)
        /// The first free key and its conflict index (0: the wanted key).
        case free(String, Int)
        case failed(DestinationError)
    }

    /// The wanted key, or `<stem>_N<ext>` when another object has it. `sha` is asked only when an
    /// object of the same size is met (nil: the file cannot be compared, so it counts as different).
    func chooseKey(_ item: TransferItem, client: S3Client, sha: () async -> SHA256Digest?) async -> KeyChoice {
        let baseKey = destination.settings.key(directory: item.remoteDirectory, name: item.remoteName)
        var key = baseKey
        var conflictIndex = 0
        while true {
            let existing: ObjectMetadata
            do throws(S3Error) { existing = try await client.headObject(key: key) } catch  where error.kind == .notFound {
                return .free(key, conflictIndex)
            } catch {
                return .failed(S3Destination.destinationError(error, key: key, context: "cannot check \(key)"))
            }
            if existing.size == item.identity.size, let recorded = Self.recordedSHA256(existing), await sha() == recorded {
                return .present(key)
            }
            conflictIndex += 1
            guard conflictIndex < 1000 else {
                return .failed(DestinationError(.permanent, "no free name for \(baseKey) (tried _1 to _999)", remotePath: baseKey))
            }
            key = destination.settings.key(directory: item.remoteDirectory, name: RemoteLayout.conflictName(item.remoteName, index: conflictIndex))
        }
    }

    /// The dry run: a HEAD per key (on `parallel_files` connections); the local file is hashed only
    /// when an object of its size holds one of its names. Nothing is written.
    func lookUp(_ items: [TransferItem], progress: any TransferProgress) async throws(DestinationError) -> LookUp {
        let results = await forEach(items) { [self] (client, item) async -> Result<LookUp.Outcome, DestinationError> in
            var hashed: Hashed?
            let choice = await chooseKey(item, client: client) {
                if hashed == nil { hashed = await hashSource(item) }
                if case let .digest(d) = hashed { return d }
                return nil
            }
            progress.heartbeat()
            switch (choice, hashed) {
            case (.present(let key), _): return .success(.alreadyPresent(remotePath: FilePath(key)))
            case (_, .some(.changed)): return .success(.sourceChanged)
            case (_, .some(.failed(let error))): return .success(.failed(error))
            case (.free(let key, let index), _): return .success(.wouldCopy(remotePath: FilePath(key), conflictIndex: index))
            case (.failed(let error), _): return error.kind.isPerFile ? .success(.failed(error)) : .failure(error)
            }
        }
        var lookUp = LookUp(compared: "size and the SHA-256 the object records (its checksum, or x-amz-meta-dms-sha256)")
        for (item, result) in zip(items, try collect(results)) { lookUp.outcomes[item.id] = result }
        return lookUp
    }
}
