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

    // A batch journals and forgets hundreds of temps: a few statements of many rows each, not one
    // statement a temp (that cost 6 % of a 100k-file sync's CPU).
    public func record(destination: String, paths: [FilePath]) throws {
        let now = Date().timeIntervalSince1970
        try db.write { db in
            for chunk in paths.chunked(by: 300) {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO temp_journal (destination, path, recorded_at) VALUES "
                        + Array(repeating: "(?, ?, ?)", count: chunk.count).joined(separator: ", "),
                    arguments: StatementArguments(chunk.flatMap { [destination.databaseValue, Data($0.bytes).databaseValue, now.databaseValue] }))
            }
        }
    }

    public func forget(destination: String, paths: [FilePath]) throws {
        try db.write { db in
            for chunk in paths.chunked(by: 500) {
                try db.execute(
                    sql: "DELETE FROM temp_journal WHERE destination = ? AND path IN (\(databaseQuestionMarks(count: chunk.count)))",
                    arguments: StatementArguments([destination.databaseValue] + chunk.map { Data($0.bytes).databaseValue }))
            }
        }
    }

    public func pending(destination: String) throws -> [FilePath] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT path FROM temp_journal WHERE destination = ?", arguments: [destination])
                .map { FilePath(bytes: [UInt8]($0["path"] as Data)) }
        }
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
