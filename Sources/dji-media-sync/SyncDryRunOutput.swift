import Foundation
import MediaSync

/// `sync --once --dry-run`: per destination, what would be copied, what is there already and what
/// would get a `_N` name; then why files were skipped locally.
extension SyncCommand {
    static func renderDryRun(_ s: CycleSummary, _ r: DryRunReport) -> String {
        var lines = ["dry run: nothing was copied, deleted or recorded (\(Format.duration(s.duration)))"]
        for d in r.destinations {
            lines.append("\(d.name) (\(d.displayName)):")
            if let error = d.unavailable {
                lines.append("  could not be asked: \(error)")
            }
            if !d.asked && d.unavailable == nil {
                lines.append("  not asked:       nothing planned for it (every file is in the ledger or held back)")
            } else if d.asked {
                lines.append("  would copy:      \(Format.count(d.wouldCopy, "file")) (\(Format.bytes(d.wouldCopyBytes)))")
                lines.append("  already there:   \(d.alreadyThere) (\(Format.bytes(d.alreadyThereBytes)))\(d.compared.map { "; compared: \($0)" } ?? "")")
                lines.append("  would get _N:    \(d.wouldRename) (\(Format.bytes(d.wouldRenameBytes)); a different file holds the name)")
            }
            lines.append("  in the ledger:   \(d.inLedger) (copied earlier; not asked again)")
            if d.waitingForSpace > 0 { lines.append("  waiting (space): \(d.waitingForSpace) (free space minus storage_management.min_free_space_gb too small)") }
            if d.waitingForRetry > 0 { lines.append("  waiting (retry): \(d.waitingForRetry) (after a failure; queue list)") }
            if d.quarantined > 0 { lines.append("  quarantined:     \(d.quarantined) (queue list; queue retry)") }
            if d.changed > 0 { lines.append("  changed:         \(d.changed) (changed while read: still being written)") }
            if d.failed > 0 { lines.append("  failed:          \(d.failed) (could not be checked)") }
        }
        lines.append("skipped locally:")
        lines.append("  too recent:      \(r.tooRecent) (still being written, or younger than local.min_file_age_seconds)")
        lines.append("  hidden:          \(r.hidden) (local.skip_hidden)")
        lines.append("  ignored type:    \(r.ignored) (not in local.extensions, or a local.temporary_suffixes name)")
        if s.status == .cancelled { lines.append("cancelled: stopped on request") }
        // An unreachable destination's error is shown under its name already.
        let shown = Set(r.destinations.compactMap { d in d.unavailable.map { "\(d.name): \($0)" } })
        for m in s.messages.filter({ !shown.contains($0) }).prefix(10) { lines.append("! \(m)") }
        return lines.joined(separator: "\n")
    }

    static func dryRunJSON(_ s: CycleSummary, _ r: DryRunReport, exitStatus: Int32) -> String {
        func pair(_ files: Int, _ bytes: Int64) -> [String: Any] { ["files": files, "bytes": bytes] }
        let destinations: [[String: Any]] = r.destinations.map { d in
            [
                "name": d.name,
                "display_name": d.displayName,
                "asked": d.asked,
                "reachable": JSONOutput.nullable(d.unavailable != nil ? false : d.asked ? true : nil),
                "error": JSONOutput.nullable(d.unavailable?.description),
                "error_kind": JSONOutput.nullable(d.unavailable?.kind.rawValue),
                "compared": JSONOutput.nullable(d.compared),
                "would_copy": pair(d.wouldCopy, d.wouldCopyBytes),
                "already_there": pair(d.alreadyThere, d.alreadyThereBytes),
                "would_rename": pair(d.wouldRename, d.wouldRenameBytes),
                "bytes_to_copy": d.bytesToCopy,
                "in_ledger": d.inLedger,
                "waiting_for_space": d.waitingForSpace,
                "waiting_for_retry": d.waitingForRetry,
                "quarantined": d.quarantined,
                "changed": d.changed,
                "failed": d.failed
            ]
        }
        return JSONOutput.render(
            [
                "dry_run": true,
                "status": s.status.rawValue,
                "exit_status": Int(exitStatus),
                "started_at": JSONOutput.time(s.startedAt),
                "finished_at": JSONOutput.time(s.finishedAt),
                "local": ["eligible": r.eligible, "too_recent": r.tooRecent, "hidden": r.hidden, "ignored": r.ignored],
                "destinations": destinations,
                "unavailable": s.unavailableJSON,
                "messages": s.messages
            ], schemaVersion: 1)
    }
}
