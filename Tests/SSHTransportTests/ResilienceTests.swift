import Configuration
import Foundation
import Glibc
import LocalFS
import SSHTransport
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

@Suite struct ResilienceTests {
    @Test func aPermanentErrorQuarantinesTheFileUntilItIsReleased() async throws {
        var f = try await NASFixture("quarantine")
        defer { f.cleanUp() }
        f.config.retryPolicy.baseDelaySeconds = 0
        try f.add("DJI_20250101000000_0001_D.JPG", size: 1000)
        // The day folder exists but belongs to someone else: the NAS user cannot write there.
        let day = f.remoteBase + "/2025/01/01"
        try LocalFS.createDirectories(FilePath(day))
        _ = chmod(f.remoteBase + "/2025", 0o755)
        _ = chmod(day, 0o755)
        let first = try await f.cycle()
        #expect(first.failed == 1)
        #expect(first.quarantined == 1)
        #expect(f.logs.contains(.fileQuarantined))
        #expect(f.logs.messages(.fileFailed).first?.contains("permanent") == true)
        // Quarantined: not tried again, however often cycles run.
        let second = try await f.cycle()
        #expect(second.failed == 0 && second.filesCopied == 0 && second.deferred == 1)
        // The operator fixes the folder and releases the file.
        guard let pw = getpwnam(f.server.user) else {
            Issue.record("no NAS user")
            return
        }
        _ = chown(f.remoteBase + "/2025", pw.pointee.pw_uid, pw.pointee.pw_gid)
        _ = chown(day, pw.pointee.pw_uid, pw.pointee.pw_gid)
        #expect(try f.store().releaseFailures() == 1)
        let third = try await f.cycle()
        #expect(third.filesCopied == 1)
        #expect(try f.store().failures().isEmpty)
    }

    /// Issue 11, 11: an ssh killed by a signal (OOM killer, an operator) lost the session; that is
    /// a connection problem, never the file's (8 in a row nearly quarantined one).
    @Test func anSSHKilledByASignalIsAConnectionLossNotChargedToTheFile() async throws {
        var f = try await NASFixture("ssh-killed")
        defer { f.cleanUp() }
        f.oneTransferAtATime()
        try f.add("DJI_20250101000000_0001_V.MP4", size: 60_000_000, seed: 1)
        // The sender is held at 8 MB until the session is killed: the kill lands mid-stream.
        // (A paced stream raced the killer: under load it once lost, and the file was "present".)
        let stream = HeldStream(holdAt: 8_000_000)
        let fixture = f
        let base = f.remoteBase
        let killer = Task {
            defer { stream.release() }
            try await waitUntil(timeout: .seconds(60), poll: .milliseconds(5), waitingFor: "the sender held, a temp file") {
                stream.held && (try? fixture.remoteNames())?.contains { $0.contains("/.dms-") } == true
            }
            // The data session's ssh (a multiplexed client whose command extracts into our base).
            let sessions = ProcessTree.descendants(of: getpid()).filter { pid in
                let argv = (try? FileIO.readWholeFile(FilePath("/proc/\(pid)/cmdline"), limit: 1 << 20)) ?? []
                let text = String(decoding: argv.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
                return text.contains("ControlMaster=no") && text.contains(base)
            }
            #expect(sessions.count == 1)
            #expect(try !fixture.remoteNames().contains { $0.hasSuffix("/DJI_20250101000000_0001_V.MP4") }, "killed mid-stream")
            for pid in sessions { kill(pid, SIGKILL) }
        }
        let summary = try await f.cycle(observer: stream)
        try await killer.value
        #expect(summary.failed == 0 && summary.filesAlreadyPresent == 0, "\(summary.messages)")
        #expect(summary.filesCopied == 1, "reconnected and copied: \(summary.messages)")
        #expect(try f.store().failures().isEmpty, "a lost session is not charged to the file")
        #expect(f.logs.lines.withLock { $0.contains { $0.message.contains("reconnecting in") } })
        #expect(!(try f.remoteNames()).contains { $0.contains(".dms-") })
    }

    @Test func aNASThatDiesMidTransferAndComesBackCompletesTheCycleAfterABackoff() async throws {
        let dir = "/tmp/dms-test-sshd-restart-\(getpid())"
        try await TestSSHServer.withPrivateServer(in: dir) { nas in
            var f = try await NASFixture("restart", server: nas)
            defer { f.cleanUp() }
            f.config.retryPolicy.baseDelaySeconds = 1
            f.config.retryPolicy.jitterFraction = 0
            f.config.concurrency.parallelTransfers = 1
            f.config.concurrency.batchMaxMegabytes = 64
            for i in 0..<4 { try f.add("DJI_2025010100000\(i)_000\(i)_V.MP4", size: 60_000_000, seed: UInt64(i)) }
            // The sender is held at 30 MB (inside the first file) until the NAS is killed.
            let stream = HeldStream(holdAt: 30_000_000)
            let fixture = f
            let killer = Task {
                defer { stream.release() }
                // Once the first batch is streaming, kill the NAS's sshd (listener and sessions) …
                try await waitUntil(timeout: .seconds(60), poll: .milliseconds(5), waitingFor: "the sender held, a temp file") {
                    stream.held && (try? fixture.remoteNames())?.contains { $0.contains("/.dms-") } == true
                }
                let sessions = ProcessTree.descendants(of: nas.pid)
                kill(nas.pid, SIGKILL)
                for pid in sessions { kill(pid, SIGKILL) }
                // … and bring it back on the same port with the same host key.
                let sshd = Process()
                sshd.executableURL = URL(fileURLWithPath: "/usr/sbin/sshd")
                sshd.arguments = ["-f", dir + "/sshd_config", "-E", dir + "/sshd.log"]
                try sshd.run()
                sshd.waitUntilExit()
            }
            let summary = try await f.cycle(observer: stream)
            try await killer.value
            #expect(summary.filesCopied == 4, "\(summary.messages)")
            #expect(summary.failed == 0)
            #expect(f.logs.lines.withLock { $0.contains { $0.message.contains("reconnecting in") } })
            let remote = try f.remoteNames()
            #expect(remote.count == 4)
            #expect(!remote.contains { $0.contains(".dms-") }, "no temp file is left behind")
        }
    }
}
