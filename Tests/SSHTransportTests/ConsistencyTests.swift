import Configuration
import Foundation
import LocalFS
import SSHTransport
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

@Suite struct ConsistencyTests {
    @Test func aCorruptedOrMissingCopyIsReportedAndCopiedAgainWhileItsSourceIsHere() async throws {
        var f = try await NASFixture("consistency")
        defer { f.cleanUp() }
        f.config.deletePolicy.delayMinutes = 60
        f.config.consistencyCheck.intervalHours = 1e-9 // every cycle
        try f.add("DJI_20250101000000_0001_D.JPG", size: 20_000, seed: 1)
        try f.add("DJI_20250101000000_0002_D.JPG", size: 20_000, seed: 2)
        #expect(try await f.cycle().filesCopied == 2)
        let clean = try await f.cycle()
        #expect(clean.copiesChecked == 2 && clean.copiesBad == 0)
        // Bit rot on one copy (same size), the other deleted on the NAS.
        try f.putRemote("2025/01/01/DJI_20250101000000_0001_D.JPG", TestFiles.pseudoRandomBytes(count: 20_000, seed: 77))
        try LocalFS.unlink(FilePath(f.remoteBase + "/2025/01/01/DJI_20250101000000_0002_D.JPG"))
        let summary = try await f.cycle()
        #expect(summary.copiesBad == 2)
        #expect(f.logs.messages(.consistencyMismatch).count == 2)
        #expect(summary.filesCopied == 2, "both sources are still here: copied again")
        let names = try f.remoteNames()
        #expect(names.contains("2025/01/01/DJI_20250101000000_0002_D.JPG"))
        #expect(names.contains("2025/01/01/DJI_20250101000000_0001_D_1.JPG"), "the damaged file is not overwritten")
        #expect(try f.store().counts().queuePending == 2)
    }
}
