import Glibc
import LocalFS
import Subprocess
import Synchronization
import SystemPackage

/// A private OpenSSH sshd on 127.0.0.1 that plays the NAS, run by `scripts/test-sshd.sh`.
///
/// The remote user is `dms-nas`, whose login shell is `/bin/sh` (no rc files run per command).
/// Use ``shared()`` for the one server of the test process; tests that stop or kill the server use
/// their own with ``start(privateDirectory:)``. A missing sshd is an error, never a skip.
public struct TestSSHServer: Sendable {
    public let host: String
    public let port: Int
    public let user: String
    /// The client's private key (mode 0600, owned by root).
    public let identityFile: String
    /// A known_hosts file holding this server's host key for `[127.0.0.1]:port`.
    public let knownHostsFile: String
    /// The sshd listener's pid.
    public let pid: Int32
    /// The folder holding the server's keys, config, pid file and log (`sshd.log`).
    public let stateDirectory: String
    /// A private server (``start(privateDirectory:)``): ``stop()`` removes its folder too.
    let owned: Bool

    /// Where the shared server keeps its state: `$DMS_TEST_SSHD_DIR`, else /tmp/dms-test-sshd (kept
    /// running between `swift test` runs, so later runs reuse it). `scripts/test.sh` gives each run
    /// a folder of its own and stops that server when the run ends, so that runs going on side by
    /// side never stop each other's server.
    public static var sharedStateDirectory: String {
        getenv("DMS_TEST_SSHD_DIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? "/tmp/dms-test-sshd"
    }
    /// Parent of the folders ``makeRemoteBase(name:)`` creates.
    public static let remoteBaseRoot = "/tmp/dms-test-nas"
    static let sshdPath = "/usr/sbin/sshd"

    private static let sharedServer = Mutex<Task<TestSSHServer, any Error>?>(nil)

    /// The server shared by the whole test process: started on first use (or reused if one from an
    /// earlier run still answers logins); concurrent callers all get the same one. Starting it also
    /// stops private servers left behind by test processes that ended without stopping them.
    public static func shared() async throws -> TestSSHServer {
        let task = sharedServer.withLock { started in
            if let started { return started }
            let task = Task {
                _ = try await runScript(["reap"])
                return try await start(stateDirectory: sharedStateDirectory, owned: false)
            }
            started = task
            return task
        }
        return try await task.value
    }

    /// A server of the caller's own, with its state in `privateDirectory` (absolute; created if
    /// missing, e.g. a ``TemporaryDirectory``; the script makes it mode 0755 so that sshd can read
    /// the authorized keys as the remote user). Stop it with ``stop()``.
    ///
    /// The server records this process as its owner: if the process ends without stopping it (a
    /// crash), the next `scripts/test-sshd.sh reap` stops it, as long as the folder is in /tmp.
    public static func start(privateDirectory: String) async throws -> TestSSHServer {
        precondition(privateDirectory.hasPrefix("/"), "privateDirectory must be absolute")
        precondition(privateDirectory != sharedStateDirectory, "that is the shared server's directory")
        return try await start(stateDirectory: privateDirectory, owned: true)
    }

    /// Runs `body` with a private server in `directory`, and stops it (removing the folder) when
    /// `body` returns or throws: a `defer` cannot await the stop, and a detached one may never run.
    public static func withPrivateServer<T>(in directory: String, _ body: (TestSSHServer) async throws -> T) async throws -> T {
        let server = try await start(privateDirectory: directory)
        do {
            let result = try await body(server)
            try await server.stop()
            return result
        } catch {
            try? await server.stop()
            throw error
        }
    }

    /// Stops the server (SIGTERM, SIGKILL after a bound) and drops its open connections; a private
    /// server's folder (its keys, config and log) is removed with it. Never call this on the shared
    /// server.
    public func stop() async throws {
        _ = try await Self.runScript(["stop", stateDirectory])
        if owned { try TemporaryDirectory.remove(path: stateDirectory) }
    }

    /// The ssh client options that log in to this server, as dji-media-sync and rsync use them.
    public var sshOptions: [String] {
        [
            "-F", "none", "-p", String(port), "-i", identityFile,
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(knownHostsFile)", "-o", "LogLevel=ERROR"
        ]
    }

    /// `user@host`, the ssh destination.
    public var destination: String { "\(user)@\(host)" }

    /// The outcome of one remote command.
    public struct RemoteResult: Sendable {
        public let status: TerminationStatus
        public let standardOutput: String
        public let standardError: String
    }

    /// Runs `command` through the remote user's login shell over a new ssh connection (for checking
    /// remote state in tests; the command string goes to the remote shell as it is).
    public func runRemote(_ command: String) async throws -> RemoteResult {
        let result = try await Subprocess.run(
            .name("ssh"),
            arguments: Arguments(sshOptions + ["--", destination, command]),
            output: .string(limit: 1 << 20),
            error: .string(limit: 1 << 20)
        )
        return RemoteResult(
            status: result.terminationStatus,
            standardOutput: result.standardOutput,
            standardError: result.standardError)
    }

    /// Creates a fresh, empty folder `/tmp/dms-test-nas/<name>-XXXXXX` owned by the remote user
    /// (mode 0755) and returns its absolute path: a NAS base path for one test.
    public func makeRemoteBase(name: String) throws -> String {
        precondition(!name.isEmpty && !name.contains("/"), "name must be a single name component")
        let root = FilePath(Self.remoteBaseRoot)
        try LocalFS.createDirectories(root)
        guard chmod(Self.remoteBaseRoot, 0o755) == 0 else {
            throw LocalFSError("chmod", path: root, errno: errno)
        }
        let path = try TemporaryDirectory.makeUniqueDirectory("\(Self.remoteBaseRoot)/\(name)-XXXXXX")
        let (uid, gid) = try Self.userIDs(user)
        guard chown(path, uid, gid) == 0 else { throw LocalFSError("chown to \(user)", path: path, errno: errno) }
        guard chmod(path, 0o755) == 0 else { throw LocalFSError("chmod", path: path, errno: errno) }
        return path
    }

    // MARK: - Starting

    private static func start(stateDirectory: String, owned: Bool) async throws -> TestSSHServer {
        // Tests write to ssh pipes: when a server goes away, that must be EPIPE, not a process
        // killed by SIGPIPE without a word (what dji-media-sync itself does at start-up).
        LocalFS.ignoreSIGPIPE()
        guard access(sshdPath, X_OK) == 0 else {
            throw TestSupportError(
                "openssh-server is not installed (\(sshdPath) is missing); the tests need a real sshd: "
                    + "run scripts/install-deps.sh as root")
        }
        let output = try await runScript(
            ["start", stateDirectory], ownerPID: owned ? getpid() : nil)
        let env = ScriptEnvironment(output: output, script: "scripts/test-sshd.sh")
        func value(_ key: String) throws -> String { try env.value(key) }
        guard let port = Int(try value("DMS_SSH_PORT")), let pid = Int32(try value("DMS_SSHD_PID")) else {
            throw TestSupportError("scripts/test-sshd.sh start printed a bad port or pid:\n\(output)")
        }
        return TestSSHServer(
            host: try value("DMS_SSH_HOST"), port: port, user: try value("DMS_SSH_USER"),
            identityFile: try value("DMS_SSH_KEY"), knownHostsFile: try value("DMS_SSH_KNOWN_HOSTS"),
            pid: pid, stateDirectory: stateDirectory, owned: owned)
    }

    /// Runs `scripts/test-sshd.sh <arguments>`; returns its standard output, or throws with its
    /// exit status and standard error.
    private static func runScript(_ arguments: [String], ownerPID: pid_t? = nil) async throws -> String {
        try await runRepositoryScript(
            "test-sshd.sh", arguments,
            environment: ownerPID.map { ["DMS_SSHD_OWNER_PID": String($0)] } ?? [:])
    }

    private static func userIDs(_ name: String) throws -> (uid_t, gid_t) {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else {
            throw TestSupportError("no user \(name) (getpwnam_r: \(rc)); scripts/test-sshd.sh start creates it")
        }
        return (entry.pw_uid, entry.pw_gid)
    }
}
