import Foundation
import GRDB

/// The ledger's remote paths of one destination in byte order, page by page: what orphan cleanup
/// merges with an object store's listing (AWS lists in UTF-8 byte order; SeaweedFS 4.48 does not
/// quite: it lists `a/…` before `a-…`, directory by directory, so the cleanup confirms every
/// candidate with ``ledgerReferences(destination:remotePath:)``) without holding either side whole. `remote_path` is a BLOB, and SQLite compares BLOBs with memcmp whatever the
/// collation, so `ORDER BY remote_path` is byte order; the `ledger_remote (destination,
/// remote_path)` index serves both the order and the range.
extension StateStore {
    /// Distinct remote paths recorded for `destination` (copies in any state: a row the ledger
    /// still has is never taken for an orphan) that are greater than `after` and start with
    /// `prefix`, in byte order, at most `limit`.
    public func ledgerRemotePaths(destination: String, prefix: [UInt8], after: [UInt8]?, limit: Int) throws -> [[UInt8]] {
        // Start at the prefix itself (or just after `after`), stop at the first path past it.
        let strictly = after.map { !$0.lexicographicallyPrecedes(prefix) } ?? false
        let lower = strictly ? after! : prefix
        return try db.read { db in
            let rows = try Data.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT remote_path FROM ledger
                    WHERE destination = ? AND remote_path \(strictly ? ">" : ">=") ?
                    ORDER BY remote_path LIMIT ?
                    """, arguments: [destination, Data(lower), limit])
            return rows.map { [UInt8]($0) }.prefix { $0.starts(with: prefix) }.map { $0 }
        }
    }

    /// Whether the ledger has any row for `destination` with exactly this remote path (the last
    /// check before an object is deleted as an orphan).
    public func ledgerReferences(destination: String, remotePath: [UInt8]) throws -> Bool {
        try db.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM ledger WHERE destination = ? AND remote_path = ?)",
                arguments: [destination, Data(remotePath)]) ?? false
        }
    }
}
