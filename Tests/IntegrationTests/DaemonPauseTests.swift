import Foundation
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `dji-media-sync pause` / `resume` against a running daemon: the CLI writes the state database,
/// the daemon notices at its next tick (no signal needed).
@Suite struct DaemonPauseTests {
    static func lastStatus(_ n: DaemonTests.Notifications) -> String { n.all.last { $0.hasPrefix("STATUS=") } ?? "" }

    @Test func pausedTheDaemonIgnoresSIGUSR1SaysSoAndATimedPauseEndsByItself() async throws {
        let s = try await CLITests.Setup("daemon-pause")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let (status, log) = try await DaemonTests.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle") { DaemonTests.occurrences("cycle finished", in: log()) == 1 }

            let pause = try await CLITests.run(["pause", "--config", s.configPath])
            #expect(pause.status == .exited(0))
            #expect(pause.out.contains("paused until `dji-media-sync resume`"), "\(pause.out)")
            try await waitUntil(timeout: .seconds(20), waitingFor: "STATUS=paused until resumed") {
                Self.lastStatus(n).hasPrefix("STATUS=paused until resumed (dji-media-sync resume) — last: 1 file")
            }
            #expect(log().contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c15"))
            try execution.send(signal: .userDefinedOne)
            try await waitUntil(timeout: .seconds(20), waitingFor: "SIGUSR1 logged and ignored") {
                log().contains("SIGUSR1 ignored: paused until resumed")
            }
            let shown = try await CLITests.run(["status", "--config", s.configPath])
            #expect(shown.out.contains("paused until `dji-media-sync resume`"), "\(shown.out)")

            // A timed pause replaces it, shows its end, and ends by itself.
            let timed = try await CLITests.run(["pause", "--for", "10s", "--config", s.configPath])
            #expect(timed.status == .exited(0))
            try await waitUntil(timeout: .seconds(20), waitingFor: "STATUS=paused until HH:mm") {
                Self.lastStatus(n).range(of: #"^STATUS=paused until [0-9]{2}:[0-9]{2} — last"#, options: .regularExpression) != nil
            }
            let shownTimed = try await CLITests.run(["status", "--config", s.configPath])
            #expect(shownTimed.out.range(of: #"paused until 20[0-9-]+T[0-9:]+Z"#, options: .regularExpression) != nil, "\(shownTimed.out)")
            try await waitUntil(timeout: .seconds(40), waitingFor: "the timed pause to end") { log().contains("the timed pause ended") }
            try await waitUntil(timeout: .seconds(20), waitingFor: "STATUS=idle") { Self.lastStatus(n).hasPrefix("STATUS=idle") }
            #expect(DaemonTests.occurrences("cycle started", in: log()) == 1, "no cycle starts while paused")
            let after = try await CLITests.run(["status", "--config", s.configPath])
            #expect(!after.out.contains("paused"), "\(after.out)")

            // Syncing goes on: SIGUSR1 starts a cycle again; pause and resume from the CLI.
            try execution.send(signal: .userDefinedOne)
            try await waitUntil(timeout: .seconds(30), waitingFor: "a second cycle") { DaemonTests.occurrences("cycle finished", in: log()) == 2 }
            _ = try await CLITests.run(["pause", "--config", s.configPath])
            try await waitUntil(timeout: .seconds(20), waitingFor: "paused again") { Self.lastStatus(n).hasPrefix("STATUS=paused") }
            let resume = try await CLITests.run(["resume", "--config", s.configPath])
            #expect(resume.out.hasPrefix("resumed"), "\(resume.out)")
            try await waitUntil(timeout: .seconds(20), waitingFor: "resumed") { log().contains("resumed: syncing goes on") }
            #expect(log().contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c16"))
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(DaemonTests.occurrences("cycle started", in: log) == 2)
    }

    /// Paused before the daemon starts (the pause is persisted): the first cycle, due at start,
    /// waits and starts at once when the pause ends.
    @Test func aCycleThatCameDueWhilePausedStartsWhenThePauseEnds() async throws {
        let s = try await CLITests.Setup("daemon-pause-start")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let pause = try await CLITests.run(["pause", "--config", s.configPath])
        #expect(pause.status == .exited(0))
        let (status, log) = try await DaemonTests.withDaemon(s, watchdogSeconds: 20) { execution, n, log in
            try await waitUntil(timeout: .seconds(20), waitingFor: "STATUS=paused") { Self.lastStatus(n).hasPrefix("STATUS=paused until resumed") }
            #expect(log().contains("paused until `dji-media-sync resume`: no cycle starts"))
            #expect(!log().contains("cycle started"))
            _ = try await CLITests.run(["resume", "--config", s.configPath])
            try await waitUntil(timeout: .seconds(30), waitingFor: "the due cycle") { DaemonTests.occurrences("cycle finished", in: log()) == 1 }
            #expect(s.remoteFiles().contains { $0.hasSuffix("DJI_20250101120000_0001_D.JPG") })
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
        #expect(DaemonTests.occurrences("cycle started", in: log) == 1)
    }

    @Test func aBadDurationIsRefused() async throws {
        let s = try await CLITests.Setup("pause-bad")
        defer { s.cleanUp() }
        let r = try await CLITests.run(["pause", "--for", "soon", "--config", s.configPath])
        #expect(r.status == .exited(64))
        #expect(r.err.contains("--for takes a duration"), "\(r.err)")
    }
}
