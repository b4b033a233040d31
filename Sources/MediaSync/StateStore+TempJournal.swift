import Foundation
import GRDB
import LocalFS
import SystemPackage

/// Temp names journaled before any byte lands on a destination, forgotten once published or removed.
/// A temp cut by a lost connection may be marked resumable: the source version it holds a prefix
/// of is kept with it, so that the next attempt for that version continues it.
extension StateStore {
    static func addResumableTemps(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE temp_journal ADD COLUMN resume_source BLOB;
                ALTER TABLE temp_journal ADD COLUMN resume_size INTEGER;
                ALTER TABLE temp_journal ADD COLUMN resume_mtime_ns INTEGER;
                ALTER TABLE temp_journal ADD COLUMN resume_inode INTEGER;
                ALTER TABLE temp_journal ADD COLUMN resume_device INTEGER;
                ALTER TABLE temp_journal ADD COLUMN resume_kept_at REAL;
                CREATE INDEX temp_journal_resume ON temp_journal (destination, resume_source);
                """)
    }

    /// Every temp of every batch is journaled, then forgotten: as a rowid table with its key and the
    /// resume index beside it, each was three b-tree writes in and three out. Keyed by (destination,
    /// path) without a rowid, with resumable temps alone in their index, it is one each way. (The
    /// journal holds at most the temps in flight: the copy is quick.)
    static func slimTempJournal(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE temp_journal_v10 (
                    destination TEXT NOT NULL,
                    path BLOB NOT NULL,
                    recorded_at REAL NOT NULL,
                    resume_source BLOB, resume_size INTEGER, resume_mtime_ns INTEGER, resume_inode INTEGER,
                    resume_device INTEGER, resume_kept_at REAL,
                    PRIMARY KEY (destination, path)
                ) WITHOUT ROWID;
                INSERT INTO temp_journal_v10
                    SELECT destination, path, recorded_at, resume_source, resume_size, resume_mtime_ns, resume_inode,
                           resume_device, resume_kept_at FROM temp_journal;
                DROP TABLE temp_journal;
                ALTER TABLE temp_journal_v10 RENAME TO temp_journal;
                CREATE INDEX temp_journal_resume ON temp_journal (destination) WHERE resume_source IS NOT NULL;
                """)
    }

    /// A batch's temps as one row: its paths in one blob, each ended by a NUL byte (which no path
    /// holds). As rows of their own in `temp_journal` they cost a b-tree insert and a delete a temp,
    /// and their long statements a parse each: about 45,000 instructions a file, an eighth of the
    /// daemon's CPU for a batch of small files. Only the batches in flight (and those of a run that
    /// crashed) have rows; `temp_journal` keeps the temps kept for resuming (and older journals).
    static func createTempBatches(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE temp_batches (
                    id INTEGER PRIMARY KEY,
                    destination TEXT NOT NULL,
                    paths BLOB NOT NULL,
                    recorded_at REAL NOT NULL
                );
                CREATE INDEX temp_batches_destination ON temp_batches (destination);
                """)
    }

    public func record(destination: String, paths: [FilePath]) throws {
        guard !paths.isEmpty else { return }
        let blob = Data(Self.batchBlob(paths.map(\.bytes)))
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO temp_batches (destination, paths, recorded_at) VALUES (?, ?, ?)",
                arguments: [destination, blob, Date().timeIntervalSince1970])
        }
    }

    /// Forgets these paths wherever they are journaled: in the batches in flight (each rewritten
    /// without them, or deleted once empty), and as rows of their own (temps kept for resuming, and
    /// journals of older versions).
    public func forget(destination: String, paths: [FilePath]) throws {
        guard !paths.isEmpty else { return }
        let names = paths.map(\.bytes)
        let whole = Self.batchBlob(names)
        try db.write { db in
            var gone: Set<PathKey>?
            for row in try Row.fetchAll(db, sql: "SELECT id, paths FROM temp_batches WHERE destination = ?", arguments: [destination]) {
                let id: Int64 = row["id"]
                let blob = [UInt8](row["paths"] as Data)
                // Usually a whole batch at once, as recorded: no set to build.
                var after: [ArraySlice<UInt8>] = []
                if blob != whole {
                    let set = gone ?? Set(names.map { PathKey(bytes: $0[...]) })
                    gone = set
                    let before = Self.batchPaths(blob)
                    after = before.filter { !set.contains(PathKey(bytes: $0)) }
                    if after.count == before.count { continue } // another batch in flight
                }
                if after.isEmpty {
                    try db.execute(sql: "DELETE FROM temp_batches WHERE id = ?", arguments: [id])
                } else {
                    try db.execute(sql: "UPDATE temp_batches SET paths = ? WHERE id = ?", arguments: [Data(Self.batchBlob(after)), id])
                }
            }
            // Most batches have no such row to look for: no statement of hundreds of names to parse.
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM temp_journal WHERE destination = ?)", arguments: [destination]) ?? true
            else { return }
            for chunk in names.chunked(by: 500) {
                try db.execute(
                    sql: "DELETE FROM temp_journal WHERE destination = ? AND path IN (\(databaseQuestionMarks(count: chunk.count)))",
                    arguments: StatementArguments([destination.databaseValue] + chunk.map { Data($0).databaseValue }))
            }
        }
    }

    /// Every journaled path of the destination, once each, in byte order.
    public func pending(destination: String) throws -> [FilePath] {
        try db.read { db in
            var all = Set(
                try Data.fetchAll(db, sql: "SELECT path FROM temp_journal WHERE destination = ?", arguments: [destination]).map { [UInt8]($0) })
            for blob in try Data.fetchAll(db, sql: "SELECT paths FROM temp_batches WHERE destination = ?", arguments: [destination]) {
                all.formUnion(Self.batchPaths([UInt8](blob)).map { Array($0) })
            }
            return all.sorted { $0.lexicographicallyPrecedes($1) }.map { FilePath(bytes: $0) }
        }
    }

    /// A batch row's paths: each ended by a NUL byte.
    static func batchBlob<C: Collection<UInt8>>(_ paths: [C]) -> [UInt8] {
        var blob: [UInt8] = []
        blob.reserveCapacity(paths.reduce(0) { $0 + $1.count + 1 })
        for path in paths {
            blob.append(contentsOf: path)
            blob.append(0)
        }
        return blob
    }

    static func batchPaths(_ blob: [UInt8]) -> [ArraySlice<UInt8>] { blob.split(separator: 0) }

    /// A path's bytes as a set member, hashed in one call (an array's own hash takes a call a byte).
    struct PathKey: Hashable {
        var bytes: ArraySlice<UInt8>
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    public func keepForResume(destination: String, path: FilePath, source: FilePath, identity: FileIdentity) throws {
        try keepForResume(destination: destination, path: path, source: source, identity: identity, at: Date().timeIntervalSince1970)
    }

    /// `at`: for tests of the reclaiming of old resumable temps.
    public func keepForResume(destination: String, path: FilePath, source: FilePath, identity: FileIdentity, at keptAt: Double) throws {
        try db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO temp_journal (destination, path, recorded_at, resume_source, resume_size, resume_mtime_ns,
                                              resume_inode, resume_device, resume_kept_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (destination, path) DO UPDATE SET resume_source = excluded.resume_source,
                        resume_size = excluded.resume_size, resume_mtime_ns = excluded.resume_mtime_ns,
                        resume_inode = excluded.resume_inode, resume_device = excluded.resume_device,
                        resume_kept_at = excluded.resume_kept_at
                    """,
                arguments: [
                    destination, Data(path.bytes), keptAt, Data(source.bytes), identity.size, identity.mtimeNanoseconds,
                    Int64(bitPattern: identity.inode), Int64(bitPattern: identity.device), keptAt
                ])
        }
    }

    public func resumable(destination: String) throws -> [ResumableTemp] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT path, resume_source, resume_size, resume_mtime_ns, resume_inode, resume_device, resume_kept_at
                    FROM temp_journal WHERE destination = ? AND resume_source IS NOT NULL
                    """, arguments: [destination]
            ).map { row in
                ResumableTemp(
                    path: FilePath(bytes: [UInt8](row["path"] as Data)),
                    source: FilePath(bytes: [UInt8](row["resume_source"] as Data)),
                    identity: FileIdentity(
                        size: row["resume_size"], mtimeNanoseconds: row["resume_mtime_ns"],
                        inode: UInt64(bitPattern: row["resume_inode"] as Int64),
                        device: UInt64(bitPattern: row["resume_device"] as Int64)),
                    keptAt: row["resume_kept_at"])
            }
        }
    }
}
