import Hashing
import LocalFS
import SystemPackage

/// Which recorded copies `restore` brings back. Every kind is one indexed ledger lookup
/// (see `StateStore.restoreCandidates`).
public enum RestoreSelection: Sendable, Equatable {
    /// A local file as it was synced, or every file synced from below a local folder.
    case localPath(FilePath)
    /// One copy, by its path on the destination as the ledger records it.
    case remotePath(FilePath)
    /// Every copy below a folder on the destination.
    case remoteFolder(FilePath)
    /// Every copy the ledger recorded (`synced_at`: when it was copied or found there) from
    /// `from` up to, not including, `until` (seconds since 1970).
    case copiedBetween(from: Double, until: Double)
}

/// Receives the bytes of the copies a restore fetches. The transport calls `receive` with each
/// copy's bytes in order (never two calls for one copy at once), or, for a copy it fetches in
/// ranges at once, `receive(_:at:_:)` with each range's bytes at their offset (calls for one copy
/// may overlap then; the ranges never do); then `finished` once per copy.
/// All may block (disk writes): call them from a blocking thread, never the cooperative pool.
public protocol RestoreSink: Sendable {
    func receive(_ index: Int, _ bytes: UnsafeRawBufferPointer)
    func receive(_ index: Int, at offset: Int64, _ bytes: UnsafeRawBufferPointer)
    /// Copy `index` is complete (`error` nil: every byte was delivered) or could not be read.
    func finished(_ index: Int, error: DestinationError?)
}

extension DestinationSession {
    /// Default for destinations that cannot be read back.
    public func fetch(_ copies: [RemoteCopy], into sink: any RestoreSink) async throws(DestinationError) {
        throw DestinationError(.misconfigured, "this destination cannot restore files")
    }
}

extension Destination {
    /// `remotePath` below the destination's base (NAS base path, bucket prefix), which is where a
    /// restore puts it below the target folder; nil when it is not below the base.
    public func relativeRemotePath(_ remotePath: FilePath) -> [UInt8]? { nil }
}

/// How one file of a restore ended.
public struct RestoreOutcome: Sendable {
    public enum Status: String, Sendable {
        /// Fetched, SHA-256 equal to the ledger's, renamed into place.
        case restored
        /// The target already holds a file with the ledger's SHA-256 (an earlier restore): left alone.
        case alreadyThere = "already_there"
        case failed
    }

    public let entry: StateStore.LedgerEntry
    public let target: FilePath
    public let status: Status
    /// Why it failed (path, remote path, what differs); nil otherwise.
    public let message: String?

    public init(entry: StateStore.LedgerEntry, target: FilePath, status: Status, message: String? = nil) {
        self.entry = entry
        self.target = target
        self.status = status
        self.message = message
    }
}
