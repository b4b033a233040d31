import Foundation
import LocalFS
import Logging
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync
@testable import SSHTransport

/// Timings, not a check: sync vs restore of 2000 × 64 KiB and 1 × 512 MiB through the test sshd,
/// and the read stream alone (bytes counted, nothing written). Prints "BENCH" lines.
@Suite struct RestoreBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DMS_RESTORE_BENCH"] != nil, "a timing run: set DMS_RESTORE_BENCH=1"))
    func syncVersusRestoreTimes() async throws {
        for (count, size) in [(2000, 64 << 10), (1, 512 << 20)] {
            let f = try await NASFixture("bench-\(count)")
            defer { f.cleanUp() }
            for i in 0..<count { try f.add("DJI_\(i).JPG", size: size, seed: UInt64(i)) }
            let t0 = ContinuousClock.now
            let s = try await f.cycle()
            let sync = ContinuousClock.now - t0
            #expect(s.failed == 0)
            let target = try TemporaryDirectory(prefix: "dms-restore")
            defer { try? target.remove() }
            let t1 = ContinuousClock.now
            let out = try await NASRestoreTests.restore(f, .localPath(f.source.filePath), into: target.filePath)
            let restore = ContinuousClock.now - t1
            #expect(out.allSatisfy { $0.status == .restored })
            // The transport alone: bytes counted, nothing written.
            let store = try f.store()
            let destination = NASDestination(
                config: f.nas, integrity: f.config.integrity, concurrency: f.config.concurrency,
                runtimeDirectory: f.config.state.runtimeDirectory, instanceID: try store.instanceID())
            let entries = try store.restoreCandidates(destination: destination.name, selection: .localPath(f.source.filePath))
            let session = try await destination.connectReadOnly(progress: SilentObserver(), logger: Logger(label: "t"))
            let t2 = ContinuousClock.now
            try await session.fetch(entries.map { RemoteCopy(remotePath: $0.remotePath, size: $0.identity.size, sha256: $0.sha256!) }, into: Counting())
            let transport = ContinuousClock.now - t2
            await session.close()
            print("BENCH \(count) x \(size) B: sync \(sync), restore \(restore), transport alone \(transport)")
        }
    }
}

/// Counts nothing, writes nothing: the transport's own speed.
private final class Counting: RestoreSink {
    func receive(_ index: Int, _ bytes: UnsafeRawBufferPointer) {}
    func receive(_ index: Int, at offset: Int64, _ bytes: UnsafeRawBufferPointer) {}
    func finished(_ index: Int, error: DestinationError?) {}
}
