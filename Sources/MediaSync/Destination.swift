import Hashing
import LocalFS
import Logging
import SystemPackage

/// Where copies go (a NAS over ssh; object storage later). The cycle, the delete queue's
/// re-verification and the temp-file journal are written once against this protocol.
public protocol Destination: Sendable {
    /// Stable name; the ledger keys copies by it.
    var name: String { get }
    /// Human description for logs and status ("dms-nas@127.0.0.1:/volume1/dji").
    var displayName: String { get }
    /// Changes whenever the destination's settings change (releases quarantined files).
    var configurationFingerprint: String { get }
    /// Connects (and reclaims temp files a crashed run left, using `journal`). The session reports
    /// liveness to `progress` (heartbeats) for as long as it lives.
    func connect(journal: any TempJournal, progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession
    /// Connects for a dry run: writes nothing, on the destination or in the state database (no
    /// temp files reclaimed, no journal reconciled). Only `lookUp`, `space` and `fetch` (restore) are used on it.
    func connectReadOnly(progress: any TransferProgress, logger: Logger) async throws(DestinationError) -> any DestinationSession
    /// A copy's path below the destination's base (for `restore`; see Restore.swift).
    func relativeRemotePath(_ remotePath: FilePath) -> [UInt8]?
}

public protocol DestinationSession: Sendable {
    /// Copies `items`, verifying each on both ends before it appears under its final name, and
    /// reports each outcome through `onResult` as soon as it is known.
    func transfer(
        _ items: [TransferItem], progress: any TransferProgress,
        onResult: @escaping @Sendable ([TransferResult]) async -> Void) async throws(DestinationError)
    /// Checks copies again (exists, size, and SHA-256 when `mode` says so).
    func verify(_ copies: [RemoteCopy], mode: VerifyMode) async throws(DestinationError) -> [VerifyResult]
    /// Free and total bytes where the copies go; nil when the destination cannot tell.
    func space() async throws(DestinationError) -> DestinationSpace?
    /// Deletes copies this daemon placed (retention), each only if it still has the recorded
    /// size (otherwise it is not ours any more and is left alone).
    func removeCopies(_ copies: [RemoteCopy]) async throws(DestinationError) -> [RemovalResult]
    /// Read-only (a dry run): what the destination holds under each item's wanted name, found the
    /// way `transfer` looks before it sends. Outcomes by item id.
    func lookUp(_ items: [TransferItem], progress: any TransferProgress) async throws(DestinationError) -> LookUp
    /// Reads `copies` back into `sink` (`restore`; see Restore.swift). Throws only for a failure
    /// of the whole destination; a copy that cannot be read is reported through the sink.
    func fetch(_ copies: [RemoteCopy], into sink: any RestoreSink) async throws(DestinationError)
    func close() async
}

/// What a destination holds under the names a dry run would use.
public struct LookUp: Sendable {
    public enum Outcome: Sendable {
        /// Would be copied to `remotePath`: its own name (`conflictIndex` 0), or `<stem>_N<ext>`
        /// because a different file holds the name.
        case wouldCopy(remotePath: FilePath, conflictIndex: Int)
        /// The same file (see `compared`) is already there: would be recorded, not copied.
        case alreadyPresent(remotePath: FilePath)
        /// The local file changed while it was read: it would be tried at a later cycle.
        case sourceChanged
        case failed(DestinationError)
    }

    public var outcomes: [Int: Outcome]
    /// What "already there" compared, in words ("size and SHA-256, hashed on the NAS").
    public var compared: String

    public init(outcomes: [Int: Outcome] = [:], compared: String) {
        self.outcomes = outcomes
        self.compared = compared
    }
}

/// Receives byte counts as they move and a heartbeat whenever the destination answers (drives
/// the watchdog's "progress" and the status line). Called from any thread: keep it cheap.
public protocol TransferProgress: Sendable {
    func fileStarted(_ item: TransferItem)
    /// `count` bytes of local source data went out. A transport calls it for every chunk it reads
    /// and sends, on that (blocking, never cooperative-pool) thread: the engine's bandwidth limit
    /// (``ThrottledProgress``) blocks here.
    func bytesMoved(_ count: Int)
    /// The destination answered something (a verified file, a probe line): work is moving.
    func heartbeat()
    /// True once the caller wants no new file started (`dji-media-sync pause`): a transfer
    /// finishes and reports the files in flight, then returns; files not started stay unreported
    /// (they are planned again). Read between files: keep it cheap.
    var stopRequested: Bool { get }
}

extension TransferProgress {
    public func heartbeat() {}
    public var stopRequested: Bool { false }
}

/// Temp names a transport has in flight, persisted so that the next run can remove exactly those
/// after a crash (and never anything else).
public protocol TempJournal: Sendable {
    func record(destination: String, paths: [FilePath]) throws
    func forget(destination: String, paths: [FilePath]) throws
    func pending(destination: String) throws -> [FilePath]
    /// Marks a journaled temp as a resumable partial copy of `source` at `identity` (a transfer
    /// cut by a lost connection) until the path is forgotten.
    func keepForResume(destination: String, path: FilePath, source: FilePath, identity: FileIdentity) throws
    /// The temps marked by `keepForResume`.
    func resumable(destination: String) throws -> [ResumableTemp]
}

extension TempJournal {
    /// A journal without resume support: nothing is kept, so every temp is reclaimed.
    public func keepForResume(destination: String, path: FilePath, source: FilePath, identity: FileIdentity) throws {}
    public func resumable(destination: String) throws -> [ResumableTemp] { [] }
}

/// A temp file left on a destination by a cut transfer, which a later attempt for the same
/// source version may continue.
public struct ResumableTemp: Sendable, Equatable {
    public var path: FilePath
    public var source: FilePath
    public var identity: FileIdentity
    /// When it was marked (seconds since 1970): old ones are reclaimed like any temp.
    public var keptAt: Double
    public init(path: FilePath, source: FilePath, identity: FileIdentity, keptAt: Double) {
        self.path = path
        self.source = source
        self.identity = identity
        self.keptAt = keptAt
    }
}

public struct TransferItem: Sendable, Identifiable {
    public let id: Int
    public let localPath: FilePath
    /// As observed at discovery; the transfer refuses a file that no longer matches.
    public let identity: FileIdentity
    /// Folder below the destination's base, e.g. "2025/01/01".
    public let remoteDirectory: String
    /// The wanted file name (bytes of the local name).
    public let remoteName: [UInt8]

    public init(id: Int, localPath: FilePath, identity: FileIdentity, remoteDirectory: String, remoteName: [UInt8]) {
        self.id = id
        self.localPath = localPath
        self.identity = identity
        self.remoteDirectory = remoteDirectory
        self.remoteName = remoteName
    }
}

extension TransferItem {
    /// `items` in rounds in which no two want the same remote name (folder and name): a transport
    /// runs the rounds one after the other, so the second file sees the first one's copy and takes
    /// `<stem>_1<ext>`. Order is kept within each round.
    public static func roundsByRemoteName(_ items: [TransferItem]) -> [[TransferItem]] {
        struct Name: Hashable {
            let directory: String
            let name: [UInt8]
            // The name's bytes in one call: [UInt8]'s own hashing feeds them one at a time (1.3% of
            // the daemon's CPU in a first sync of 100k files).
            func hash(into hasher: inout Hasher) {
                hasher.combine(directory)
                name.withUnsafeBytes { hasher.combine(bytes: $0) }
            }
        }
        var rounds: [[TransferItem]] = []
        var seen: [Name: Int] = [:]
        for item in items {
            let name = Name(directory: item.remoteDirectory, name: item.remoteName)
            let round = seen[name, default: 0]
            seen[name] = round + 1
            if rounds.count <= round { rounds.append([]) }
            rounds[round].append(item)
        }
        return rounds
    }
}

public struct TransferResult: Sendable {
    public enum Outcome: Sendable {
        /// Copied, verified on both ends, published. `conflictIndex` > 0: stored as <stem>_N<ext>
        /// because a different file already had the name.
        case placed(remotePath: FilePath, sha256: SHA256Digest, conflictIndex: Int)
        /// A file with the same name and SHA-256 was already there: recorded, not copied.
        case alreadyPresent(remotePath: FilePath, sha256: SHA256Digest)
        /// The local file changed before or while it was read: not recorded, tried again later.
        case sourceChanged(SourceChanged)
        case failed(DestinationError)
    }

    public let item: TransferItem
    public let outcome: Outcome
    /// Bytes sent over the wire for this file.
    public let bytesSent: Int64

    public init(item: TransferItem, outcome: Outcome, bytesSent: Int64) {
        self.item = item
        self.outcome = outcome
        self.bytesSent = bytesSent
    }
}

public enum VerifyMode: String, Sendable { case sha256, size }

public struct DestinationSpace: Sendable, Equatable {
    public var freeBytes: Int64
    public var totalBytes: Int64
    public init(freeBytes: Int64, totalBytes: Int64) {
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
    }
    public var usedFraction: Double { totalBytes > 0 ? Double(totalBytes - freeBytes) / Double(totalBytes) : 0 }
}

public enum RemovalResult: Sendable, Equatable {
    case removed
    case missing
    /// The file there now has another size: not the copy we placed; left alone.
    case notOurs(foundSize: Int64)
    /// The file there has the size we placed but was modified at another time (seconds since
    /// 1970): another file written over it; left alone.
    case replaced(foundModified: Int64)
    case failed(String)
}

public struct RemoteCopy: Sendable {
    public let remotePath: FilePath
    public let size: Int64
    public let sha256: SHA256Digest
    /// The source's modification time (ns) the copy was given when it was placed, if known: a
    /// removal leaves alone a file of the same size modified at another time, where it can tell.
    public let sourceModifiedNanoseconds: Int64?
    public init(remotePath: FilePath, size: Int64, sha256: SHA256Digest, sourceModifiedNanoseconds: Int64? = nil) {
        self.remotePath = remotePath
        self.size = size
        self.sha256 = sha256
        self.sourceModifiedNanoseconds = sourceModifiedNanoseconds
    }
}

public enum VerifyResult: Sendable, Equatable, CustomStringConvertible {
    case verified
    case missing
    case sizeMismatch(found: Int64)
    case hashMismatch(found: String)
    case unknown(String)

    public var isVerified: Bool { self == .verified }

    /// In words, for logs and the delete queue's "last check" (never a Swift value).
    public var description: String {
        switch self {
        case .verified: "verified"
        case .missing: "missing"
        case let .sizeMismatch(found): found < 0 ? "size unreadable" : "size differs: \(found) bytes there"
        case let .hashMismatch(found): "SHA-256 differs: \(found.count > 16 ? found.prefix(16) + "…" : found) there"
        case let .unknown(why): "could not be checked: \(why)"
        }
    }
}

/// A destination failure with what an operator needs: which kind, where, exit status, stderr tail.
public struct DestinationError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case unreachable // connection refused/reset/timed out; ssh exit 255 before auth
        case hostKey // host key unknown or changed
        case authentication // key refused
        case transient // worth retrying soon
        case permanent // permission denied, name too long, not a directory
        case destinationFull // ENOSPC / EDQUOT
        case timeout // no progress within the transfer timeout
        case verificationFailed // checksums differ
        case cancelled // stopping
        case misconfigured // base path missing, no sha256 tool

        /// In words: "authentication failed", not "authentication".
        public var label: String {
            switch self {
            case .unreachable: "unreachable"
            case .hostKey: "host key not accepted"
            case .authentication: "authentication failed"
            case .transient: "temporary error"
            case .permanent: "permanent error"
            case .destinationFull: "destination full"
            case .timeout: "timed out"
            case .verificationFailed: "verification failed"
            case .cancelled: "cancelled"
            case .misconfigured: "set-up problem"
            }
        }

        /// The connection dropped or stalled: worth reconnecting (with backoff) within the cycle.
        public var isConnectionLoss: Bool { self == .unreachable || self == .timeout }

        /// A problem of this file (retried with backoff, then quarantined), as opposed to one of
        /// the whole destination.
        public var isPerFile: Bool {
            switch self {
            case .transient, .permanent, .verificationFailed: true
            case .unreachable, .timeout, .hostKey, .authentication, .destinationFull, .cancelled, .misconfigured: false
            }
        }
    }

    public let kind: Kind
    public let message: String
    public var remotePath: String?
    public var exitStatus: Int32?
    public var stderrTail: String?

    public init(_ kind: Kind, _ message: String, remotePath: String? = nil, exitStatus: Int32? = nil, stderrTail: String? = nil) {
        self.kind = kind
        self.message = message
        self.remotePath = remotePath
        self.exitStatus = exitStatus
        self.stderrTail = stderrTail
    }

    public var description: String {
        var parts = ["\(kind.label): \(message)"]
        if let remotePath { parts.append("remote path \(remotePath)") }
        if let exitStatus { parts.append("exit status \(exitStatus)") }
        if let stderrTail, !stderrTail.isEmpty { parts.append("stderr: \(stderrTail)") }
        return parts.joined(separator: "; ")
    }
}
