import Foundation
import GRDB
import Hashing
import LocalFS
import SystemPackage

/// The delayed-delete queue and the trash.
extension StateStore {
    // MARK: delete queue

    public struct DeleteEntry: Sendable, Equatable {
        public var id: Int64
        public var localPath: FilePath
        public var identity: FileIdentity
        public var sha256: SHA256Digest?
        public var dueAt: Double
        public var state: QueueState
        public var attempts: Int
        public var lastError: String?
    }

    public func dueDeletes(now: Double = Date().timeIntervalSince1970, limit: Int = 5000) throws -> [DeleteEntry] {
        try db.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM delete_queue WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?",
                arguments: [now, limit]
            ).map(Self.deleteEntry)
        }
    }

    /// After the clock stepped back, pending deletions queued "in the future" would wait for the
    /// clock to catch up (days, or for ever after a reset to 1970): each is rescheduled to its own
    /// delay from now, so a backward step delays a deletion by at most one delay, and never
    /// shortens it. Trashed sources likewise keep their full retention from now. Returns how many
    /// rows were rescheduled. Only rows not yet due are looked at (`delete_queue_due`, and for the
    /// trash `delete_queue_trashed`): a range that never grows with history. Retry times of
    /// failing files move the same way (not counted).
    public func rescheduleAfterClockStep(now: Double) throws -> Int {
        try db.write { db in
            try db.execute(
                sql: """
                    UPDATE delete_queue SET due_at = ? + (due_at - queued_at), queued_at = ?
                    WHERE state = 'pending' AND due_at > ? AND queued_at > ?
                    """, arguments: [now, now, now, now])
            var changed = db.changesCount
            try db.execute(
                sql: "UPDATE delete_queue SET trashed_at = ? WHERE state = 'trashed' AND trashed_at > ?",
                arguments: [now, now])
            changed += db.changesCount
            // Retries likewise wait their own backoff from now (file_failures holds only files
            // failing now: it does not grow with history).
            try db.execute(
                sql: """
                    UPDATE file_failures SET next_attempt_at = ? + MAX(0, next_attempt_at - last_failed_at), last_failed_at = ?
                    WHERE last_failed_at > ?
                    """, arguments: [now, now, now])
            return changed
        }
    }

    public func deleteQueue(states: [QueueState] = [.pending], limit: Int = 1000) throws -> [DeleteEntry] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM delete_queue WHERE state IN (\(states.map { _ in "?" }.joined(separator: ","))) ORDER BY due_at LIMIT ?
                    """, arguments: StatementArguments(states.map(\.rawValue)) + [limit]
            ).map(Self.deleteEntry)
        }
    }

    static func deleteEntry(_ row: Row) -> DeleteEntry {
        DeleteEntry(
            id: row["id"], localPath: FilePath(bytes: [UInt8](row["local_path"] as Data)),
            identity: FileIdentity(
                size: row["size"], mtimeNanoseconds: row["mtime_ns"],
                inode: UInt64(bitPattern: row["inode"]), device: UInt64(bitPattern: row["device"])),
            sha256: SHA256Digest(hex: row["sha256"] as String), dueAt: row["due_at"], state: QueueState(rawValue: row["state"]) ?? .resync, attempts: row["attempts"],
            lastError: row["last_error"])
    }

    /// Soft delete: the source now lives at `trashPath` (purged later).
    public func markTrashed(_ id: Int64, trashPath: FilePath, now: Double = Date().timeIntervalSince1970) throws {
        try db.write { db in
            try db.execute(
                sql: """
                    UPDATE delete_queue SET state = 'trashed', trash_path = ?, trashed_at = ?, finished_at = ?,
                                            attempts = attempts + 1, last_attempt_at = ? WHERE id = ?
                    """, arguments: [Data(trashPath.bytes), now, now, now, id])
            try Self.sourceLeft(db, queueID: id)
        }
    }

    public struct TrashedEntry: Sendable, Equatable {
        public var id: Int64
        public var trashPath: FilePath
        public var identity: FileIdentity
        public var trashedAt: Double
    }

    /// Trashed files, oldest first.
    public func trashed(limit: Int = 100_000) throws -> [TrashedEntry] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, trash_path, size, mtime_ns, inode, device, trashed_at FROM delete_queue
                    WHERE state = 'trashed' ORDER BY trashed_at, id LIMIT ?
                    """, arguments: [limit]
            ).map { row in
                TrashedEntry(
                    id: row[0], trashPath: FilePath(bytes: [UInt8](row[1] as Data)),
                    identity: FileIdentity(
                        size: row[2], mtimeNanoseconds: row[3], inode: UInt64(bitPattern: row[4]),
                        device: UInt64(bitPattern: row[5])),
                    trashedAt: row[6])
            }
        }
    }

    /// The verified copies of this source, one per destination that holds it.
    public func copies(of entry: DeleteEntry) throws -> [LedgerEntry] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM ledger WHERE local_path = ? AND size = ? AND mtime_ns = ? AND inode = ? AND state = 'present'
                    """,
                arguments: [
                    Data(entry.localPath.bytes), entry.identity.size, entry.identity.mtimeNanoseconds,
                    Int64(bitPattern: entry.identity.inode)
                ]
            ).map(Self.ledgerEntry)
        }
    }

    public func noteDeleteAttemptFailed(_ id: Int64, error: String, now: Double = Date().timeIntervalSince1970) throws {
        try db.write { db in
            try db.execute(
                sql: "UPDATE delete_queue SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? WHERE id = ?",
                arguments: [error, now, id])
        }
    }

    /// Ends a queue entry: "deleted", "kept" (deletion off), "gone" (someone else removed it).
    public func finishDelete(_ id: Int64, state: QueueState, now: Double = Date().timeIntervalSince1970) throws {
        try finishDeletes([id], state: state, now: now)
    }

    /// The source version of a finished queue entry is no longer in the media root: its ledger
    /// rows leave the planner's index (they stay for retention and cleanup).
    static func sourceLeft(_ db: Database, queueID: Int64) throws {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT local_path, size, mtime_ns, inode FROM delete_queue WHERE id = ?",
                arguments: [queueID])
        else { return }
        try db.execute(
            sql: "UPDATE ledger SET source_live = 0 WHERE \(FileVersion.condition)",
            arguments: [row[0] as DatabaseValue, row[1] as DatabaseValue, row[2] as DatabaseValue, row[3] as DatabaseValue])
    }

    /// Ends many queue entries in one transaction (see `finishDelete`).
    public func finishDeletes(_ ids: [Int64], state: QueueState, now: Double = Date().timeIntervalSince1970) throws {
        try db.write { db in
            let finish = try db.cachedStatement(
                sql: """
                    UPDATE delete_queue SET state = ?, finished_at = ?, attempts = attempts + 1, last_attempt_at = ? WHERE id = ?
                    """)
            for id in ids {
                try finish.execute(arguments: [state.rawValue, now, now, id])
                if state != .kept { try Self.sourceLeft(db, queueID: id) }
            }
        }
    }

    /// Tests only: make an entry due now, instead of waiting out the delay.
    func overrideDueForTesting(_ id: Int64, dueAt: Double) throws {
        try db.write { db in try db.execute(sql: "UPDATE delete_queue SET due_at = ? WHERE id = ?", arguments: [dueAt, id]) }
    }
}
