import Foundation
import GRDB

/// Copies found missing or damaged on a destination.
extension StateStore {
    /// A copy found missing or wrong: forget it (so the source, if still here, is copied again)
    /// and hold back a pending deletion of its source.
    public func markCopyLost(_ ledgerID: Int64, reason: String, now: Double = Date().timeIntervalSince1970) throws {
        try db.write { db in try Self.loseObject(db, ledgerID, reason: reason, now: now) }
    }

    /// The rows that record `remotePath` on `destination` as the present copy of a source (the
    /// `ledger_remote` index): what `object delete` refuses to delete without --force.
    public func presentCopies(destination: String, remotePath: [UInt8]) throws -> [LedgerEntry] {
        try db.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM ledger WHERE destination = ? AND remote_path = ? AND state = 'present' ORDER BY id",
                arguments: [destination, Data(remotePath)]
            ).map(Self.ledgerEntry)
        }
    }

    /// An object deleted on purpose (`object delete --force`): every present row of it is lost, as
    /// when the engine finds a copy missing, in one transaction. Returns the rows marked.
    @discardableResult
    public func markObjectLost(
        destination: String, remotePath: [UInt8], reason: String,
        now: Double = Date().timeIntervalSince1970
    ) throws -> Int {
        try db.write { db in
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM ledger WHERE destination = ? AND remote_path = ? AND state = 'present'",
                arguments: [destination, Data(remotePath)])
            // loseObject marks the rows sharing the first one's object: all of them.
            if let first = ids.first { try Self.loseObject(db, first, reason: reason, now: now) }
            return ids.count
        }
    }

    /// Every present row naming the same remote object loses it too: versions that were found
    /// "already there" share one copy, and a damaged copy is damaged for all of them.
    static func loseObject(_ db: Database, _ ledgerID: Int64, reason: String, now: Double) throws {
        guard let copy = try Row.fetchOne(db, sql: "SELECT destination, remote_path FROM ledger WHERE id = ?", arguments: [ledgerID]) else { return }
        let sharers = try Int64.fetchAll(
            db,
            sql: """
                SELECT id FROM ledger WHERE destination = ? AND remote_path = ? AND state = 'present' AND id != ?
                """, arguments: [copy[0] as DatabaseValue, copy[1] as DatabaseValue, ledgerID])
        for id in [ledgerID] + sharers { try loseCopy(db, id, reason: reason, now: now) }
    }

    static func loseCopy(_ db: Database, _ ledgerID: Int64, reason: String, now: Double) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT local_path, size, mtime_ns, inode FROM ledger WHERE id = ?", arguments: [ledgerID]) else { return }
        try db.execute(sql: "UPDATE ledger SET state = 'lost' WHERE id = ?", arguments: [ledgerID])
        try db.execute(
            sql: """
                UPDATE delete_queue SET state = 'resync', last_error = ?, last_attempt_at = ?
                WHERE local_path = ? AND size = ? AND mtime_ns = ? AND inode = ? AND state = 'pending'
                """, arguments: [reason, now, row[0] as DatabaseValue, row[1] as DatabaseValue, row[2] as DatabaseValue, row[3] as DatabaseValue])
    }
}
