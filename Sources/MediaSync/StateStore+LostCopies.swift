import Foundation
import GRDB

/// Copies found missing or damaged on a destination.
extension StateStore {
    /// A copy found missing or wrong: forget it (so the source, if still here, is copied again)
    /// and hold back a pending deletion of its source.
    public func markCopyLost(_ ledgerID: Int64, reason: String, now: Double = Date().timeIntervalSince1970) throws {
        try db.write { db in try Self.loseObject(db, ledgerID, reason: reason, now: now) }
    }

    /// Every present row naming the same remote object loses it too: versions that were found
    /// "already there" share one copy, and a damaged copy is damaged for all of them.
    static func loseObject(_ db: Database, _ ledgerID: Int64, reason: String, now: Double) throws {
        guard let copy = try Row.fetchOne(db, sql: "SELECT destination, remote_path FROM ledger WHERE id = ?", arguments: [ledgerID]) else { return }
        let sharers = try Int64.fetchAll(db, sql: """
            SELECT id FROM ledger WHERE destination = ? AND remote_path = ? AND state = 'present' AND id != ?
            """, arguments: [copy[0] as DatabaseValue, copy[1] as DatabaseValue, ledgerID])
        for id in [ledgerID] + sharers { try loseCopy(db, id, reason: reason, now: now) }
    }

    static func loseCopy(_ db: Database, _ ledgerID: Int64, reason: String, now: Double) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT local_path, size, mtime_ns, inode FROM ledger WHERE id = ?", arguments: [ledgerID]) else { return }
        try db.execute(sql: "UPDATE ledger SET state = 'lost' WHERE id = ?", arguments: [ledgerID])
        try db.execute(sql: """
            UPDATE delete_queue SET state = 'resync', last_error = ?, last_attempt_at = ?
            WHERE local_path = ? AND size = ? AND mtime_ns = ? AND inode = ? AND state = 'pending'
            """, arguments: [reason, now, row[0] as DatabaseValue, row[1] as DatabaseValue, row[2] as DatabaseValue, row[3] as DatabaseValue])
    }
}
