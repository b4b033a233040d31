import Foundation
import LocalFS
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// `dji-media-sync pause` as the engine sees it: `shouldPause` turning true mid-cycle stops the
/// cycle after the files in flight; nothing is failed, half-written or forgotten.
@Suite struct PauseTests {
    @Test func aPauseBetweenBatchesStopsAfterTheFileInFlight() async throws {
        var f = try ScriptedFixture(destinations: ["nas", "cloud"])
        defer { f.cleanUp() }
        f.batchSize = 1 // one file per batch, as the NAS sends a large file
        for i in 1...6 {
            try f.add("F\(i).JPG", bytes: ScriptedEngineTests.bytes(1000 + i, UInt64(i)), mtime: .secondsAgo(Int64(3600 - i)))
        }
        let paused = Atomic<Bool>(false)
        let nas = f.remote("nas")
        // The pause arrives while the second file is in flight to the NAS.
        let files = Atomic<Int>(0)
        nas.setDecider { call in
            if call.kind == .file, files.add(1, ordering: .relaxed).newValue == 2 { paused.store(true, ordering: .relaxed) }
            return .proceed
        }
        var engine = f.engine()
        engine.shouldPause = { paused.load(ordering: .relaxed) }
        let summary = await engine.runCycle()
        #expect(summary.paused)
        #expect(summary.filesCopied == 2, "the file in flight finishes, no other starts")
        #expect(summary.failed == 0 && summary.status == .ok)
        #expect(nas.finalFiles().count == 2 && nas.tempFiles().isEmpty)
        #expect(f.remote("cloud").callCount(.transfer) == 0, "the next destination is not started")
        #expect(try f.store.failures().isEmpty)
        #expect(try f.store.ledgerEntries().count == 2)
        #expect(f.logs.text.contains("paused: finishing the files in flight"))
        #expect(summary.destinationsInSync.isEmpty, "a paused cycle is nobody's success")

        // Resumed: the next cycle sends what is left, to both.
        paused.store(false, ordering: .relaxed)
        nas.setDecider(nil)
        let next = await f.cycle()
        #expect(!next.paused)
        #expect(next.filesCopied == 4 + 6)
        #expect(nas.finalFiles().count == 6 && f.remote("cloud").finalFiles().count == 6)
    }

    @Test func pausedBeforeConnectingTheCycleContactsNoDestination() async throws {
        let f = try ScriptedFixture()
        defer { f.cleanUp() }
        try f.add("A.JPG", bytes: ScriptedEngineTests.bytes(1000, 1))
        var engine = f.engine()
        engine.shouldPause = { true }
        let summary = await engine.runCycle()
        #expect(summary.paused && summary.filesCopied == 0)
        #expect(f.remote("nas").callCount(.connect) == 0)
    }

    @Test func thePauseIsPersistedAndATimedOneEndsByItself() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        var store = try StateStore(directory: dir.filePath)
        #expect(try store.pause(now: 100) == nil)
        try store.setPause(until: nil, now: 100)
        store = try StateStore(directory: dir.filePath) // another process sees it
        #expect(try store.pause(now: 1e12) == StateStore.Pause(since: 100, until: nil))
        #expect(try store.pause(now: 1e12)?.untilText == "until `dji-media-sync resume`")
        try store.setPause(until: 200, now: 150)
        #expect(try store.pause(now: 199)?.until == 200)
        #expect(try store.pause(now: 200) == nil, "a timed pause ends by itself")
        #expect(try store.pause(now: 199)?.untilText == "until 1970-01-01T00:03:20Z")
        #expect(try store.clearPause(now: 199))
        #expect(try !store.clearPause(now: 199))
        #expect(try store.storedPause() == nil)
    }
}
