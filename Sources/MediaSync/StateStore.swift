import Configuration
import Foundation
import GRDB
import Hashing
import LocalFS
import Synchronization
import SystemPackage

/// The daemon's memory, in SQLite (WAL): the ledger of copies, the delayed-delete queue, cycle
/// history and the journal of temp names in flight. Every change is one transaction, so the state
/// survives kill -9 at any instant. Paths are stored as BLOBs (exact bytes) with a display copy.
public typealias RetryPolicy = MediaSyncConfig.RetryPolicy

public final class StateStore: TempJournal, Sendable {
    // Internal (not private) so that topic extensions in other files (StateStore+Multipart) use it.
    let db: DatabaseQueue
    public let path: FilePath

    /// - Parameter statementLog: collects the SQL of every statement run (tests check each one's
    ///   query plan).
    public init(directory: FilePath, statementLog: StatementLog? = nil) throws {
        try LocalFS.createDirectories(directory, mode: 0o750)
        path = directory.appending("state.sqlite")
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            if let statementLog {
                db.trace(options: .statement) { event in
                    if case let .statement(statement) = event { statementLog.add(statement.sql) }
                }
            }
            // WAL (set by `prepare`) + NORMAL: a commit survives a crash of this process at any
            // instant; after a power cut the last commits may be lost, which costs only a re-check
            // ("already there").
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        db = try DatabaseQueue(path: path.string, configuration: configuration)
        try Self.prepare(db, lockingDirectory: directory)
        let status = try LocalFS.status(path)
        fileIdentity = (status.identity.device, status.identity.inode)
    }

    /// Device and inode of the database file as opened.
    private let fileIdentity: (device: UInt64, inode: UInt64)

    /// The state database this store writes to is no longer the file at `path`.
    public struct DatabaseGone: Error, CustomStringConvertible {
        public let path: String
        public let detail: String
        public var description: String {
            "the state database \(path) \(detail) while the daemon ran; nothing more is recorded in the old file. Restart the service (it starts a new database; copies already on the destinations are found there again)"
        }
    }

    /// Throws `DatabaseGone` when the file at `path` was deleted or replaced since the store opened
    /// it: writes would go into an unlinked file and vanish at the next start. Checked before
    /// every cycle.
    public func checkStillOnDisk() throws {
        let found: FileStatus?
        do { found = try LocalFS.statusIfExists(path) } catch {
            throw DatabaseGone(path: path.displayString, detail: "cannot be checked (\(error))")
        }
        guard let found else { throw DatabaseGone(path: path.displayString, detail: "was deleted") }
        guard found.identity.device == fileIdentity.device, found.identity.inode == fileIdentity.inode else {
            throw DatabaseGone(path: path.displayString, detail: "was replaced by another file")
        }
    }

    /// The distinct SQL texts a store ran (for `EXPLAIN QUERY PLAN` checks).
    public final class StatementLog: Sendable {
        private let statements = Mutex<Set<String>>([])
        public init() {}
        func add(_ sql: String) { statements.withLock { _ = $0.insert(sql) } }
        public var all: Set<String> { statements.withLock { $0 } }
    }

    /// `EXPLAIN QUERY PLAN` of `sql` (parameters unbound): one detail line per step.
    public func queryPlan(_ sql: String) throws -> [String] {
        let parameters = sql.filter { $0 == "?" }.count
        return try db.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN " + sql,
                arguments: StatementArguments(Array(repeating: DatabaseValue.null, count: parameters))
            )
            .map { $0["detail"] as String }
        }
    }

    // MARK: ledger

    /// A ledger row's copy, with the same text in the database.
    public enum CopyState: String, Sendable {
        case present
        /// Found missing or different: forgotten, re-copied if the source is still here.
        case lost
        /// Removed by retention.
        case expired
        /// Replaced on the destination by a file that is not ours: left alone.
        case foreign
    }

    /// A delete-queue entry, with the same text in the database.
    public enum QueueState: String, Sendable {
        case pending, deleted, trashed, purged
        /// Verified, but `delete_sources` is off.
        case kept
        /// Removed by someone else before its deletion was due.
        case gone
        /// The local file is another version now.
        case changed
        /// A copy failed re-verification: the source is copied again first.
        case resync
    }

    public struct LedgerEntry: Sendable, Equatable {
        public var id: Int64
        public var destination: String
        public var localPath: FilePath
        public var identity: FileIdentity
        /// nil when the recorded digest cannot be decoded (a damaged row): such a copy is never
        /// taken as verified.
        public var sha256: SHA256Digest?
        public var remotePath: FilePath
        public var outcome: String
        public var state: CopyState
        public var syncedAt: Double
    }

    /// The destinations (among `destinations`) that already hold this version of the file.
    public func destinationsHolding(_ path: FilePath, identity: FileIdentity, among destinations: [String]) throws -> Set<String> {
        try db.read { db in try Self.holders(db, Data(path.bytes), identity).intersection(destinations) }
    }

    /// For many files at once (one read transaction, one prepared statement): for each file, the
    /// destinations among `destinations` that already hold that version.
    public func destinationsHolding(_ files: [(path: FilePath, identity: FileIdentity)], among destinations: [String]) throws -> [Set<String>] {
        try db.read { db in
            try files.map { try Self.holders(db, Data($0.path.bytes), $0.identity).intersection(destinations) }
        }
    }

    // Per-file statements are prepared once and reused (parsing SQL per file dominated the CPU
    // profile of a 2000-file cycle).
    static func holders(_ db: Database, _ localPath: Data, _ identity: FileIdentity) throws -> Set<String> {
        let statement = try db.cachedStatement(
            sql: """
                SELECT destination FROM ledger
                WHERE local_path = ? AND size = ? AND mtime_ns = ? AND inode = ? AND state = 'present'
                """)
        return Set(
            try String.fetchAll(
                statement,
                arguments: [
                    localPath, identity.size, identity.mtimeNanoseconds,
                    Int64(bitPattern: identity.inode)
                ]))
    }

    /// The ledger rows (ids) that still claim, as present, the remote path of each new copy in
    /// `placements` (none for copies already there) while recording another version: that copy
    /// was gone (a publish never replaces a file), so those rows are stale. Found by the fault
    /// simulation (seeds 119, 318 of 400): a lost copy's name reused by the next version of the
    /// file. One cached lookup a copy (`ledger_remote`): a statement naming 500 paths cost more to
    /// parse and bind than its lookups (21,000 instructions a file, against about 5,000).
    /// (`remotes`: each placement's remote path as stored.)
    static func staleHolders(_ db: Database, of placements: [Placement], remotes: [Data], destination: String) throws -> [[Int64]] {
        let statement = try db.cachedStatement(
            sql: "SELECT id, local_path, size, mtime_ns, inode FROM ledger WHERE destination = ? AND remote_path = ? AND state = 'present'")
        return try zip(placements, remotes).map { p, remote in
            guard !p.alreadyPresent else { return [] }
            var stale: [Int64] = []
            let id = p.item.identity
            let rows = try Row.fetchCursor(statement, arguments: [destination, remote])
            while let row = try rows.next() {
                let same =
                    row[1] as Data? == Data(p.item.localPath.bytes) && row[2] as Int64? == id.size
                    && row[3] as Int64? == id.mtimeNanoseconds && row[4] as Int64? == Int64(bitPattern: id.inode)
                if !same { stale.append(row[0]) }
            }
            return stale
        }
    }

    public struct Placement: Sendable {
        public var item: TransferItem
        public var remotePath: FilePath
        public var sha256: SHA256Digest
        public var alreadyPresent: Bool
        public init(item: TransferItem, remotePath: FilePath, sha256: SHA256Digest, alreadyPresent: Bool) {
            self.item = item
            self.remotePath = remotePath
            self.sha256 = sha256
            self.alreadyPresent = alreadyPresent
        }
    }

    /// Records verified copies on `destination` in one transaction, and queues for deletion every
    /// source that is now held by all of `allDestinations`. Returns how many were queued.
    @discardableResult
    public func recordPlacements(
        _ placements: [Placement], destination: String, allDestinations: [String],
        cycleID: Int64?, deleteDelaySeconds: Double, now: Double = Date().timeIntervalSince1970
    ) throws -> Int {
        try db.write { db in
            var queued = 0
            let insertLedger = try db.cachedStatement(
                sql: """
                    INSERT INTO ledger (destination, local_path, local_path_text, size, mtime_ns, inode, device, sha256,
                                        remote_path, remote_path_text, outcome, state, synced_at, verified_at, cycle_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'present', ?, ?, ?)
                    ON CONFLICT (destination, local_path, size, mtime_ns, inode) DO UPDATE SET
                        sha256 = excluded.sha256, remote_path = excluded.remote_path,
                        remote_path_text = excluded.remote_path_text, outcome = excluded.outcome,
                        state = 'present', synced_at = excluded.synced_at, verified_at = excluded.verified_at,
                        cycle_id = excluded.cycle_id, source_live = 1
                    """)
            let enqueue = try db.cachedStatement(
                sql: """
                    INSERT INTO delete_queue (local_path, local_path_text, size, mtime_ns, inode, device, sha256, queued_at, due_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (local_path, size, mtime_ns, inode) DO UPDATE SET
                        state = 'pending', queued_at = excluded.queued_at, due_at = excluded.due_at, sha256 = excluded.sha256, finished_at = NULL
                    WHERE delete_queue.state NOT IN ('pending', 'kept')
                    """)
            let clearFailure = try db.cachedStatement(
                sql: """
                    DELETE FROM file_failures WHERE destination = ? AND local_path = ? AND size = ? AND mtime_ns = ? AND inode = ?
                    """)
            // Most cycles have no failures on record: then no row needs clearing.
            let anyFailures = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM file_failures WHERE destination = ?)", arguments: [destination]) ?? true
            let remotes = placements.map { Data($0.remotePath.bytes) }
            let stale = try Self.staleHolders(db, of: placements, remotes: remotes, destination: destination)
            let wanted = Set(allDestinations)
            for ((p, remote), staleIDs) in zip(zip(placements, remotes), stale) {
                let id = p.item.identity
                // (Each converted once: both tables take them.)
                let localBytes = p.item.localPath.bytes
                let local = Data(localBytes), localText = FilePath.display(localBytes), sha = p.sha256.hex
                try insertLedger.execute(arguments: [
                    destination, local, localText, id.size, id.mtimeNanoseconds,
                    Int64(bitPattern: id.inode), Int64(bitPattern: id.device), sha,
                    remote, FilePath.display([UInt8](remote)),
                    p.alreadyPresent ? "already_present" : "copied", now, now, cycleID
                ])
                if anyFailures {
                    try clearFailure.execute(arguments: [destination, local, id.size, id.mtimeNanoseconds, Int64(bitPattern: id.inode)])
                }
                for other in staleIDs {
                    try Self.loseCopy(db, other, reason: "its copy \(p.remotePath.displayString) was gone; the name now holds another version", now: now)
                }
                // Queued for deletion only once every destination holds this version.
                let heldEverywhere = try wanted == [destination] || wanted.isSubset(of: Self.holders(db, local, id))
                if heldEverywhere {
                    try enqueue.execute(arguments: [
                        local, localText, id.size, id.mtimeNanoseconds,
                        Int64(bitPattern: id.inode), Int64(bitPattern: id.device), sha,
                        now, now + deleteDelaySeconds
                    ])
                    queued += db.changesCount
                }
            }
            return queued
        }
    }

    public func ledgerEntries(destination: String? = nil, limit: Int = 1000) throws -> [LedgerEntry] {
        try db.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM ledger \(destination == nil ? "" : "WHERE destination = ?") ORDER BY id DESC LIMIT ?
                    """, arguments: destination.map { [$0, limit] } ?? [limit])
            return rows.map(Self.ledgerEntry)
        }
    }

    static func ledgerEntry(_ row: Row) -> LedgerEntry {
        LedgerEntry(
            id: row["id"], destination: row["destination"],
            localPath: FilePath(bytes: [UInt8](row["local_path"] as Data)),
            identity: FileIdentity(
                size: row["size"], mtimeNanoseconds: row["mtime_ns"],
                inode: UInt64(bitPattern: row["inode"]), device: UInt64(bitPattern: row["device"])),
            sha256: SHA256Digest(hex: row["sha256"] as String), remotePath: FilePath(bytes: [UInt8](row["remote_path"] as Data)),
            // An unknown state (a newer version's, or damage) never counts as present.
            outcome: row["outcome"], state: CopyState(rawValue: row["state"]) ?? .lost, syncedAt: row["synced_at"])
    }

    // MARK: consistency

    /// Copies recorded present on `destination` and made since `since` (seconds since 1970).
    /// Pages by (synced_at, id): pass the last row of a page as `after` for the next one.
    public func recentCopies(
        destination: String, since: Double, after: (syncedAt: Double, id: Int64)? = nil,
        limit: Int = 100_000
    ) throws -> [LedgerEntry] {
        try db.read { db in
            let start = after ?? (since, Int64.min)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM ledger INDEXED BY ledger_recent
                    WHERE destination = ? AND state = 'present' AND synced_at >= ? AND (synced_at, id) > (?, ?)
                    ORDER BY synced_at, id LIMIT ?
                    """, arguments: [destination, since, start.0, start.1, limit]
            ).map(Self.ledgerEntry)
        }
    }

    public func markVerified(_ ledgerIDs: [Int64], now: Double = Date().timeIntervalSince1970) throws {
        try db.write { db in
            let update = try db.cachedStatement(sql: "UPDATE ledger SET verified_at = ? WHERE id = ?")
            for id in ledgerIDs { try update.execute(arguments: [now, id]) }
        }
    }
}
