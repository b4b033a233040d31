import Foundation
import GRDB
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// v10 rebuilds the temp journal without a rowid: a database of v9 with journaled temps, one of
/// them kept for resuming, keeps every one of them through the upgrade.
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
}
