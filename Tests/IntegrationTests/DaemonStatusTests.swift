import Foundation
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `status` while the daemon is in a cycle shows that cycle's live progress.
@Suite struct DaemonStatusTests {
    @Test func statusOfARunningDaemonShowsTheCyclesLiveProgress() async throws {
        let s = try await CLITests.Setup("daemon-status")
        defer { s.cleanUp() }
        // 6 MB at 1 MB/s: a cycle that lasts long enough to be asked about.
        try s.set("concurrency_control", "bandwidth_limit_bytes_per_second", 1_000_000)
        try TestFiles.write(TestFiles.pseudoRandomBytes(count: 6_000_000, seed: 3), to: s.source.appending("DJI_20250101120000_0001_V.MP4"), modified: .secondsAgo(3600))

        let (status, _) = try await DaemonTests.withDaemon(s, watchdogSeconds: 20) { execution, _, log in
            var running: [String: Any] = [:]
            try await waitUntil(timeout: .seconds(30), poll: .milliseconds(200), waitingFor: "status --json with bytes moving") {
                let r = try await CLITests.run(["status", "--json", "--config", s.configPath])
                let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
                running = o?["running"] as? [String: Any] ?? [:]
                return (running["bytes_done"] as? Int ?? 0) > 0
            }
            #expect(running["files_total"] as? Int == 1)
            #expect(running["bytes_total"] as? Int == 6_000_000)
            #expect((running["current_file"] as? String)?.hasSuffix("DJI_20250101120000_0001_V.MP4") == true, "\(running)")
            let text = try await CLITests.run(["status", "--config", s.configPath])
            #expect(text.out.range(of: #"running: a cycle since .*: 0/1 files, .* MB/6.0 MB, .*/s, ETA"#, options: .regularExpression) != nil, "\(text.out)")

            try await waitUntil(timeout: .seconds(60), waitingFor: "the cycle to end") { DaemonTests.occurrences("cycle finished", in: log()) == 1 }
            let after = try await CLITests.run(["status", "--json", "--config", s.configPath])
            let o = try JSONSerialization.jsonObject(with: Data(after.out.utf8)) as? [String: Any]
            #expect(o?["running"] is NSNull, "\(after.out)")
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0))
    }
}
