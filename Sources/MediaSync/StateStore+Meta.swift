import Configuration
import Foundation
import GRDB
import Hashing
import LocalFS
import Synchronization
import SystemPackage

/// The meta table: small values this installation keeps (its id, a pause, and the like).
extension StateStore {
    /// A short random id for this installation, used in temp names so that two docks sharing a NAS
    /// folder never touch each other's temp files.
    public func instanceID() throws -> String {
        try db.write { db in
            if let id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'instance_id'") { return id }
            let id = String((0..<8).map { _ in "0123456789abcdef".randomElement()! })
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('instance_id', ?)", arguments: [id])
            return id
        }
    }

    public func meta(_ key: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func metaKeys(prefix: String) throws -> [String: String] {
        try db.read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT key, value FROM meta WHERE key LIKE ? ESCAPE '\\'",
                arguments: [prefix.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"])
            {
                out[row[0]] = row[1]
            }
            return out
        }
    }

    public func deleteMeta(_ key: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try db.write { db in
            try db.execute(
                sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                arguments: [key, value])
        }
    }
}
