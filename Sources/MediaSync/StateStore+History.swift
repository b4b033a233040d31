import Foundation
import GRDB
import LocalFS

/// What keeps a cycle's cost proportional to what is new, not to everything ever synced.
///
/// Every query a cycle, `status`, `verify`, `retention` or `cleanup` runs is served by an index
/// (`HistoryIndexTests` runs `EXPLAIN QUERY PLAN` on each and fails on a full scan of a table that
/// grows with history). Ledger rows of sources that are gone stay (retention and orphan cleanup
/// need them) but leave the `ledger_live` partial index, which is all the planner reads.
extension StateStore {
    static func createHistoryIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                -- 1 while the ledger row's source version may still be in the media root; 0 once it is
                -- known gone (deleted after verification, trashed, replaced, or removed by someone).
                ALTER TABLE ledger ADD COLUMN source_live INTEGER NOT NULL DEFAULT 1;
                UPDATE ledger SET source_live = 0
                WHERE EXISTS (SELECT 1 FROM delete_queue q
                              WHERE q.local_path = ledger.local_path AND q.size = ledger.size AND q.mtime_ns = ledger.mtime_ns
                                AND q.inode = ledger.inode AND q.state IN ('deleted', 'gone', 'purged', 'trashed', 'changed'));
                -- A file version's copies (delete queue, recording, lost copies).
                CREATE INDEX ledger_version ON ledger (local_path, size, mtime_ns, inode);
                -- The planner's merge: only what may still be in the media root, in path byte order.
                CREATE INDEX ledger_live ON ledger (local_path, size, mtime_ns, inode, destination)
                    WHERE source_live = 1 AND state = 'present';
                -- Consistency check and `verify --since`.
                CREATE INDEX ledger_recent ON ledger (destination, synced_at) WHERE state = 'present';
                -- Retention: the oldest copies this daemon placed.
                CREATE INDEX ledger_retention ON ledger (destination, mtime_ns) WHERE outcome = 'copied' AND state = 'present';
                -- status: counts by state.
                CREATE INDEX ledger_state ON ledger (state);
                DROP INDEX ledger_synced_at;
                CREATE INDEX cycles_status ON cycles (status, id);
                CREATE INDEX cycles_started ON cycles (started_at);
                CREATE INDEX file_failures_path ON file_failures (local_path);
                CREATE INDEX file_failures_kind ON file_failures (quarantined, error_kind);
                CREATE INDEX multipart_uploads_created ON multipart_uploads (destination, created_at);
                -- Files dated in the future: when each version was first seen (see `sighting`).
                CREATE TABLE sightings (
                    local_path BLOB PRIMARY KEY,
                    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
                    first_seen REAL NOT NULL, last_seen REAL NOT NULL
                );
                CREATE INDEX sightings_last_seen ON sightings (last_seen);
                """)
    }

    /// One version of a local file: the key the ledger, the delete queue and the failures share.
    public struct FileVersion: Sendable, Hashable {
        public var path: [UInt8]
        public var size: Int64
        public var mtimeNanoseconds: Int64
        public var inode: UInt64
        public init(path: [UInt8], size: Int64, mtimeNanoseconds: Int64, inode: UInt64) {
            self.path = path
            self.size = size
            self.mtimeNanoseconds = mtimeNanoseconds
            self.inode = inode
        }
        public init(path: [UInt8], identity: FileIdentity) {
            self.init(path: path, size: identity.size, mtimeNanoseconds: identity.mtimeNanoseconds, inode: identity.inode)
        }
        /// `local_path = ? AND size = ? AND mtime_ns = ? AND inode = ?`, in that order.
        var arguments: StatementArguments { [Data(path), size, mtimeNanoseconds, Int64(bitPattern: inode)] }
        static let condition = "local_path = ? AND size = ? AND mtime_ns = ? AND inode = ?"
    }

    /// One live ledger row as the planner sees it; `path` is valid only during the visit.
    public struct LiveCopy {
        public var path: UnsafeRawBufferPointer
        public var size: Int64
        public var mtimeNanoseconds: Int64
        public var inode: UInt64
        public var destination: String
        public var version: FileVersion {
            FileVersion(path: Array(path), size: size, mtimeNanoseconds: mtimeNanoseconds, inode: inode)
        }
    }

    /// The live ledger in path byte order, `chunk` rows per read transaction (so a writer is never
    /// held back long and the caller can stop between chunks). Rows are read from a cursor and
    /// their paths are not copied (a no-op cycle over 100k files reads 100k rows). `visit` returns
    /// false to stop.
    public func forEachLiveCopy(chunk: Int = 5000, _ visit: (LiveCopy) throws -> Bool) throws {
        // Row-value comparison continues exactly after the last row seen, on the index; the first
        // page starts below every real row (no path is empty).
        var after: (path: Data, size: Int64, mtime: Int64, inode: Int64, destination: String) = (Data(), .min, .min, .min, "")
        while true {
            let (count, stopped, last) = try db.read { db -> (Int, Bool, (Data, Int64, Int64, Int64, String)?) in
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT local_path, size, mtime_ns, inode, destination FROM ledger INDEXED BY ledger_live
                        WHERE source_live = 1 AND state = 'present'
                          AND (local_path, size, mtime_ns, inode, destination) > (?, ?, ?, ?, ?)
                        ORDER BY local_path, size, mtime_ns, inode, destination LIMIT ?
                        """, arguments: [after.path, after.size, after.mtime, after.inode, after.destination, chunk])
                var count = 0
                var last: (Data, Int64, Int64, Int64, String)?
                while let row = try rows.next() {
                    count += 1
                    let size: Int64 = row[1], mtime: Int64 = row[2], inode: Int64 = row[3], destination: String = row[4]
                    let keepGoing = try row.withUnsafeData(atIndex: 0) { data -> Bool in
                        let data = data ?? Data()
                        return try data.withUnsafeBytes { raw in
                            try visit(
                                LiveCopy(
                                    path: raw, size: size, mtimeNanoseconds: mtime, inode: UInt64(bitPattern: inode),
                                    destination: destination))
                        }
                    }
                    guard keepGoing else { return (count, true, nil) }
                    if count == chunk { last = (row[0], size, mtime, inode, destination) }
                }
                return (count, false, last)
            }
            guard !stopped, count == chunk, let last else { return }
            after = last
        }
    }

    /// Ledger rows whose source version is known gone leave the planner's index.
    public func markSourcesGone(_ versions: [FileVersion]) throws {
        guard !versions.isEmpty else { return }
        try db.write { db in
            let update = try db.cachedStatement(sql: "UPDATE ledger SET source_live = 0 WHERE \(FileVersion.condition)")
            for v in versions { try update.execute(arguments: v.arguments) }
        }
    }

    /// Every failure row's version on `destination` (to prune those of files that are gone).
    public func failureVersions(destination: String) throws -> [FileVersion] {
        try db.read { db in
            try Row.fetchAll(
                db, sql: "SELECT local_path, size, mtime_ns, inode FROM file_failures WHERE destination = ?",
                arguments: [destination]
            ).map { row in
                FileVersion(path: [UInt8](row[0] as Data), size: row[1], mtimeNanoseconds: row[2], inode: UInt64(bitPattern: row[3]))
            }
        }
    }

    /// Forgets the failures of versions that are no longer in the media root, so the table stays
    /// as small as the set of files that are here and failing.
    public func forgetFailures(_ versions: [FileVersion], destination: String) throws {
        guard !versions.isEmpty else { return }
        try db.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM file_failures WHERE destination = ? AND \(FileVersion.condition)")
            for v in versions { try delete.execute(arguments: [destination] + v.arguments) }
        }
    }

    /// Failures that hold files back (waiting for a retry, or quarantined), keyed by version: the
    /// planner reads them once per cycle instead of once per file.
    /// The versions held back on `destination`, each with whether it is quarantined (else it waits
    /// for its next attempt).
    public func deferredVersions(destination: String, fingerprint: String, now: Double = Date().timeIntervalSince1970) throws -> [FileVersion: Bool] {
        try db.read { db in
            var out: [FileVersion: Bool] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT local_path, size, mtime_ns, inode, next_attempt_at, quarantined FROM file_failures
                    WHERE destination = ? AND config_fingerprint = ? AND (quarantined = 1 OR next_attempt_at > ?)
                    """, arguments: [destination, fingerprint, now])
            while let row = try rows.next() {
                let path: Data = row[0]
                out[FileVersion(path: [UInt8](path), size: row[1], mtimeNanoseconds: row[2], inode: UInt64(bitPattern: row[3]))] = row[5]
            }
            return out
        }
    }

    /// A file dated in the future cannot be judged complete by its age. It is eligible once the
    /// same version has been seen unchanged for `minimumAge` seconds by this machine's clock (two
    /// observations, persisted so that `sync --once` runs count too). Returns whether it is
    /// settled, and when this version was first seen.
    /// `record` false (a dry run): only reads what earlier runs recorded.
    public func sighting(
        path: [UInt8], identity: FileIdentity, minimumAge: Double,
        now: Double = Date().timeIntervalSince1970, record: Bool = true
    ) throws -> (settled: Bool, firstSeen: Double) {
        if !record {
            return try db.read { db in try Self.sighting(db, path: path, identity: identity, minimumAge: minimumAge, now: now, record: false) }
        }
        return try db.write { db in try Self.sighting(db, path: path, identity: identity, minimumAge: minimumAge, now: now, record: true) }
    }

    private static func sighting(
        _ db: Database, path: [UInt8], identity: FileIdentity, minimumAge: Double, now: Double,
        record: Bool
    ) throws -> (settled: Bool, firstSeen: Double) {
        let version = FileVersion(path: path, identity: identity)
        let row = try Row.fetchOne(
            db, sql: "SELECT size, mtime_ns, inode, first_seen FROM sightings WHERE local_path = ?",
            arguments: [Data(path)])
        var firstSeen = now
        if let row, (row[0] as Int64) == version.size, (row[1] as Int64) == version.mtimeNanoseconds,
            UInt64(bitPattern: row[2] as Int64) == version.inode, (row[3] as Double) <= now
        {
            firstSeen = row[3]
        }
        guard record else { return (now - firstSeen >= minimumAge, firstSeen) }
        try db.execute(
            sql: """
                INSERT INTO sightings (local_path, size, mtime_ns, inode, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (local_path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode,
                    first_seen = excluded.first_seen, last_seen = excluded.last_seen
                """, arguments: version.arguments + [firstSeen, now])
        return (now - firstSeen >= minimumAge, firstSeen)
    }

    /// Forgets sightings not renewed since `before` (the file is gone or no longer future-dated).
    public func forgetSightings(notSeenSince before: Double) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM sightings WHERE last_seen < ?", arguments: [before]) }
    }
}
