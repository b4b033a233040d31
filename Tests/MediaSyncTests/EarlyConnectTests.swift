import Foundation
import LocalFS
import MediaSync
import TestSupport
import Testing

/// `connectEarly` (sync --once, SIGUSR1, new media): the cycle connects while it scans and plans.
/// The outcome must be the one of connecting late: the same copies, one session per destination,
/// every session closed, and an unreachable destination reported only if the cycle needed it.
@Suite struct EarlyConnectTests {
    func cycle(_ f: inout ScriptedFixture, early: Bool) async -> CycleSummary {
        f.epoch += 1
        for r in f.remotes { r.epoch = f.epoch }
        var engine = f.engine()
        engine.connectEarly = early
        return await engine.runCycle()
    }

    @Test func withWorkTheEarlySessionIsTheOneThatCopiesAndItIsClosed() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "cloud"])
        defer { f.cleanUp() }
        for i in 0..<5 { try f.add("DJI_000\(i).JPG", bytes: [UInt8](repeating: UInt8(i), count: 100 + i)) }
        let s = await cycle(&f, early: true)
        #expect(s.status == .ok && s.filesCopied == 10, "\(s.messages)")
        for r in f.remotes {
            #expect(r.callCount(.connect) == 1, "\(r.name): one connection, taken by the cycle")
            #expect(r.sessionCounts.opened == 1 && r.sessionCounts.closed == 1, "\(r.name): \(r.sessionCounts)")
            #expect(r.finalFiles().count == 5)
        }
    }

    @Test func withNothingToDoTheEarlySessionsAreClosedUnusedAndAFailureIsNotReported() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "cloud"])
        defer { f.cleanUp() }
        try f.add("DJI_0001.JPG", bytes: [1, 2, 3])
        #expect(await cycle(&f, early: false).filesCopied == 2)
        #expect(await cycle(&f, early: false).deleted == 1) // (the source, verified on both)
        let before = f.remote("nas").sessionCounts
        // In sync: connected early all the same, then closed; the unreachable one is not news.
        f.remote("cloud").on(.connect, .fail(DestinationError(.unreachable, "connection refused")))
        let s = await cycle(&f, early: true)
        #expect(s.status == .ok && s.unavailableDestinations.isEmpty, "\(s.messages)")
        #expect(Set(s.destinationsInSync) == ["nas", "cloud"])
        #expect(f.remote("nas").callCount(.transfer, epoch: f.epoch) == 0)
        let after = f.remote("nas").sessionCounts
        #expect(after.opened == before.opened + 1 && after.closed == before.closed + 1, "\(before) → \(after)")
        // Late (a timer tick), nothing to do: no connection at all.
        let s2 = await cycle(&f, early: false)
        #expect(s2.status == .ok && f.remote("nas").sessionCounts == after)
    }

    @Test func aDestinationThatFailedEarlyIsUnavailableWhenItWasNeeded() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "cloud"])
        defer { f.cleanUp() }
        try f.add("DJI_0001.JPG", bytes: [1, 2, 3])
        f.remote("cloud").on(.connect, .fail(DestinationError(.unreachable, "connection refused")))
        let s = await cycle(&f, early: true)
        #expect(s.unavailableDestinations == ["cloud"] && s.unavailableKinds["cloud"] == .unreachable, "\(s.messages)")
        #expect(s.status == .partial && s.filesCopied == 1)
        #expect(f.remote("nas").finalFiles().count == 1 && f.remote("cloud").finalFiles().isEmpty)
        #expect(f.remote("cloud").callCount(.connect) == 1, "not tried again: the early failure is the cycle's")
        #expect(f.remote("nas").sessionCounts.opened == f.remote("nas").sessionCounts.closed)
    }
}
