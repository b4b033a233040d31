import Foundation
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `sync --once` on a real terminal (a tmux pane): the progress block is redrawn in place under
/// the log lines, and no log line ever shares a screen line with it.
@Suite struct TerminalViewTests {
    static let logLine = try! NSRegularExpression(pattern: #"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z (trace|debug|info|notice|warning|error|critical)"#)

    static func tmux(_ arguments: [String]) async throws -> String {
        let r = try await Subprocess.run(.name("tmux"), arguments: Arguments(arguments), output: .string(limit: 1 << 22), error: .string(limit: 1 << 16))
        guard r.terminationStatus.isSuccess else { throw TestSupportError("tmux \(arguments.joined(separator: " ")): \(r.standardError)") }
        return r.standardOutput
    }

    /// Lines where a log line does not start the line (something was drawn before it on that line).
    static func garbled(_ screen: String) -> [String] {
        screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { line in
            let range = NSRange(line.startIndex..., in: line)
            guard let match = logLine.firstMatch(in: line, range: range) else { return false }
            return match.range.location != 0 || logLine.numberOfMatches(in: line, range: range) > 1
        }
    }

    @Test func theProgressBlockIsRedrawnUnderTheLogLinesAndNeverThroughThem() async throws {
        let s = try await CLITests.Setup("terminal-view")
        defer { s.cleanUp() }
        // Slow enough to be seen: 8 × 400 kB at 1 MB/s, one file per batch so that log lines
        // arrive while the block is shown.
        try s.set("concurrency_control", "bandwidth_limit_bytes_per_second", 1_000_000)
        try s.set("concurrency_control", "batch_max_files", 1)
        for i in 1...8 {
            try TestFiles.write(
                TestFiles.pseudoRandomBytes(count: 400_000, seed: UInt64(i)),
                to: s.source.appending("DJI_20250101120000_000\(i)_D.JPG"), modified: .secondsAgo(3600))
        }
        let session = "dms-tv-\(getpid())"
        // `exec cat`: the pane stays open (waiting for input) for its screen to be read; kill-session ends it.
        let command = "\(try CLITests.binary()) sync --once --config \(s.configPath); echo \"EXIT=$?\"; exec cat"
        _ = try await Self.tmux(["new-session", "-d", "-s", session, "-x", "110", "-y", "30", command])
        defer { _ = Task { _ = try? await Self.tmux(["kill-session", "-t", session]) } }

        // While it runs: the block is the bottom of the screen, below every log line.
        var snapshots = 0
        try await waitUntil(timeout: .seconds(60), poll: .milliseconds(100), waitingFor: "the run to end") {
            let screen = (try? await Self.tmux(["capture-pane", "-p", "-t", session])) ?? ""
            if screen.contains("EXIT=") { return true }
            let lines = screen.split(separator: "\n").map(String.init)
            if let block = lines.lastIndex(where: { $0.hasPrefix("Transferred: ") }) {
                snapshots += 1
                #expect(Self.garbled(screen).isEmpty, "\(screen)")
                #expect(
                    !lines[block...].contains { Self.logLine.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil },
                    "a log line below or inside the block:\n\(screen)")
                #expect(lines[block].range(of: #"^Transferred: [0-9]/8 files, .* \([0-9]+%\), .*/s, ETA "#, options: .regularExpression) != nil, "\(lines[block])")
            }
            return false
        }
        #expect(snapshots > 0, "the progress block was never seen")
        // Afterwards: the whole scrollback has intact log lines, no leftover block, the summary.
        let all = try await Self.tmux(["capture-pane", "-p", "-S", "-", "-E", "-", "-t", session])
        #expect(Self.garbled(all).isEmpty, "\(all)")
        #expect(!all.contains("Transferred:"), "the block is cleared at the end:\n\(all)")
        #expect(all.contains("EXIT=0"), "\(all)")
        #expect(all.contains("copied:          8 files"), "\(all)")
        #expect(s.remoteFiles().count == 8)
    }

    @Test func quietPrintsOnlyErrorsAndVerboseAddsDebugLines() async throws {
        let s = try await CLITests.Setup("verbosity")
        defer { s.cleanUp() }
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0001_D.JPG"), modified: .secondsAgo(3600))
        let quiet = try await CLITests.run(["sync", "--once", "-q", "--config", s.configPath])
        #expect(quiet.status == .exited(0))
        #expect(!quiet.err.contains(" info "), "\(quiet.err)")
        #expect(quiet.out.contains("copied:          1 file"), "the summary is the command's output, -q or not")
        try TestFiles.write(size: 1000, to: s.source.appending("DJI_20250101120000_0002_D.JPG"), modified: .secondsAgo(3600))
        let verbose = try await CLITests.run(["sync", "--once", "-v", "--config", s.configPath])
        #expect(verbose.err.contains(" debug "), "\(verbose.err)")
        #expect(!verbose.err.contains(" trace "), "\(verbose.err)")
        let both = try await CLITests.run(["sync", "--once", "-q", "-v", "--config", s.configPath])
        #expect(both.status == .exited(64))
        #expect(both.err.contains("-q and -v contradict each other"), "\(both.err)")
    }
}
