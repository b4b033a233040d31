import Glibc
import LocalFS
import Subprocess
import SystemPackage

/// Keys whose authorized_keys line runs a forced command (`command="…",restrict`), as a NAS
/// admin installs dms-receive. scripts/test-sshd.sh names `authorized_keys_forced` in the
/// server's AuthorizedKeysFile; sshd reads it at every login, so keys added here work at once.
extension TestSSHServer {
    /// Generates a new client key in `directory` (absolute, existing) and authorizes it on this
    /// server with `command` as its forced command. Returns the private key's path.
    public func addForcedCommandKey(command: String, in directory: String) async throws -> String {
        precondition(!command.contains("\"") && !command.contains("\n"), "a forced command is one line without double quotes")
        let key = directory + "/forced_key"
        let generated = try await Subprocess.run(
            .name("ssh-keygen"), arguments: ["-q", "-t", "ed25519", "-N", "", "-C", "dms-test forced", "-f", key],
            output: .discarded, error: .string(limit: 4096))
        guard generated.terminationStatus.isSuccess else {
            throw TestSupportError("ssh-keygen failed: \(generated.standardError)")
        }
        let publicKey = try FileIO.readWholeFile(FilePath(key + ".pub"), limit: 4096)
        let line = Array("command=\"\(command)\",restrict ".utf8) + publicKey.filter { $0 != 0x0A } + [0x0A]
        // One append of a whole line: tests adding keys side by side never interleave.
        let file = stateDirectory + "/authorized_keys_forced"
        let fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else {
            throw LocalFSError("open (restart the test sshd: scripts/test-sshd.sh stop DIR)", path: FilePath(file), errno: errno)
        }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw LocalFSError("append", path: FilePath(file), errno: errno) }
        return key
    }

    /// A folder of BusyBox applet links (sh, dd, sha256sum, stat, …), for running the NAS side
    /// with BusyBox tools only, as on NAS firmware that has nothing else.
    public static func busyboxApplets() async throws -> String { try await appletsInstalled.value }

    private static let appletsInstalled = Task { () async throws -> String in
        let dir = remoteBaseRoot + "/busybox-bin"
        if access(dir + "/sh", X_OK) == 0 { return dir }
        guard access("/bin/busybox", X_OK) == 0 else {
            throw TestSupportError("busybox is not installed; the receiver's BusyBox tests need it: run scripts/install-deps.sh as root")
        }
        try LocalFS.createDirectories(FilePath(dir))
        _ = chmod(remoteBaseRoot, 0o755)
        _ = chmod(dir, 0o755)
        let installed = try await Subprocess.run(
            .path("/bin/busybox"), arguments: ["--install", "-s", dir],
            output: .discarded, error: .string(limit: 4096))
        guard installed.terminationStatus.isSuccess, access(dir + "/sh", X_OK) == 0 else {
            throw TestSupportError("busybox --install -s \(dir) failed: \(installed.standardError)")
        }
        return dir
    }
}
