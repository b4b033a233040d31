import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// Structural guard for "a cycle costs what is new": every statement a cycle, `status`, `verify`,
/// `retention` and `cleanup` run is collected from a real store, and `EXPLAIN QUERY PLAN` must show
/// no full scan of a table that grows with history. Not timed: it fails on the plan itself.
@Suite struct QueryPlanTests {
    /// Tables that grow with history. (file_failures does not: each cycle forgets the failures of
    /// files that are gone, so it holds only files that are here and failing; temp_journal holds
    /// only temps in flight.)
    /// counters is bounded by its label sets (destinations, error kinds), but is read at every
    /// cycle: it is held to its primary key all the same.
    static let growing: Set<String> = ["ledger", "delete_queue", "cycles", "multipart_uploads", "multipart_parts", "counters"]

    /// A walk in rowid order with no filter and a LIMIT reads only that many rows
    /// (`ORDER BY id DESC LIMIT 5`: the last cycles).
    static func boundedRowidWalk(_ sql: String) -> Bool {
        let s = sql.uppercased()
        return !s.contains("WHERE") && s.contains("ORDER BY ID") && s.contains("LIMIT")
    }

    /// Lines such as "SCAN ledger" (every row) or "SCAN ledger USING COVERING INDEX x" (every
    /// index entry): both read the whole history.
    static func fullScans(_ plan: [String]) -> [String] {
        plan.filter { line in
            let words = line.split(separator: " ")
            guard words.count >= 2, words[0] == "SCAN" else { return false }
            return growing.contains(String(words[1]))
        }
    }

    /// Columns with a handful of values over the whole history (every copy is 'present').
    static let lowCardinality: Set<String> = ["state", "outcome", "status", "quarantined", "source_live", "error_kind"]

    /// Lines such as "SEARCH ledger USING INDEX ledger_state (state=?)": a lookup that narrows a
    /// growing table by low-cardinality columns only, then reads every row it finds, is a full scan
    /// in disguise. (A COVERING index search only counts index entries: `status`'s counts.)
    static func disguisedScans(_ plan: [String]) -> [String] {
        plan.filter { line in
            let words = line.split(separator: " ")
            guard words.count >= 5, words[0] == "SEARCH", growing.contains(String(words[1])), words[2] == "USING", words[3] == "INDEX",
                let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")")
            else { return false }
            let columns = line[line.index(after: open)..<close].components(separatedBy: " AND ").map { $0.prefix { $0.isLetter || $0 == "_" } }
            return columns.allSatisfy { lowCardinality.contains(String($0)) }
        }
    }

    @Test func theGuardSeesAFullScan() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let store = try StateStore(directory: dir.filePath)
        // The lookup as it was before the v6 indexes: the guard must fail on it.
        let plan = try store.queryPlan("SELECT destination FROM ledger NOT INDEXED WHERE local_path = ? AND size = ?")
        #expect(!Self.fullScans(plan).isEmpty, "\(plan)")
        // The lookup of a name's other holders as it was (SQLite chose the state index: every
        // present copy read for each file recorded, 1.7 ms a file at 10k files).
        let disguised = try store.queryPlan(
            "SELECT id FROM ledger INDEXED BY ledger_state WHERE destination = ? AND remote_path = ? AND state = 'present'")
        #expect(!Self.disguisedScans(disguised).isEmpty, "\(disguised)")
    }

    @Test func everyStatementOfACycleStatusVerifyRetentionCleanupAndRestoreUsesAnIndex() async throws {
        let dir = try TemporaryDirectory()
        let media = try TemporaryDirectory()
        defer {
            try? dir.remove()
            try? media.remove()
        }
        _ = try StateStore(directory: dir.filePath) // migrations run once, not per cycle: not traced
        let log = StateStore.StatementLog()
        let store = try StateStore(directory: dir.filePath, statementLog: log)
        var local = MediaSyncConfig.Local(mediaRoots: [media.path])
        local.minFileAgeSeconds = 0
        var config = MediaSyncConfig(local: local, destinations: [.nas(.init(host: "nas", basePath: "/base"))])
        config.state.directory = dir.path
        config.deletePolicy.delayMinutes = 0
        config.consistencyCheck.enable = true
        config.consistencyCheck.intervalHours = 0
        config.storageManagement.enableSpaceCheck = true
        config.storageManagement.enableRetention = true
        config.health.prometheusTextfile = dir.path + "/metrics.prom" // the counters are read to write it
        for i in 0..<30 { _ = try media.writeFile("DJI_\(i).JPG", bytes: Array("photo \(i)".utf8), modified: .secondsAgo(3600)) }
        let remote = ScriptedRemote(name: "nas")
        remote.capacity = 100 // short of space: retention runs
        let destination = remote.destination()
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let engine = SyncEngine(config: config, store: store, destinations: [destination], logger: logger)
        // Cycles: copy (some wait for space), delete due sources, re-plan, check consistency.
        for _ in 0..<3 { _ = await engine.runCycle() }
        _ = await engine.runCycle(dryRun: true)
        // A failure, a retry and a quarantine.
        let item = TransferItem(
            id: 0, localPath: "/gone/x.JPG", identity: .init(size: 1, mtimeNanoseconds: 1, inode: 1, device: 1),
            remoteDirectory: "2025/01/01", remoteName: Array("x.JPG".utf8))
        _ = try store.recordFailure(
            destination: "nas", item: item, permanent: false, kind: "transient", message: "x",
            policy: config.retryPolicy, fingerprint: "f")
        _ = try store.releaseFailures(paths: ["/gone/x.JPG"])
        // status
        _ = try store.counts()
        _ = try store.recentCycles(limit: 5)
        _ = try HealthEvaluator.evaluate(store: store, config: config)
        _ = try store.failures(quarantinedOnly: true)
        _ = try store.failures()
        _ = try store.deleteQueue(states: [.pending])
        // verify
        _ = try store.recentCopies(destination: "nas", since: 0)
        // retention
        _ = try store.retentionCandidates(destination: "nas", olderThanNanoseconds: .max)
        try store.markCopyRemoved(1, state: .expired)
        // cleanup
        _ = try store.ledgerRemotePaths(destination: "nas", prefix: [], after: nil, limit: 1000)
        _ = try store.ledgerRemotePaths(destination: "nas", prefix: [], after: Array("/base/2".utf8), limit: 1000)
        _ = try store.ledgerReferences(destination: "nas", remotePath: Array("/base/x".utf8))
        _ = try store.multipartUploads(destination: "nas")
        _ = try store.multipartUpload(destination: "nas", key: "k", fingerprint: "f")
        _ = try store.trashed()
        // object delete (of a copy recorded here: the NAS above was too full to take any)
        let copy = Array("/base/2025/01/01/y.JPG".utf8)
        try store.recordPlacements(
            [
                StateStore.Placement(
                    item: TransferItem(
                        id: 0, localPath: "/gone/y.JPG",
                        identity: .init(size: 1, mtimeNanoseconds: 1, inode: 2, device: 1),
                        remoteDirectory: "2025/01/01", remoteName: Array("y.JPG".utf8)),
                    remotePath: FilePath(bytes: copy), sha256: SHA256Hasher.hash([1]), alreadyPresent: false)
            ],
            destination: "nas", allDestinations: ["nas"], cycleID: nil, deleteDelaySeconds: 0)
        #expect(try store.presentCopies(destination: "nas", remotePath: copy).count == 1)
        #expect(try store.markObjectLost(destination: "nas", remotePath: copy, reason: "deleted by hand") == 1)
        // the temp journal, with a temp kept for resume (NAS transfers)
        try store.record(destination: "nas", paths: ["/base/2025/.dms-x.part"])
        try store.keepForResume(
            destination: "nas", path: "/base/2025/.dms-x.part", source: "/media/x.MP4",
            identity: .init(size: 1, mtimeNanoseconds: 1, inode: 1, device: 1))
        _ = try store.resumable(destination: "nas")
        _ = try store.pending(destination: "nas")
        try store.forget(destination: "nas", paths: ["/base/2025/.dms-x.part"])
        // restore, by each selector
        for selection: RestoreSelection in [
            .localPath(media.filePath), .remotePath("/base/2025/01/01/DJI_1.JPG"),
            .remoteFolder("/base/2025"), .copiedBetween(from: 0, until: 1e12)
        ] {
            _ = try store.restoreCandidates(destination: "nas", selection: selection)
        }
        // metrics, pause
        _ = try store.fleetMetrics(destinations: ["nas"])
        try store.setPause(until: nil)
        _ = try store.pause()
        try store.clearPause()

        let statements = log.all.filter { sql in
            let head = sql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(6).uppercased()
            return ["SELECT", "UPDATE", "DELETE", "INSERT"].contains(head) && !sql.contains("grdb_migrations") && !sql.contains("sqlite_")
        }
        #expect(statements.count > 30, "the trace caught \(statements.count) statements")
        var offenders: [String] = []
        for sql in statements.sorted() where !Self.boundedRowidWalk(sql) {
            let plan = try store.queryPlan(sql)
            // (A LIMIT bounds a walk in index order; 'running' cycles are never more than one.)
            let bounded = sql.uppercased().contains("LIMIT") || sql.contains("status = 'running'")
            let scans = Self.fullScans(plan) + (bounded ? [] : Self.disguisedScans(plan))
            if !scans.isEmpty { offenders.append("\(scans.joined(separator: "; ")) ← \(sql)") }
        }
        #expect(offenders.isEmpty, "full scans of growing tables:\n\(offenders.joined(separator: "\n"))")
    }
}
