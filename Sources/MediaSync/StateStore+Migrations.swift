import GRDB
import LocalFS
import SystemPackage

/// The schema and how a database reaches it.
extension StateStore {
    /// Switches a database to WAL and migrates it, under an flock on its folder, so that processes
    /// opening it at once (the daemon starting while `status` runs) take turns:
    /// - GRDB's migrator reads which migrations are applied outside its transactions, so two would
    ///   both apply one, and one fails ("table already exists");
    /// - two connections switching to WAL together each hold a read lock and want the write lock:
    ///   SQLite answers one "database is locked" at once, without waiting.
    /// A ready database (every start after the first) does not wait for the lock.
    static func prepare(_ db: DatabaseQueue, lockingDirectory directory: FilePath) throws {
        // The unlocked look may fail where it races a migrator: GRDB's "no such table" check runs
        // after its SELECT, so a table created in between makes it rethrow. Any such error is
        // read again under the lock, where nothing changes the schema, and thrown from there.
        let ready = try? db.read { db in
            try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal" && migrator.hasCompletedMigrations(db)
        }
        if ready == true { return }
        let lock = try FileLock.onDirectory(directory)
        try withExtendedLifetime(lock) {
            try db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            try migrator.migrate(db)
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE ledger (
                        id INTEGER PRIMARY KEY,
                        destination TEXT NOT NULL,
                        local_path BLOB NOT NULL,
                        local_path_text TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        mtime_ns INTEGER NOT NULL,
                        inode INTEGER NOT NULL,
                        device INTEGER NOT NULL,
                        sha256 TEXT NOT NULL,
                        remote_path BLOB NOT NULL,
                        remote_path_text TEXT NOT NULL,
                        outcome TEXT NOT NULL,            -- copied | already_present
                        state TEXT NOT NULL DEFAULT 'present', -- present | lost
                        synced_at REAL NOT NULL,
                        verified_at REAL NOT NULL,
                        cycle_id INTEGER,
                        UNIQUE (destination, local_path, size, mtime_ns, inode)
                    );
                    CREATE INDEX ledger_remote ON ledger (destination, remote_path);
                    CREATE INDEX ledger_synced_at ON ledger (synced_at);
                    CREATE TABLE delete_queue (
                        id INTEGER PRIMARY KEY,
                        local_path BLOB NOT NULL,
                        local_path_text TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        mtime_ns INTEGER NOT NULL,
                        inode INTEGER NOT NULL,
                        device INTEGER NOT NULL,
                        sha256 TEXT NOT NULL,
                        queued_at REAL NOT NULL,
                        due_at REAL NOT NULL,
                        state TEXT NOT NULL DEFAULT 'pending', -- pending | deleted | kept | gone | resync
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT,
                        last_attempt_at REAL,
                        finished_at REAL,
                        UNIQUE (local_path, size, mtime_ns, inode)
                    );
                    CREATE INDEX delete_queue_due ON delete_queue (state, due_at);
                    CREATE TABLE cycles (
                        id INTEGER PRIMARY KEY,
                        started_at REAL NOT NULL,
                        finished_at REAL,
                        status TEXT NOT NULL DEFAULT 'running', -- running | ok | partial | failed | aborted
                        files_copied INTEGER NOT NULL DEFAULT 0,
                        files_present INTEGER NOT NULL DEFAULT 0,
                        bytes INTEGER NOT NULL DEFAULT 0,
                        failed INTEGER NOT NULL DEFAULT 0,
                        skipped INTEGER NOT NULL DEFAULT 0,
                        deleted INTEGER NOT NULL DEFAULT 0,
                        message TEXT
                    );
                    CREATE TABLE temp_journal (
                        destination TEXT NOT NULL,
                        path BLOB NOT NULL,
                        recorded_at REAL NOT NULL,
                        PRIMARY KEY (destination, path)
                    );
                    """)
        }
        m.registerMigration("v2: per-file retries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE file_failures (
                        destination TEXT NOT NULL,
                        local_path BLOB NOT NULL,
                        local_path_text TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        mtime_ns INTEGER NOT NULL,
                        inode INTEGER NOT NULL,
                        attempts INTEGER NOT NULL,
                        error_kind TEXT NOT NULL,
                        last_error TEXT NOT NULL,
                        first_failed_at REAL NOT NULL,
                        last_failed_at REAL NOT NULL,
                        next_attempt_at REAL NOT NULL,
                        quarantined INTEGER NOT NULL DEFAULT 0,
                        config_fingerprint TEXT NOT NULL,
                        PRIMARY KEY (destination, local_path, size, mtime_ns, inode)
                    );
                    """)
        }
        m.registerMigration("v3: soft delete") { db in
            try db.execute(
                sql: """
                    ALTER TABLE delete_queue ADD COLUMN trash_path BLOB;
                    ALTER TABLE delete_queue ADD COLUMN trashed_at REAL;
                    CREATE INDEX delete_queue_trashed ON delete_queue (state, trashed_at);
                    """)
        }
        m.registerMigration("v4: health") { db in
            try db.execute(
                sql: """
                    ALTER TABLE cycles ADD COLUMN waiting_space INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE cycles ADD COLUMN unavailable TEXT NOT NULL DEFAULT '';
                    ALTER TABLE cycles ADD COLUMN copies_bad INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        m.registerMigration("v5: multipart uploads", migrate: createMultipartTables)
        m.registerMigration("v6: indexes for history", migrate: createHistoryIndexes)
        m.registerMigration("v7: counters", migrate: createCounters)
        m.registerMigration("v8: resumable temps", migrate: addResumableTemps)
        // The copies holding a name are looked up for every file recorded. On (destination,
        // remote_path) alone SQLite preferred the index on state, which every copy shares: each
        // lookup read all present copies (1.7 ms a file at 10k files). With state in it, this index
        // matches all three columns of the lookup and is always chosen.
        m.registerMigration("v9: name lookups by state") { db in
            try db.execute(
                sql: """
                    DROP INDEX ledger_remote;
                    CREATE INDEX ledger_remote ON ledger (destination, remote_path, state);
                    """)
        }
        m.registerMigration("v10: one b-tree per journaled temp", migrate: slimTempJournal)
        m.registerMigration("v11: one journal row per batch", migrate: createTempBatches)
        return m
    }
}
