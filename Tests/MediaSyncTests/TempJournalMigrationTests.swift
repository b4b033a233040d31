import Foundation
import GRDB
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// v10 rebuilds the temp journal without a rowid: a database of v9 with journaled temps, one of
/// them kept for resuming, keeps every one of them through the upgrade. v11 journals a batch as
/// one row.
@Suite struct TempJournalMigrationTests {
    @Test func journaledTempsSurviveTheUpgradeToTheSlimJournal() throws {
        let dir = try TemporaryDirectory(prefix: "dms-journal-v10")
        defer { try? dir.remove() }
        let file = dir.filePath.appending("state.sqlite")
        let old = try DatabaseQueue(path: file.string)
        try StateStore.migrator.migrate(old, upTo: "v9: name lookups by state")
        let identity = FileIdentity(size: 900, mtimeNanoseconds: 7, inode: 3, device: 1)
        try old.write { db in
            for (n, path) in ["/nas/2025/01/01/.dms-a.part", "/nas/2025/01/01/.dms-b.part"].enumerated() {
                try db.execute(
                    sql: "INSERT INTO temp_journal (destination, path, recorded_at) VALUES (?, ?, ?)",
                    arguments: ["nas", Data(path.utf8), Double(n)])
            }
            try db.execute(
                sql: """
                    INSERT INTO temp_journal (destination, path, recorded_at, resume_source, resume_size, resume_mtime_ns,
                                              resume_inode, resume_device, resume_kept_at)
                    VALUES ('nas', ?, 5, ?, 900, 7, 3, 1, 6)
                    """, arguments: [Data("/nas/2025/01/01/.dms-c.part".utf8), Data("/media/DJI_1.MP4".utf8)])
        }
        try old.close()

        let store = try StateStore(directory: dir.filePath)
        let pending = Set(try store.pending(destination: "nas").map(\.string))
        #expect(pending == ["/nas/2025/01/01/.dms-a.part", "/nas/2025/01/01/.dms-b.part", "/nas/2025/01/01/.dms-c.part"])
        #expect(
            try store.resumable(destination: "nas")
                == [ResumableTemp(path: "/nas/2025/01/01/.dms-c.part", source: "/media/DJI_1.MP4", identity: identity, keptAt: 6)])
        // And it works as before: recorded twice is once; forgotten is gone.
        try store.record(destination: "nas", paths: ["/nas/2025/01/01/.dms-a.part", "/nas/x/.dms-d.part"])
        try store.forget(destination: "nas", paths: ["/nas/2025/01/01/.dms-b.part"])
        #expect(try store.pending(destination: "nas").count == 3)
        let withoutRowid = try store.db.read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_schema WHERE name = 'temp_journal'")
        }
        #expect(withoutRowid?.contains("WITHOUT ROWID") == true)
    }

    /// A batch's row shrinks as its temps are forgotten and goes with the last; a temp kept for
    /// resuming stays journaled (and resumable) after its batch is forgotten; a crashed run's rows
    /// (two batches, never forgotten) are all pending.
    @Test func aBatchIsOneRowUntilItsLastTempIsForgotten() throws {
        let dir = try TemporaryDirectory(prefix: "dms-journal-v11")
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        func rows() throws -> Int { try store.db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM temp_batches") ?? -1 } }
        let batch = (0..<600).map { FilePath("/nas/2025/01/0\($0 % 3)/.dms-\($0).part") } + ["/nas/.dms-s.session-1"]
        try store.record(destination: "nas", paths: batch)
        try store.record(destination: "other", paths: ["/nas/2025/01/00/.dms-0.part"])
        #expect(try rows() == 2)
        #expect(try store.pending(destination: "nas") == batch.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) })

        let identity = FileIdentity(size: 900, mtimeNanoseconds: 7, inode: 3, device: 1)
        try store.keepForResume(destination: "nas", path: batch[5], source: "/media/DJI_5.MP4", identity: identity, at: 10)
        // (As a data session does: every temp but the one kept.)
        try store.forget(destination: "nas", paths: batch[0..<300].filter { $0 != batch[5] })
        #expect(try rows() == 2)
        #expect(try store.pending(destination: "nas") == ([batch[5]] + batch[300...]).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) })
        try store.forget(destination: "nas", paths: Array(batch[300...]))
        #expect(try rows() == 2, "the kept temp is still in its batch's row")
        #expect(try store.pending(destination: "nas") == [batch[5]])
        #expect(try store.resumable(destination: "nas").map(\.path) == [batch[5]])
        try store.forget(destination: "nas", paths: [batch[5]])
        #expect(try store.pending(destination: "nas").isEmpty)
        #expect(try store.pending(destination: "other") == ["/nas/2025/01/00/.dms-0.part"])

        // A crash: two batches recorded, none forgotten. The next run sees both, then forgets them in chunks.
        try store.record(destination: "nas", paths: ["/nas/a/.dms-1.part", "/nas/a/.dms-2.part"])
        try store.record(destination: "nas", paths: ["/nas/b/.dms-3.part"])
        let reopened = try StateStore(directory: dir.filePath)
        let left = try reopened.pending(destination: "nas")
        #expect(left == ["/nas/a/.dms-1.part", "/nas/a/.dms-2.part", "/nas/b/.dms-3.part"])
        for path in left { try reopened.forget(destination: "nas", paths: [path]) }
        #expect(try reopened.pending(destination: "nas").isEmpty)
        #expect(try rows() == 1, "only the other destination's batch is left")
    }
}

/// Two processes opening a database that needs migrating (the daemon starting while `status` runs,
/// or a test polling a daemon's state) take turns: neither fails on a migration the other applied,
/// nor on the other's switch to WAL. Each race showed in about one round in thirty.
@Suite struct ConcurrentMigrationTests {
    @Test(arguments: [nil, "v5: multipart uploads"])
    func storesOpenedAtOnceAllSeeOneMigratedDatabase(from start: String?) async throws {
        for round in 0..<100 {
            let dir = try TemporaryDirectory(prefix: "dms-migrate-\(round)", in: TemporaryDirectory.memoryParent)
            defer { try? dir.remove() }
            if let start {
                let old = try DatabaseQueue(path: dir.filePath.appending("state.sqlite").string)
                try StateStore.migrator.migrate(old, upTo: start)
                try old.close()
            }
            // Separate connections lock SQLite as separate processes do.
            let failures = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        do { _ = try StateStore(directory: dir.filePath) } catch { return "\(error)" }
                        return nil
                    }
                }
                return await group.reduce(into: [String]()) { all, failure in failure.map { all.append($0) } }
            }
            #expect(failures.isEmpty, "round \(round): \(failures)")
            let store = try StateStore(directory: dir.filePath)
            #expect(try await store.db.read { try StateStore.migrator.hasCompletedMigrations($0) })
        }
    }
}
