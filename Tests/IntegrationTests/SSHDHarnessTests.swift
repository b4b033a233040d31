import Glibc
import TestSupport
import Testing

/// The test NAS itself: a real sshd on loopback that logs in `dms-nas` with /bin/sh as its shell.
@Suite("Test sshd harness")
struct SSHDHarnessTests {
    @Test("the shared server accepts a key login and runs commands with /bin/sh")
    func sharedServerLogsInWithSh() async throws {
        let server = try await TestSSHServer.shared()
        #expect(server.host == "127.0.0.1")
        #expect(server.user == "dms-nas")

        let result = try await server.runRemote(#"echo "$0"; id -un; echo "$SHELL""#)
        #expect(result.status.isSuccess, "ssh failed: \(result.status) \(result.standardError)")
        #expect(result.standardOutput == "sh\ndms-nas\n/bin/sh\n")
    }

    @Test("concurrent callers of shared() get the same server")
    func sharedIsStartedOnce() async throws {
        async let first = TestSSHServer.shared()
        async let second = TestSSHServer.shared()
        let (a, b) = try await (first, second)
        #expect(a.pid == b.pid)
        #expect(a.port == b.port)
    }

    @Test("a remote base is a fresh empty folder the NAS user can write")
    func remoteBaseIsEmptyAndWritable() async throws {
        let server = try await TestSSHServer.shared()
        let base = try server.makeRemoteBase(name: "harness")
        let other = try server.makeRemoteBase(name: "harness")
        #expect(base != other)
        #expect(base.hasPrefix(TestSSHServer.remoteBaseRoot + "/harness-"))

        let result = try await server.runRemote("cd '\(base)' && ls -A && touch written && ls -A")
        #expect(result.status.isSuccess, "ssh failed: \(result.status) \(result.standardError)")
        #expect(result.standardOutput == "written\n")

        var st = stat()
        #expect(stat(base + "/written", &st) == 0)
        #expect(getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) } == "dms-nas")
        try TemporaryDirectory.remove(path: base)
        try TemporaryDirectory.remove(path: other)
    }

    @Test("a private server stops, and its logins fail afterwards")
    func privateServerStops() async throws {
        // mkdtemp makes it 0700; the script opens it up so that sshd can read the keys as dms-nas.
        let state = try TemporaryDirectory(prefix: "dms-private-sshd")
        defer { try? state.remove() }
        let server = try await TestSSHServer.start(privateDirectory: state.path)
        let shared = try await TestSSHServer.shared()
        #expect(server.port != shared.port)
        #expect(try await server.runRemote("true").status.isSuccess)

        try await server.stop()
        #expect(access(state.path, F_OK) != 0, "stop removes a private server's folder (its keys, config and log)")
        let afterStop = try await server.runRemote("true")
        #expect(afterStop.status == .exited(255), "ssh after stop: \(afterStop.status)")
        #expect(try await shared.runRemote("true").status.isSuccess, "the shared server must be untouched")
    }

    @Test("waitUntil returns once the condition holds and throws TimedOut when it never does")
    func waitUntilPollsAndTimesOut() async throws {
        var calls = 0
        try await waitUntil(timeout: .seconds(5), poll: .milliseconds(1)) {
            calls += 1
            return calls == 3
        }
        #expect(calls == 3)

        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: TimedOut.self) {
            try await waitUntil(timeout: .milliseconds(50), waitingFor: "a condition that stays false") { false }
        }
        #expect(clock.now - start >= .milliseconds(50))
        #expect(error?.description.contains("a condition that stays false") == true)
    }
}
