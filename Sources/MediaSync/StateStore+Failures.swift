import Foundation
import GRDB
import Hashing
import LocalFS
import SystemPackage

/// Per-file retries: failed attempts, backoff and quarantine.
extension StateStore {
    // MARK: retries

    public struct Failure: Sendable, Equatable {
        public var destination: String
        public var localPath: FilePath
        public var attempts: Int
        public var errorKind: String
        public var lastError: String
        public var nextAttemptAt: Double
        public var quarantined: Bool
    }

    /// Records a failed attempt and schedules the next one (exponential backoff with jitter), or
    /// quarantines the file: at once for a permanent error, or after `maxAttempts`.
    @discardableResult
    public func recordFailure(
        destination: String, item: TransferItem, permanent: Bool, kind: String, message: String,
        policy: RetryPolicy, fingerprint: String, now: Double = Date().timeIntervalSince1970
    ) throws -> Failure {
        try db.write { db in
            let local = Data(item.localPath.bytes)
            let id = item.identity
            let previous = try Row.fetchOne(
                db,
                sql: """
                    SELECT attempts, config_fingerprint FROM file_failures
                    WHERE destination = ? AND local_path = ? AND size = ? AND mtime_ns = ? AND inode = ?
                    """, arguments: [destination, local, id.size, id.mtimeNanoseconds, Int64(bitPattern: id.inode)])
            // A changed destination config starts the count again.
            let attempts = (previous.map { ($0[1] as String) == fingerprint ? ($0[0] as Int) : 0 } ?? 0) + 1
            let quarantined = permanent || attempts >= policy.maxAttempts
            let next = now + policy.delay(afterAttempts: attempts)
            try db.execute(
                sql: """
                    INSERT INTO file_failures (destination, local_path, local_path_text, size, mtime_ns, inode, attempts, error_kind,
                                               last_error, first_failed_at, last_failed_at, next_attempt_at, quarantined, config_fingerprint)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (destination, local_path, size, mtime_ns, inode) DO UPDATE SET
                        attempts = excluded.attempts, error_kind = excluded.error_kind, last_error = excluded.last_error,
                        last_failed_at = excluded.last_failed_at, next_attempt_at = excluded.next_attempt_at,
                        quarantined = excluded.quarantined, config_fingerprint = excluded.config_fingerprint
                    """,
                arguments: [
                    destination, local, item.localPath.displayString, id.size, id.mtimeNanoseconds,
                    Int64(bitPattern: id.inode), attempts, kind, message, now, now, next, quarantined, fingerprint
                ])
            return Failure(
                destination: destination, localPath: item.localPath, attempts: attempts, errorKind: kind,
                lastError: message, nextAttemptAt: next, quarantined: quarantined)
        }
    }

    /// For each file: true when it must not be tried now on `destination` (waiting for its next
    /// attempt, or quarantined). A quarantine recorded under another destination config is lifted.
    /// (The same rule as `deferredVersions`, which the planner reads once per cycle.)
    public func isDeferred(
        _ files: [(path: FilePath, identity: FileIdentity)], destination: String, fingerprint: String,
        now: Double = Date().timeIntervalSince1970
    ) throws -> [Bool] {
        let deferred = try deferredVersions(destination: destination, fingerprint: fingerprint, now: now)
        return files.map { deferred[FileVersion(path: $0.path.bytes, identity: $0.identity)] != nil }
    }

    public func failures(quarantinedOnly: Bool = false, limit: Int = 10_000) throws -> [Failure] {
        try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM file_failures \(quarantinedOnly ? "WHERE quarantined = 1" : "") ORDER BY last_failed_at DESC LIMIT ?
                    """, arguments: [limit]
            ).map { row in
                Failure(
                    destination: row["destination"], localPath: FilePath(bytes: [UInt8](row["local_path"] as Data)),
                    attempts: row["attempts"], errorKind: row["error_kind"], lastError: row["last_error"],
                    nextAttemptAt: row["next_attempt_at"], quarantined: row["quarantined"])
            }
        }
    }

    /// `queue retry`: forget failures (all, or of the given local paths) so they are tried at the
    /// next cycle. Returns how many were released.
    @discardableResult
    public func releaseFailures(paths: [FilePath]? = nil) throws -> Int {
        try db.write { db in
            if let paths {
                var n = 0
                for p in paths {
                    try db.execute(sql: "DELETE FROM file_failures WHERE local_path = ?", arguments: [Data(p.bytes)])
                    n += db.changesCount
                }
                return n
            }
            try db.execute(sql: "DELETE FROM file_failures")
            return db.changesCount
        }
    }
}
