import Foundation
import LocalFS
import Synchronization
import TestSupport
import Testing

@testable import MediaSync

/// `dji-media-sync pause` on the real NAS transport: the batch in flight finishes and is
/// recorded, no other batch starts, no temp file is left behind.
@Suite struct NASPauseTests {
    /// Pauses as soon as the first file starts.
    final class PauseOnFirstFile: CycleObserver {
        let paused = Atomic<Bool>(false)
        func fileStarted(_ item: TransferItem) { paused.store(true, ordering: .relaxed) }
        func bytesMoved(_ count: Int) {}
    }

    @Test func aPauseLetsTheBatchInFlightFinishAndStartsNoOther() async throws {
        var f = try await NASFixture("pause")
        defer { f.cleanUp() }
        f.config.concurrency.batchMaxFiles = 1 // one file per batch, as a large file is
        f.config.concurrency.parallelTransfers = 1
        for i in 1...5 { try f.add("DJI_000\(i).JPG", size: 50_000, seed: UInt64(i)) }
        let observer = PauseOnFirstFile()
        var engine = try f.engine()
        engine.shouldPause = { observer.paused.load(ordering: .relaxed) }
        let first = await engine.runCycle(observer: observer)
        #expect(first.paused)
        #expect(first.filesCopied == 1 && first.failed == 0, "\(first.messages)")
        #expect(try f.remoteFiles().count == 1, "one verified copy and no temp file")
        #expect(try f.store().ledgerEntries().count == 1)

        let second = try await f.cycle()
        #expect(second.filesCopied == 4 && !second.paused)
        #expect(try f.remoteFiles().count == 5)
    }
}
