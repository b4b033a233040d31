import Configuration
import Foundation
import GRDB
import Hashing
import LocalFS
import Synchronization
import SystemPackage

extension StateStore {
    // MARK: retention

    /// Copies on `destination` that retention may delete, oldest first: placed by this daemon
    /// ("copied", not "already_present"), still recorded present, older than `olderThanNanoseconds`
    /// (mtime), and whose local source is gone (deleted after verification, or removed by
    /// someone) — a copy whose source is still here is never removed.
    public func retentionCandidates(destination: String, olderThanNanoseconds: Int64, limit: Int = 1000) throws -> [LedgerEntry] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.* FROM ledger l
                    WHERE l.destination = ? AND l.outcome = 'copied' AND l.state = 'present' AND l.mtime_ns < ?
                      AND EXISTS (SELECT 1 FROM delete_queue q
                                  WHERE q.local_path = l.local_path AND q.size = l.size AND q.mtime_ns = l.mtime_ns
                                    AND q.inode = l.inode AND q.state IN ('deleted', 'gone', 'purged'))
                      -- The same object may back other sources (same name and SHA-256): only if
                      -- every one of them is gone too.
                      AND NOT EXISTS (SELECT 1 FROM ledger o
                                      WHERE o.destination = l.destination AND o.remote_path = l.remote_path AND o.id != l.id
                                        AND o.state = 'present'
                                        AND NOT EXISTS (SELECT 1 FROM delete_queue q
                                                        WHERE q.local_path = o.local_path AND q.size = o.size AND q.mtime_ns = o.mtime_ns
                                                          AND q.inode = o.inode AND q.state IN ('deleted', 'gone', 'purged')))
                    ORDER BY l.mtime_ns ASC, l.id ASC LIMIT ?
                    """, arguments: [destination, olderThanNanoseconds, limit]
            ).map(Self.ledgerEntry)
        }
    }

    /// A copy removed by retention ("expired") or found replaced by another file ("foreign"):
    /// every present row naming that object (several sources may share one copy) says so.
    public func markCopyRemoved(_ ledgerID: Int64, state: CopyState) throws {
        try db.write { db in
            try db.execute(
                sql: """
                    UPDATE ledger SET state = ?
                    WHERE id = ? OR (state = 'present' AND (destination, remote_path) = (SELECT destination, remote_path FROM ledger WHERE id = ?))
                    """, arguments: [state.rawValue, ledgerID, ledgerID])
        }
    }
}
