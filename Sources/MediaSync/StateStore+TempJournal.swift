import Foundation
import GRDB
import SystemPackage

/// Temp names journaled before any byte lands on a destination, forgotten once published or removed.
extension StateStore {
    public func record(destination: String, paths: [FilePath]) throws {
        let now = Date().timeIntervalSince1970
        try db.write { db in
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO temp_journal (destination, path, recorded_at) VALUES (?, ?, ?)")
            for p in paths { try insert.execute(arguments: [destination, Data(p.bytes), now]) }
        }
    }

    public func forget(destination: String, paths: [FilePath]) throws {
        try db.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM temp_journal WHERE destination = ? AND path = ?")
            for p in paths { try delete.execute(arguments: [destination, Data(p.bytes)]) }
        }
    }

    public func pending(destination: String) throws -> [FilePath] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT path FROM temp_journal WHERE destination = ?", arguments: [destination])
                .map { FilePath(bytes: [UInt8]($0["path"] as Data)) }
        }
    }
}
