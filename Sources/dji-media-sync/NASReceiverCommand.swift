import ArgumentParser
import Foundation
import SSHTransport

/// Prints dms-receive, the NAS side of the protocol, for installing it on the NAS as a forced
/// command (docs/nas-receiver.md). The text is the one the daemon itself sends in inline mode.
struct NASReceiverCommand: ParsableCommand {
    // No blank lines in the discussion: the man page is generated from it, and lintian refuses
    // empty roff input lines (CI failed on that).
    static let configuration = CommandConfiguration(
        commandName: "nas-receiver",
        abstract: "Print the NAS receiver script (dms-receive) for installing it on the NAS.",
        discussion: """
            Install it and name it as the forced command of the daemon's key in authorized_keys, then set the NAS \
            destination's "receiver" to "installed". Install it with:
              dji-media-sync nas-receiver | ssh admin@nas 'cat > /usr/local/bin/dms-receive && chmod 755 /usr/local/bin/dms-receive'
            and give the key this line in authorized_keys:
              command="/usr/local/bin/dms-receive --base /volume1/drone",restrict ssh-ed25519 AAAA… dji-media-sync
            Options of dms-receive: --base DIR (required), --allow-remove (retention may delete published copies), \
            --log FILE (refusals; default syslog, else DIR/.dms-receive.log), --temp-prefix/--temp-suffix (when the \
            config changes integrity_checks.temp_prefix/temp_suffix), --hash TOOL.
            """)

    func run() throws {
        FileHandle.standardOutput.write(Data(ReceiverScript.text.utf8))
    }
}
