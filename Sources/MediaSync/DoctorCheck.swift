import Foundation

/// One finding of `dji-media-sync doctor`: what was checked, on what, the verdict, what was seen,
/// and for a problem the concrete step that fixes it. The checks produce these; the rendering
/// (`DoctorReport`) never decides anything.
public struct DoctorCheck: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case ok
        /// Works, but something deserves attention (nearly full, optional permission missing).
        case warn
        /// Will not work: the daemon would fail on it. `doctor` exits 1.
        case fail
        /// Not checked, because an earlier check of the same subject failed (or it was not asked for).
        case skip
    }

    /// Stable identifier, e.g. `media_root.deletable`, `nas.host_key`, `s3.write_test`.
    public var check: String
    /// What it was checked on: a path, or a destination's name.
    public var subject: String
    public var status: Status
    /// What was found, in words (never a secret).
    public var detail: String
    /// For `fail` and `warn`: the command or edit that fixes it.
    public var fix: String?

    public init(_ check: String, subject: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.check = check
        self.subject = subject
        self.status = status
        self.detail = detail
        self.fix = fix
    }

    public static func ok(_ check: String, _ subject: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(check, subject: subject, .ok, detail)
    }

    public static func warn(_ check: String, _ subject: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(check, subject: subject, .warn, detail, fix: fix)
    }

    public static func fail(_ check: String, _ subject: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(check, subject: subject, .fail, detail, fix: fix)
    }

    /// The checks that could not run because `cause` failed before them.
    public static func skipped(_ checks: [String], _ subject: String, because cause: String) -> [DoctorCheck] {
        checks.map { DoctorCheck($0, subject: subject, .skip, "not checked: \(cause) failed") }
    }
}

/// All findings of one `doctor` run, rendered as a table or as JSON.
public struct DoctorReport: Sendable {
    /// Bumped when a key of the JSON form changes meaning or disappears (adding keys does not).
    public static let schemaVersion = 1

    public var checks: [DoctorCheck]
    public var generatedAt: Date
    public var host: String

    public init(checks: [DoctorCheck], generatedAt: Date = Date(), host: String) {
        self.checks = checks
        self.generatedAt = generatedAt
        self.host = host
    }

    public var failed: Bool { checks.contains { $0.status == .fail } }
    /// 0 when nothing failed (warnings allowed), 1 otherwise.
    public var exitStatus: Int32 { failed ? 1 : 0 }

    public func count(_ status: DoctorCheck.Status) -> Int { checks.filter { $0.status == status }.count }
}
