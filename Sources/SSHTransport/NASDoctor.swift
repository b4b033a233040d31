import Foundation
import Glibc
import LocalFS
import Logging
import MediaSync
import SystemPackage

/// `doctor` for one NAS destination: the local key files, then the real connect path (the same
/// ssh arguments and receiver as a cycle), whose classified error says which stage failed.
/// It reclaims nothing (an empty temp journal) and writes nothing on the NAS.
extension NASDestination {
    /// The checks in order; a failed stage marks the later ones `skip`.
    public static let doctorCheckNames = [
        "ssh.identity_file", "ssh.known_hosts", "ssh.connect", "ssh.host_key", "ssh.login",
        "nas.base_path", "nas.tools", "nas.free_space"
    ]

    /// - Parameters:
    ///   - minFreeBytes: below this free space the daemon stops sending (storage_management); nil: not checked.
    ///   - usageWarning: the used fraction past which a warning is due (health.destination_usage_warning).
    /// Build the destination with a private `runtimeDirectory` (its control socket goes there):
    /// the doctor must not create the service's runtime folder as another user.
    public func doctorChecks(minFreeBytes: Int64?, usageWarning: Double, logger: Logger) async -> [DoctorCheck] {
        let subject = name
        var checks = [identityFileCheck(), knownHostsCheck()]
        if checks.contains(where: { $0.status == .fail }) {
            return checks + DoctorCheck.skipped(Array(Self.doctorCheckNames.dropFirst(2)), subject, because: "a local ssh file check")
        }
        let session: any DestinationSession
        do {
            session = try await connect(journal: DoctorJournal(), progress: DoctorProgress(), logger: logger)
        } catch {
            return checks + connectFailure(error)
        }
        checks += [
            .ok("ssh.connect", subject, "\(config.host):\(config.port) answered"),
            .ok("ssh.host_key", subject, "matches \(config.knownHostsFile)"),
            .ok("ssh.login", subject, "logged in as \(config.user ?? "the ssh default user")"),
            .ok("nas.base_path", subject, "\(config.basePath) exists and is writable")
        ]
        if let nas = session as? NASSession {
            let publisher = nas.receiver.perl ? "perl (link, no-clobber)" : "sh (mv -n; no perl on the NAS)"
            checks.append(
                .ok(
                    "nas.tools", subject,
                    "receiver \(config.receiver); SHA-256 with \(nas.receiver.hashTool); publish with \(publisher); "
                        + "hash while writing: \(nas.receiver.gnuTail ? "yes (GNU tail)" : "no (after writing)")"))
        }
        do {
            if let space = try await session.space() {
                checks.append(spaceCheck(space, minFreeBytes: minFreeBytes, usageWarning: usageWarning))
            } else {
                checks.append(
                    .warn(
                        "nas.free_space", subject, "`df -P -k` on the NAS gave no readable answer",
                        fix: "the space check and the usage alerts cannot work; check that `df -P -k .` works in base_path for the NAS user"))
            }
        } catch {
            checks.append(.fail("nas.free_space", subject, "\(error)", fix: "run `df -P -k \(config.basePath)` on the NAS as the ssh user"))
        }
        await session.close()
        return checks
    }

    var sshCommandLine: String {
        "ssh -p \(config.port)\(config.identityFile.map { " -i \($0)" } ?? "") -o UserKnownHostsFile=\(config.knownHostsFile) \(config.user.map { "\($0)@" } ?? "")\(config.host)"
    }

    func identityFileCheck() -> DoctorCheck {
        guard let file = config.identityFile else {
            return .ok("ssh.identity_file", name, "not set: ssh uses the default keys of \(LocalFS.effectiveUserDescription())")
        }
        // stat, not lstat: a key reached through a symlink is judged by the file ssh reads.
        var st = stat()
        do {
            guard stat(file, &st) == 0 else { throw LocalFSError("stat", path: file, errno: errno) }
            try LocalFS.checkAccess(FilePath(file), .read)
        } catch {
            return .fail(
                "ssh.identity_file", name, "\(error)",
                fix: "create the key (`sudo ssh-keygen -t ed25519 -N '' -f \(file)`) and install its .pub on the NAS (docs/nas-setup.md), or correct identity_file")
        }
        // ssh ignores a private key others can read ("UNPROTECTED PRIVATE KEY FILE"), but only one
        // owned by the user running it (OpenSSH's sshkey_perm_ok): the service's key is
        // root:dji-media-sync 0640, read through the group (docs/install.md).
        let mode = st.st_mode & 0o7777
        if st.st_uid == getuid() && mode & 0o077 != 0 {
            return .fail(
                "ssh.identity_file", name, "\(file) is accessible by group or others (mode \(String(mode, radix: 8))): ssh refuses to use it",
                fix: "`sudo chmod 600 \(file)`")
        }
        return .ok("ssh.identity_file", name, "\(file) readable, mode \(String(mode, radix: 8))")
    }

    func knownHostsCheck() -> DoctorCheck {
        do { try LocalFS.checkAccess(FilePath(config.knownHostsFile), .read) } catch {
            return .fail("ssh.known_hosts", name, "\(config.knownHostsFile): \(error)", fix: keyscanFix)
        }
        return .ok("ssh.known_hosts", name, "\(config.knownHostsFile) readable")
    }

    var keyscanFix: String {
        "`ssh-keyscan -p \(config.port) \(config.host) >> \(config.knownHostsFile)`, then compare `ssh-keygen -lf \(config.knownHostsFile)` with the NAS's own fingerprint (docs/nas-setup.md)"
    }

    /// The failed stage ✗, the stages before it ✓, the ones after it skipped.
    func connectFailure(_ error: DestinationError) -> [DoctorCheck] {
        let subject = name
        let names = Self.doctorCheckNames
        func failing(_ check: String, _ detail: String, fix: String) -> [DoctorCheck] {
            let index = names.firstIndex(of: check)!
            let passed: [DoctorCheck] = names[2..<index].map { passedCheck in
                switch passedCheck {
                case "ssh.connect": .ok(passedCheck, subject, "\(config.host):\(config.port) answered")
                case "ssh.host_key": .ok(passedCheck, subject, "matches \(config.knownHostsFile)")
                case "ssh.login": .ok(passedCheck, subject, "logged in as \(config.user ?? "the ssh default user")")
                default: .ok(passedCheck, subject, "\(config.basePath) exists and is writable")
                }
            }
            return passed + [.fail(check, subject, detail, fix: fix)]
                + DoctorCheck.skipped(Array(names[(index + 1)...]), subject, because: check)
        }
        let stderr = error.stderrTail ?? ""
        switch error.kind {
        case .hostKey where stderr.lowercased().contains("has changed"):
            // ssh names the fingerprint the NAS presented: to compare with the NAS's own.
            let presented = stderr.firstMatch(of: /SHA256:[A-Za-z0-9+\/]+/).map { " (it presented \($0.output))" } ?? ""
            return failing(
                "ssh.host_key", "the NAS's host key differs from the one in \(config.knownHostsFile)\(presented)",
                fix:
                    "find out why first (a reinstalled NAS, or someone in between); if legitimate: `ssh-keygen -R '[\(config.host)]:\(config.port)' -f \(config.knownHostsFile)`, then \(keyscanFix)"
            )
        case .hostKey:
            let said = stderr.split(separator: "\n").first { $0.contains("host key") }.map { ": ssh says \"\($0)\"" } ?? ""
            return failing("ssh.host_key", "\(config.knownHostsFile) has no key for \(config.host):\(config.port)\(said)", fix: keyscanFix)
        case .authentication:
            return failing(
                "ssh.login", "the NAS refused the key: \(error.stderrTail ?? error.message)",
                fix:
                    "append \(config.identityFile.map { "\($0).pub" } ?? "the public key") to ~\(config.user ?? "<user>")/.ssh/authorized_keys on the NAS (docs/nas-setup.md); check user; test with `\(sshCommandLine) true`"
            )
        case .misconfigured where error.remotePath == config.basePath:
            return failing(
                "nas.base_path", "\(config.basePath) does not exist or is not a folder on the NAS",
                fix: "create it (`\(sshCommandLine) mkdir -p \(config.basePath)`) or correct base_path; is the NAS volume mounted?")
        case .permanent where error.remotePath == config.basePath:
            return failing(
                "nas.base_path", "\(config.basePath) is not writable by \(config.user ?? "the ssh user")",
                fix: "give that user write permission on the folder (Synology: Control Panel → Shared Folder → Permissions; or `chown` it on the NAS)")
        case .misconfigured where error.message.contains("SHA-256"):
            return failing(
                "nas.tools", error.message,
                fix: "install sha256sum (coreutils) or openssl on the NAS, or set remote_hash_command to a tool it has (docs/nas-setup.md)")
        case .misconfigured:
            return failing("ssh.connect", error.description, fix: "install openssh-client, or correct ssh_command / ssh_config_file")
        case .unreachable, .timeout:
            return failing(
                "ssh.connect", "cannot reach \(config.host):\(config.port): \(error.stderrTail ?? error.message)",
                fix: "check host and port, that the NAS's SSH service is on (Synology: Control Panel → Terminal & SNMP), and firewalls; try `\(sshCommandLine) true`")
        default:
            return failing(
                "ssh.login", "logged in, but the NAS's shell did not answer as expected: \(error.description)",
                fix: "run `\(sshCommandLine) /bin/sh -c 'echo ok'` by hand: a login banner, a restricted shell or a forced command may be in the way")
        }
    }

    func spaceCheck(_ space: DestinationSpace, minFreeBytes: Int64?, usageWarning: Double) -> DoctorCheck {
        func gib(_ bytes: Int64) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        let detail = "\(gib(space.freeBytes)) free of \(gib(space.totalBytes)) (\(Int((space.usedFraction * 100).rounded())) % used)"
        if let minFreeBytes, space.freeBytes < minFreeBytes {
            return .warn(
                "nas.free_space", name, detail + ", below storage_management.min_free_space_gb (\(gib(minFreeBytes))): the daemon will not send",
                fix: "free space on the NAS, or enable retention (storage_management.enable_retention), or lower min_free_space_gb")
        }
        if space.usedFraction >= usageWarning {
            return .warn(
                "nas.free_space", name, detail + ", past health.destination_usage_warning",
                fix: "free space on the NAS or enable retention (storage_management)")
        }
        return .ok("nas.free_space", name, detail)
    }
}

/// The doctor reclaims no temp files: a running daemon owns its journal.
struct DoctorJournal: TempJournal {
    func record(destination: String, paths: [FilePath]) throws {}
    func forget(destination: String, paths: [FilePath]) throws {}
    func pending(destination: String) throws -> [FilePath] { [] }
}

struct DoctorProgress: TransferProgress {
    func fileStarted(_ item: TransferItem) {}
    func bytesMoved(_ count: Int) {}
}
