import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import SSHTransport
import Synchronization
import SystemPackage
import TestSupport
import Testing

/// Issue 14, 1: a large file cut by a lost connection keeps its temp on the NAS, and the next
/// attempt for the same version of the file sends only the rest; on any doubt it starts over.
/// Against the real test sshd; the connection is cut by killing the data session's ssh.
@Suite(.serialized) struct ResumeTests {
    static let size = 64 << 20

    struct Setup {
        var f: NASFixture
        let store: StateStore
        let path: FilePath
        var logger: Logger

        init(_ name: String, installed: Bool = false, script: String = ReceiverScript.text) async throws {
            f = try await NASFixture(name)
            if installed { try await f.useInstalledReceiver(busybox: true, script: script) }
            f.nas.resumeMinBytes = 1 << 20
            store = try f.store()
            path = try f.add("DJI_20250101000000_0001_V.MP4", size: ResumeTests.size, seed: 7)
            logger = Logger(label: "test", factory: { [logs = f.logs] _ in logs.handler() })
            logger.logLevel = .debug
        }

        func destination(keepSeconds: Double = 3600) throws -> NASDestination {
            var d = NASDestination(
                config: f.nas, integrity: f.config.integrity, concurrency: f.config.concurrency,
                runtimeDirectory: f.config.state.runtimeDirectory, instanceID: try store.instanceID())
            d.resumeKeepSeconds = keepSeconds
            return d
        }

        func item() throws -> TransferItem {
            TransferItem(
                id: 1, localPath: path, identity: try LocalFS.status(path).identity,
                remoteDirectory: "2025/01/01", remoteName: Array(path.lastComponent!.string.utf8))
        }

        var day: String { f.remoteBase + "/2025/01/01" }

        func temps() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: day)) ?? []).filter { $0.hasPrefix(".dms-") }
        }

        func tempSize() -> Int64 {
            temps().compactMap { try? LocalFS.status(FilePath(day + "/" + $0)).identity.size }.max() ?? 0
        }

        /// One attempt cut once `fraction` of the file went out and reached the NAS; returns the
        /// length the NAS holds then.
        func cutAttempt(at fraction: Double) async throws -> Int64 {
            let session = try await destination().connect(journal: store, progress: HeldStream(), logger: logger)
            let runtime = f.config.state.runtimeDirectory
            let counter = HeldStream(holdAt: Int64(Double(ResumeTests.size) * fraction))
            let killer = Task { [self] () -> Int64 in
                defer { counter.release() }
                try await waitUntil(timeout: .seconds(60), poll: .milliseconds(5), waitingFor: "the sender held, all it sent on the NAS") {
                    counter.held && tempSize() == counter.bytes
                }
                let seen = tempSize()
                // The data session's ssh: a multiplexed client on this fixture's control socket.
                let sessions = ProcessTree.descendants(of: getpid()).filter {
                    let command = StaleSessionTests.commandLine($0)
                    return command.contains("ControlMaster=no") && command.contains("ControlPath=\(runtime)/")
                }
                #expect(sessions.count == 1)
                for pid in sessions { kill(pid, SIGKILL) }
                return seen
            }
            let results = Mutex<[TransferResult]>([])
            let item = try item()
            do {
                try await session.transfer([item], progress: counter) { r in results.withLock { $0 += r } }
                Issue.record("the cut attempt did not fail: \(results.withLock { $0 })")
            } catch {
                #expect(error.kind.isConnectionLoss, "\(error)")
            }
            await session.close()
            let seen = try await killer.value
            #expect(seen >= Int64(Double(ResumeTests.size) * fraction))
            return seen
        }

        /// The next attempt: its bytes sent, and the outcome.
        func nextAttempt() async throws -> (sent: Int64, results: [TransferResult]) {
            let counter = HeldStream()
            let session = try await destination().connect(journal: store, progress: counter, logger: logger)
            let results = Mutex<[TransferResult]>([])
            try await session.transfer([try item()], progress: counter) { r in results.withLock { $0 += r } }
            await session.close()
            return (counter.bytes, results.withLock { $0 })
        }

        /// The published copy is the source, byte for byte, and nothing else is left.
        func expectPublishedCorrectly(_ results: [TransferResult]) throws {
            #expect(results.count == 1)
            guard case .placed? = results.first?.outcome else {
                Issue.record("not placed: \(results)")
                return
            }
            let copy = try FileIO.readWholeFile(FilePath(day + "/" + path.lastComponent!.string), limit: 1 << 30)
            #expect(sha(copy) == sha(try FileIO.readWholeFile(path, limit: 1 << 30)))
            #expect(temps().isEmpty, "\(temps())")
            #expect(try store.pending(destination: "nas").isEmpty)
        }

        func cleanUp() { f.cleanUp() }
    }

    func cutAndResume(at fraction: Double, installed: Bool) async throws {
        let s = try await Setup("resume-\(Int(fraction * 100))", installed: installed)
        defer { s.cleanUp() }
        let cut = try await s.cutAttempt(at: fraction)
        #expect(s.temps().count == 1, "the temp is kept")
        #expect(try s.store.resumable(destination: "nas").count == 1)
        let (sent, results) = try await s.nextAttempt()
        #expect(sent <= Int64(Self.size) - cut + Int64(Self.size) / 20, "sent \(sent) of \(Self.size) after a cut at \(cut)")
        #expect(sent < Int64(Self.size))
        #expect(results.first?.bytesSent == sent)
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("resumed the partial copy at byte") } })
        try s.expectPublishedCorrectly(results)
    }

    @Test func cutAtHalfResumesWithPerl() async throws { try await cutAndResume(at: 0.5, installed: false) }

    @Test func cutAt90PercentResumesUnderAnInstalledBusyBoxReceiver() async throws {
        try await cutAndResume(at: 0.9, installed: true)
    }

    /// A dms-receive installed before the resume verbs: nothing is kept, the file starts over,
    /// and the log says to reinstall it.
    @Test func anInstalledReceiverOlderThanTheResumeVerbsStartsOverAndKeepsNoTemp() async throws {
        let old = ReceiverTests.variant(#" resume tidy dx rmvm%s\n' "$H" "$P" "$F" "$B""#, #"\n' "$H" "$P" "$F""#)
        let s = try await Setup("resume-old-receiver", installed: true, script: old)
        defer { s.cleanUp() }
        _ = try await s.cutAttempt(at: 0.5)
        #expect(try s.store.resumable(destination: "nas").isEmpty)
        let (sent, results) = try await s.nextAttempt()
        #expect(sent == Int64(Self.size))
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("the installed dms-receive is older than this dji-media-sync") } })
        try s.expectPublishedCorrectly(results)
    }

    @Test func aSourceChangedBetweenAttemptsStartsOver() async throws {
        let s = try await Setup("resume-changed")
        defer { s.cleanUp() }
        _ = try await s.cutAttempt(at: 0.5)
        // Another version of the file under the same name (same size: only mtime/inode tell).
        try TestFiles.write(size: Self.size, seed: 8, to: s.path, modified: .secondsAgo(60))
        let (sent, results) = try await s.nextAttempt()
        #expect(sent == Int64(Self.size))
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("another version of the file") } })
        try s.expectPublishedCorrectly(results)
    }

    @Test func aTamperedTempOnTheNASStartsOver() async throws {
        let s = try await Setup("resume-tampered")
        defer { s.cleanUp() }
        let cut = try await s.cutAttempt(at: 0.5)
        guard let temp = s.temps().first else {
            Issue.record("no temp kept")
            return
        }
        // One byte inside the kept prefix changes on the NAS.
        let fd = open(s.day + "/" + temp, O_WRONLY)
        #expect(fd >= 0)
        var byte: UInt8 = 0x5A
        #expect(pwrite(fd, &byte, 1, off_t(cut / 2)) == 1)
        close(fd)
        let (sent, results) = try await s.nextAttempt()
        #expect(sent == Int64(Self.size))
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("differs from the file") } })
        try s.expectPublishedCorrectly(results)
    }

    @Test func aTempLongerThanTheFileStartsOver() async throws {
        let s = try await Setup("resume-longer")
        defer { s.cleanUp() }
        _ = try await s.cutAttempt(at: 0.5)
        guard let temp = s.temps().first else {
            Issue.record("no temp kept")
            return
        }
        #expect(truncate(s.day + "/" + temp, off_t(Self.size + 1)) == 0)
        let (sent, results) = try await s.nextAttempt()
        #expect(sent == Int64(Self.size))
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("longer") } })
        try s.expectPublishedCorrectly(results)
    }

    /// The reclaiming at connect leaves a recent kept temp alone, and removes it once old (or
    /// once resuming is off).
    @Test func reclaimingKeepsARecentResumableTempAndRemovesAnOldOne() async throws {
        var s = try await Setup("resume-reclaim")
        defer { s.cleanUp() }
        let id = try s.store.instanceID()
        let name = "2025/01/01/.dms-\(id)-kept.part"
        try s.f.putRemote(name, Array(repeating: 1, count: 1000))
        let remote = FilePath(s.f.remoteBase + "/" + name)
        try s.store.keepForResume(destination: "nas", path: remote, source: s.path, identity: try s.item().identity)
        // An ordinary leftover temp next to it is removed as ever.
        try s.f.putRemote("2025/01/01/.dms-\(id)-plain.part", [1])
        try s.store.record(destination: "nas", paths: [FilePath(s.f.remoteBase + "/2025/01/01/.dms-\(id)-plain.part")])

        let first = try await s.destination(keepSeconds: 3600).connect(journal: s.store, progress: HeldStream(), logger: s.logger)
        await first.close()
        #expect(s.temps() == [".dms-\(id)-kept.part"])
        #expect(try s.store.resumable(destination: "nas").map(\.path) == [remote])

        let second = try await s.destination(keepSeconds: 0).connect(journal: s.store, progress: HeldStream(), logger: s.logger)
        await second.close()
        #expect(s.temps().isEmpty)
        #expect(try s.store.pending(destination: "nas").isEmpty)

        // Resuming turned off: a kept temp is reclaimed at once.
        try s.f.putRemote(name, [1])
        try s.store.keepForResume(destination: "nas", path: remote, source: s.path, identity: try s.item().identity)
        s.f.nas.resumeMinBytes = 0
        let third = try await s.destination(keepSeconds: 3600).connect(journal: s.store, progress: HeldStream(), logger: s.logger)
        await third.close()
        #expect(s.temps().isEmpty)
        #expect(try s.store.pending(destination: "nas").isEmpty)
    }

    /// Through the engine, unchanged: a cycle whose data session is killed mid-file reconnects,
    /// and the reconnected session resumes the kept temp.
    @Test func aCycleReconnectsAndResumesTheCutFile() async throws {
        var s = try await Setup("resume-cycle")
        defer { s.cleanUp() }
        s.f.config.retryPolicy.baseDelaySeconds = 0
        s.f.config.retryPolicy.jitterFraction = 0
        let stream = HeldStream(holdAt: Int64(Self.size / 2))
        let setup = s
        let runtime = s.f.config.state.runtimeDirectory
        let killer = Task {
            defer { stream.release() }
            try await waitUntil(timeout: .seconds(60), poll: .milliseconds(5), waitingFor: "half of the file on the NAS") {
                stream.held && setup.tempSize() == stream.bytes
            }
            for pid in ProcessTree.descendants(of: getpid()) {
                let command = StaleSessionTests.commandLine(pid)
                if command.contains("ControlMaster=no") && command.contains("ControlPath=\(runtime)/") { kill(pid, SIGKILL) }
            }
        }
        let summary = try await s.f.cycle(observer: stream)
        try await killer.value
        #expect(summary.filesCopied == 1 && summary.failed == 0, "\(summary.messages)")
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("reconnecting in") } })
        #expect(s.f.logs.lines.withLock { $0.contains { $0.message.contains("resumed the partial copy at byte") } })
        let copy = try FileIO.readWholeFile(FilePath(s.day + "/" + s.path.lastComponent!.string), limit: 1 << 30)
        #expect(sha(copy) == sha(try FileIO.readWholeFile(s.path, limit: 1 << 30)))
        #expect(s.temps().isEmpty)
    }

    /// Only a lost connection keeps a temp: a copy that fails verification is removed.
    @Test func aFailedVerificationKeepsNoTemp() async throws {
        let s = try await Setup("resume-corrupt")
        defer { s.cleanUp() }
        var d = try s.destination()
        d.faultInjectionAfterExtract = "for t in 2025/01/01/.dms-*; do printf X >> \"$t\"; break; done"
        let session = try await d.connect(journal: s.store, progress: HeldStream(), logger: s.logger)
        let results = Mutex<[TransferResult]>([])
        try await session.transfer([try s.item()], progress: HeldStream()) { r in results.withLock { $0 += r } }
        await session.close()
        guard case let .failed(e)? = results.withLock({ $0.first?.outcome }) else {
            Issue.record("not failed")
            return
        }
        #expect(e.kind == .verificationFailed)
        #expect(s.temps().isEmpty)
        #expect(try s.store.resumable(destination: "nas").isEmpty)
    }
}
