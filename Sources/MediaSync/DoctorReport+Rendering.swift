import Foundation

extension DoctorReport {
    /// RFC 3339 in UTC, e.g. `2026-12-02T20:39:28Z`.
    public var generatedAtText: String { JSONOutput.time(generatedAt) }

    /// The JSON form (`doctor --json`), with the conventions of every `--json` (`JSONOutput`):
    /// keys sorted and always present (`fix` is null when there is none).
    public func json() -> String {
        JSONOutput.render(
            [
                "host": host,
                "ok": !failed,
                "exit_status": Int(exitStatus),
                "summary": Dictionary(uniqueKeysWithValues: DoctorCheck.Status.allCases.map { ($0.rawValue, count($0)) }),
                "checks": checks.map { c -> [String: Any] in
                    [
                        "check": c.check, "subject": c.subject, "status": c.status.rawValue, "detail": c.detail,
                        "fix": JSONOutput.nullable(c.fix)
                    ]
                }
            ], schemaVersion: Self.schemaVersion, generatedAt: generatedAt)
    }

    public static func mark(_ status: DoctorCheck.Status) -> String {
        switch status {
        case .ok: "✓"
        case .warn: "!"
        case .fail: "✗"
        case .skip: "-"
        }
    }

    /// The table for people: one line per check (mark, check, subject, detail), the fix indented
    /// under each ✗ and !, then a summary line. `color`: ANSI colours on the marks (a terminal).
    public func table(color: Bool = false) -> String {
        let subjectWidth = min(40, checks.map(\.subject.count).max() ?? 0)
        let checkWidth = checks.map(\.check.count).max() ?? 0
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func painted(_ status: DoctorCheck.Status) -> String {
            guard color else { return Self.mark(status) }
            let code =
                switch status {
                case .ok: "32"
                case .warn: "33"
                case .fail: "31"
                case .skip: "2"
                }
            return "\u{1B}[\(code)m\(Self.mark(status))\u{1B}[0m"
        }
        var lines = ["dji-media-sync doctor on \(host) at \(generatedAtText)"]
        for c in checks {
            var subject = c.subject
            // A long path keeps its end (the distinguishing part); the full one is in --json.
            if subject.count > subjectWidth { subject = "…" + subject.suffix(subjectWidth - 1) }
            lines.append("\(painted(c.status)) \(pad(c.check, checkWidth))  \(pad(subject, subjectWidth))  \(c.detail)")
            if let fix = c.fix, c.status == .fail || c.status == .warn {
                for (i, line) in fix.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    lines.append((i == 0 ? "    fix: " : "         ") + line)
                }
            }
        }
        var summary = "\(count(.ok)) ok, \(count(.warn)) warning\(count(.warn) == 1 ? "" : "s"), \(count(.fail)) failed"
        if count(.skip) > 0 { summary += ", \(count(.skip)) not checked" }
        lines.append(summary + (failed ? " — fix the ✗ lines (docs/operations.md, \"Checking a set-up\")" : ""))
        return lines.joined(separator: "\n") + "\n"
    }
}
