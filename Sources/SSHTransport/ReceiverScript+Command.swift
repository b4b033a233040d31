import Configuration

/// How a session starts the receiver: the ssh remote command for each kind of session.
extension ReceiverScript {
    public enum Kind: String, Sendable {
        /// The persistent request/answer session (probe, publish, verify, space, remove).
        case control
        /// One batch's stream of temp files, hashed after they are written.
        case data
        /// `restore`: published copies read back, many in one framed stream.
        case read
    }

    /// The ssh remote command that starts a session of `kind`.
    /// Installed: exactly what the receiver accepts in SSH_ORIGINAL_COMMAND (its options come from
    /// authorized_keys). Inline: the script itself, its options quoted, `$0` = dms-receive.
    static func remoteCommand(
        _ kind: Kind, nas: MediaSyncConfig.NAS, integrity: MediaSyncConfig.IntegrityChecks,
        shellPublisher: Bool = false, faultAfterWrite: String? = nil
    ) -> String {
        if nas.receiver == "installed" { return "dms-receive \(kind.rawValue)" }
        // Unrestricted: the key may run anything anyway, so retention may remove copies too.
        var options = ["--base", nas.basePath, "--allow-remove", "--allow-read", "--temp-prefix", integrity.tempPrefix, "--temp-suffix", integrity.tempSuffix]
        if nas.remoteHashCommand != "auto" { options += ["--hash", nas.remoteHashCommand] }
        if shellPublisher { options.append("--no-perl") }
        if let faultAfterWrite { options += ["--fault-after-write", faultAfterWrite] }
        return "sh -c \(ShellQuote.quoted(text)) dms-receive " + options.map(ShellQuote.quoted).joined(separator: " ") + " -- \(kind.rawValue)"
    }
}
