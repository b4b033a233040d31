import Foundation
import GRDB
import LocalFS

/// The ledger lookups of `restore`: each one index range (`QueryPlanTests` holds them to it).
extension StateStore {
    /// Copies on `destination` recorded present that `selection` names, oldest first. A local
    /// path that was synced in several versions yields each version's copy.
    public func restoreCandidates(destination: String, selection: RestoreSelection) throws -> [LedgerEntry] {
        try db.read { db in
            let rows: [Row]
            switch selection {
            case let .localPath(path):
                // The file itself (ledger_version), and everything below it as a folder.
                let exact = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM ledger INDEXED BY ledger_version WHERE local_path = ? AND destination = ? AND state = 'present'
                        """, arguments: [Data(path.bytes), destination])
                let (low, high) = Self.folderRange(path.bytes)
                let below = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM ledger INDEXED BY ledger_version
                        WHERE local_path >= ? AND local_path < ? AND destination = ? AND state = 'present'
                        """, arguments: [Data(low), Data(high), destination])
                rows = exact + below
            case let .remotePath(path):
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM ledger WHERE destination = ? AND remote_path = ? AND state = 'present'
                        """, arguments: [destination, Data(path.bytes)])
            case let .remoteFolder(path):
                let (low, high) = Self.folderRange(path.bytes)
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM ledger INDEXED BY ledger_remote
                        WHERE destination = ? AND remote_path >= ? AND remote_path < ? AND state = 'present'
                        """, arguments: [destination, Data(low), Data(high)])
            case let .copiedBetween(from, until):
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT * FROM ledger INDEXED BY ledger_recent
                        WHERE destination = ? AND state = 'present' AND synced_at >= ? AND synced_at < ?
                        """, arguments: [destination, from, until])
            }
            return rows.map(Self.ledgerEntry).sorted { ($0.syncedAt, $0.id) < ($1.syncedAt, $1.id) }
        }
    }

    /// The byte range of every path strictly below `folder`: from "folder/" up to "folder0"
    /// ("0" follows "/" in byte order).
    static func folderRange(_ folder: [UInt8]) -> (low: [UInt8], high: [UInt8]) {
        var base = folder
        while base.count > 1, base.last == UInt8(ascii: "/") { base.removeLast() }
        if base == [UInt8(ascii: "/")] { return (base, [UInt8(ascii: "0")]) }
        return (base + [UInt8(ascii: "/")], base + [UInt8(ascii: "0")])
    }
}
