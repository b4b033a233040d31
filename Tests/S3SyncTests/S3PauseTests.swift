import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import MediaSync

/// `dji-media-sync pause` on the real S3 transport (SeaweedFS): the upload in flight finishes and
/// is recorded, no other starts.
@Suite struct S3PauseTests {
    final class PauseOnFirstFile: CycleObserver {
        let paused = Atomic<Bool>(false)
        func fileStarted(_ item: TransferItem) { paused.store(true, ordering: .relaxed) }
        func bytesMoved(_ count: Int) {}
    }

    @Test func aPauseLetsTheUploadInFlightFinishAndStartsNoOther() async throws {
        var f = try await S3Fixture("pause")
        defer { f.cleanUp() }
        f.s3.parallelFiles = 1
        for i in 1...4 { try f.add("DJI_000\(i).JPG", size: 20_000, seed: UInt64(i)) }
        let store = try f.store()
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let observer = PauseOnFirstFile()
        var engine = SyncEngine(config: f.config, store: store, destinations: [f.destination(store)], logger: logger)
        engine.shouldPause = { observer.paused.load(ordering: .relaxed) }
        let first = await engine.runCycle(observer: observer)
        #expect(first.paused && first.filesCopied == 1 && first.failed == 0, "\(first.messages)")
        #expect(try await f.objects().count == 1)
        let second = try await f.cycle()
        #expect(second.filesCopied == 3)
        #expect(try await f.objects().count == 4)
    }
}
