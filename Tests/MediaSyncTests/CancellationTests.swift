import Configuration
import Foundation
import LocalFS
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// A stop (SIGTERM, `max_sync_duration_seconds`: both cancel the cycle's task) gets through every
/// phase of a cycle, promptly, and leaves nothing half-recorded: the cycle is recorded aborted,
/// the ledger holds exactly the copies that were verified, the queue deletes nothing unverified.
@Suite struct CancellationTests {
    /// Cancels the cycle's task when the cycle enters `phase`.
    final class StopAt: CycleObserver {
        let phase: String
        let task = Mutex<Task<CycleSummary, Never>?>(nil)
        let seen = Mutex<[String]>([])
        /// When the stop was sent: what a stop takes is measured from here.
        let stoppedAt = Mutex<ContinuousClock.Instant?>(nil)
        init(_ phase: String) { self.phase = phase }
        func phase(_ text: String) {
            seen.withLock { $0.append(text) }
            guard text.hasPrefix(phase), let task = task.withLock({ $0 }) else { return }
            stoppedAt.withLock { $0 = $0 ?? .now }
            task.cancel()
        }
        func fileStarted(_ item: TransferItem) {}
        func bytesMoved(_ count: Int) {}
    }

    /// Runs a cycle that is stopped at `phase`; returns its summary, how long the stop took (from
    /// the stop to the cycle's end: the time before it is the machine's, not the stop's) and the
    /// phases seen.
    static func stoppedCycle(_ f: ScriptedFixture, at phase: String) async throws -> (CycleSummary, Duration, [String]) {
        let observer = StopAt(phase)
        let engine = f.engine()
        // The cycle starts only once its task is stored: the observer then cancels it the moment
        // the phase begins, never a phase later (under load, a scan once ended before the test
        // thread could cancel it).
        let (stored, storing) = AsyncStream<Never>.makeStream()
        let task = Task {
            for await _ in stored {}
            return await engine.runCycle(observer: observer)
        }
        observer.task.withLock { $0 = task }
        storing.finish()
        let summary = await task.value
        let took = observer.stoppedAt.withLock { $0 }.map { ContinuousClock.now - $0 } ?? .seconds(3600) // never stopped
        return (summary, took, observer.seen.withLock { $0 })
    }

    static func lastCycleStatus(_ store: StateStore) throws -> String? { try store.recentCycles(limit: 1).first?.status }

    @Test func aStopDuringTheScanOfAManyFileTreeEndsTheCycle() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        for i in 0..<1000 { _ = try f.add("d\(i % 30)/IMG_\(i).JPG", bytes: [UInt8(i & 0xff)]) }
        let (summary, took, seen) = try await Self.stoppedCycle(f, at: "scanning")
        #expect(summary.status == .cancelled)
        #expect(took < .seconds(5))
        #expect(!seen.contains("planning"))
        #expect(f.remote("nas").callCount(.connect) == 0)
        #expect(try Self.lastCycleStatus(f.store) == "cancelled")
        #expect(try f.store.ledgerEntries().isEmpty)
        _ = await f.cycle() // and the next cycle does it all
        #expect(try f.store.ledgerEntries(limit: 10_000).count == 1000)
    }

    @Test func aStopDuringPlanningEndsTheCycleBeforeAnyConnection() async throws {
        let f = try ScriptedFixture()
        defer { f.cleanUp() }
        for i in 0..<200 { _ = try f.add("IMG_\(i).JPG", bytes: [UInt8(i & 0xff)]) }
        let (summary, took, seen) = try await Self.stoppedCycle(f, at: "planning")
        #expect(summary.status == .cancelled)
        #expect(took < .seconds(5))
        #expect(!seen.contains("connecting"))
        #expect(f.remote("nas").callCount(.connect) == 0)
        #expect(try f.store.ledgerEntries().isEmpty)
    }

    /// Starts a cycle, waits until `nas` was called `count` times for `kind` (the call that
    /// stalls), then stops it as SIGTERM does.
    static func stopWhenStalled(_ f: ScriptedFixture, _ kind: ScriptedCall.Kind, count: Int) async throws -> CycleSummary {
        let nas = f.remote("nas")
        let before = nas.callCount(kind)
        let engine = f.engine()
        let task = Task { await engine.runCycle() }
        try await waitUntil(timeout: .seconds(20), waitingFor: "the \(kind) call to stall") { nas.callCount(kind) >= before + count }
        task.cancel()
        return await task.value
    }

    @Test func aStopDuringTransfersKeepsExactlyTheVerifiedCopiesRecorded() async throws {
        var f = try ScriptedFixture()
        f.batchSize = 2
        defer { f.cleanUp() }
        for i in 0..<6 { _ = try f.add("IMG_\(i).JPG", bytes: Array("photo \(i)".utf8)) }
        let nas = f.remote("nas")
        // The first batch lands and is recorded; the next stalls until the stop.
        nas.on(.file, times: 2, .proceed)
        nas.on(.file, .stall)
        let stopped = try await Self.stopWhenStalled(f, .file, count: 3)
        #expect(stopped.status == .cancelled)
        let ledger = try f.store.ledgerEntries()
        #expect(ledger.count == 2)
        for copy in ledger {
            let remote = try #require(nas.file(copy.remotePath), "recorded but not on the destination: \(copy.remotePath)")
            #expect(!remote.isTemp && remote.sha256 == copy.sha256)
        }
        #expect(try Self.lastCycleStatus(f.store) == "cancelled")
        _ = await f.cycle()
        #expect(try f.store.ledgerEntries().count == 6)
        #expect(nas.tempFiles().isEmpty)
    }

    @Test func aStopWhileDueDeletionsAreVerifiedDeletesNothing() async throws {
        var f = try ScriptedFixture()
        defer { f.cleanUp() }
        let paths = try (0..<3).map { try f.add("IMG_\($0).JPG", bytes: Array("photo \($0)".utf8)) }
        _ = await f.cycle() // copied; due for deletion at once (delay 0)
        #expect(try f.store.counts().queueDue == 3)
        f.remote("nas").on(.verify, .stall)
        let stopped = try await Self.stopWhenStalled(f, .verify, count: 1)
        #expect(stopped.status == .cancelled)
        #expect(stopped.deleted == 0)
        #expect(paths.allSatisfy { LocalFS.exists($0) })
        #expect(try f.store.counts().queuePending == 3)
        let next = await f.cycle()
        #expect(next.deleted == 3)
    }

    @Test func aStopDuringTheConsistencyCheckChangesNothing() async throws {
        var f = try ScriptedFixture()
        f.config.deletePolicy.deleteSources = false
        f.config.consistencyCheck.enable = true
        f.config.consistencyCheck.intervalHours = 0
        defer { f.cleanUp() }
        for i in 0..<3 { _ = try f.add("IMG_\(i).JPG", bytes: Array("photo \(i)".utf8)) }
        _ = await f.cycle()
        f.remote("nas").on(.verify, .stall)
        let stopped = try await Self.stopWhenStalled(f, .verify, count: 1)
        #expect(stopped.status == .cancelled)
        let ledger = try f.store.ledgerEntries()
        #expect(ledger.count == 3 && ledger.allSatisfy { $0.state == .present })
    }
}
