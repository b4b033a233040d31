import Foundation
import GRDB

/// Cycle history and the counts `status` and health read.
extension StateStore {
    // MARK: cycles

    public func beginCycle(now: Double = Date().timeIntervalSince1970) throws -> Int64 {
        try db.write { db in
            // A cycle still "running" was cut short (crash, kill -9): say so.
            try db.execute(sql: "UPDATE cycles SET status = 'aborted', finished_at = started_at WHERE status = 'running'")
            let cutShort = db.changesCount
            if cutShort > 0 { try Self.add(db, "cycles_total", Self.label("result", "aborted"), Double(cutShort)) }
            try db.execute(sql: "INSERT INTO cycles (started_at) VALUES (?)", arguments: [now])
            return db.lastInsertedRowID
        }
    }

    public func finishCycle(_ summary: CycleSummary) throws {
        try db.write { db in
            try db.execute(
                sql: """
                    UPDATE cycles SET finished_at = ?, status = ?, files_copied = ?, files_present = ?, bytes = ?, failed = ?,
                                      skipped = ?, deleted = ?, message = ?, waiting_space = ?, unavailable = ?, copies_bad = ? WHERE id = ?
                    """,
                arguments: [
                    summary.finishedAt, summary.status.rawValue, summary.filesCopied, summary.filesAlreadyPresent,
                    summary.bytesCopied, summary.failed, summary.skipped, summary.deleted,
                    summary.messages.prefix(5).joined(separator: "; "), summary.waitingForSpace,
                    summary.unavailableDestinations.joined(separator: ","), summary.copiesBad, summary.cycleID
                ])
            // The counters move with the cycle's row: one transaction, never counted twice or half.
            try Self.addCounters(db, summary)
        }
    }

    public struct CycleRecord: Sendable, Equatable {
        public var id: Int64
        public var startedAt: Double
        public var finishedAt: Double?
        public var status: String
        public var filesCopied: Int, filesPresent: Int, bytes: Int64, failed: Int, skipped: Int, deleted: Int
        public var message: String?
        public var waitingForSpace = 0
        public var unavailable: [String] = []
        public var copiesBad = 0
    }

    /// Cycles that started at or after `since`, newest first.
    public func cycles(since: Double) throws -> [CycleRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM cycles WHERE started_at >= ? ORDER BY started_at DESC, id DESC", arguments: [since]).map(Self.cycle) }
    }

    public func lastCycle(withStatusIn statuses: [String]) throws -> CycleRecord? {
        try db.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM cycles WHERE status IN (\(statuses.map { _ in "?" }.joined(separator: ","))) ORDER BY id DESC LIMIT 1",
                arguments: StatementArguments(statuses)
            ).map(Self.cycle)
        }
    }

    public func firstCycle() throws -> CycleRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM cycles ORDER BY id LIMIT 1").map(Self.cycle) }
    }

    static func cycle(_ row: Row) -> CycleRecord {
        CycleRecord(
            id: row["id"], startedAt: row["started_at"], finishedAt: row["finished_at"], status: row["status"],
            filesCopied: row["files_copied"], filesPresent: row["files_present"], bytes: row["bytes"],
            failed: row["failed"], skipped: row["skipped"], deleted: row["deleted"], message: row["message"],
            waitingForSpace: row["waiting_space"],
            unavailable: (row["unavailable"] as String).split(separator: ",").map(String.init), copiesBad: row["copies_bad"])
    }

    /// Failure counts by error kind, and how many files are quarantined.
    public func failureCounts() throws -> (byKind: [String: Int], quarantined: Int) {
        try db.read { db in
            var byKind: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT error_kind, COUNT(*) FROM file_failures GROUP BY error_kind") {
                byKind[row[0]] = row[1]
            }
            return (byKind, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM file_failures WHERE quarantined = 1") ?? 0)
        }
    }

    public func recentCycles(limit: Int = 10) throws -> [CycleRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cycles ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Self.cycle)
        }
    }

    public struct Counts: Sendable, Equatable {
        public var ledgerPresent: Int, ledgerLost: Int
        public var queuePending: Int, queueDue: Int, queueDeleted: Int, queueKept: Int
    }

    /// Sources waiting for deletion (an index range as small as the queue, not the history).
    public func pendingDeletions() throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM delete_queue WHERE state = 'pending'") ?? 0 }
    }

    public func counts(now: Double = Date().timeIntervalSince1970) throws -> Counts {
        try db.read { db in
            func count(_ sql: String, _ args: StatementArguments = []) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: args) ?? 0 }
            return Counts(
                ledgerPresent: try count("SELECT COUNT(*) FROM ledger WHERE state = 'present'"),
                ledgerLost: try count("SELECT COUNT(*) FROM ledger WHERE state = 'lost'"),
                queuePending: try count("SELECT COUNT(*) FROM delete_queue WHERE state = 'pending'"),
                queueDue: try count("SELECT COUNT(*) FROM delete_queue WHERE state = 'pending' AND due_at <= ?", [now]),
                queueDeleted: try count("SELECT COUNT(*) FROM delete_queue WHERE state = 'deleted'"),
                queueKept: try count("SELECT COUNT(*) FROM delete_queue WHERE state = 'kept'"))
        }
    }
}
