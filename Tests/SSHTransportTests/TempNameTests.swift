import Configuration
import Foundation
import LocalFS
import SSHTransport
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

/// Issue 11, 3: temp names reach the NAS's shell; the configured prefix and suffix are data there.
/// (The config loader refuses such values; the transport must not depend on that.)
@Suite struct TempNameTests {
    @Test(arguments: [false, true])
    func hostileTempPrefixAndSuffixAreQuoted(large: Bool) async throws {
        var f = try await NASFixture("temp-quoting-\(large ? "large" : "small")")
        defer { f.cleanUp() }
        f.config.integrity.tempPrefix = ".x$(touch PWNED)`touch PWNED2`"
        f.config.integrity.tempSuffix = ".part x;touch PWNED3"
        f.config.concurrency.batchMaxMegabytes = 64
        // Large: one file alone in its batch, hashed while written (its own remote command).
        let name = "DJI_20250101000000_0001_\(large ? "V.MP4" : "D.JPG")"
        try f.add(name, size: large ? 65 << 20 : 5000, seed: 4)
        try f.add("DJI_20250101000001_0002_D.JPG", size: 3000, seed: 5)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 2, "\(summary.messages)")
        #expect(summary.failed == 0, "\(summary.messages)")
        let names = try f.remoteNames()
        #expect(names == ["2025/01/01/\(name)", "2025/01/01/DJI_20250101000001_0002_D.JPG"], "\(names)")
        #expect(!names.contains { $0.contains("PWNED") })
    }
}
