import Foundation
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import SSHTransport

/// `dx`: files bound for a folder that is not on the NAS yet are sent without a probe (no name can
/// be taken there); where the folder exists, every file is probed as before. The receiver installed
/// here refuses `pr`, so a probe that runs shows up as a failed cycle and a refusal on the NAS.
@Suite struct FolderCheckTests {
    static let noProbes = ReceiverTests.variant(
        "return pb(@f) if $v eq q{pb};", "return pb(@f) if $v eq q{pb}; refuse(q{pr in this test}) if $v eq q{pr};")

    @Test func filesForANewFolderAreSentWithoutAProbe() async throws {
        var f = try await NASFixture("dx-new")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(script: Self.noProbes)
        for i in 0..<12 { try f.add("DJI_20250101000000_\(3000 + i)_D.JPG", size: 2000 + i, seed: UInt64(i)) }
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == 12)
        #expect(f.receiverLogLines().isEmpty, "no probe was sent: \(f.receiverLogLines())")
    }

    @Test func filesForAnExistingFolderAreStillProbed() async throws {
        var f = try await NASFixture("dx-existing")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(script: Self.noProbes)
        try f.putRemote("2025/01/01/other.JPG", Array("someone else's file".utf8))
        for i in 0..<3 { try f.add("DJI_20250101000000_\(3000 + i)_D.JPG", size: 2000 + i, seed: UInt64(i)) }
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 0, "the folder exists: the probe ran (and was refused here)")
        #expect(f.receiverLogLines().contains { $0.contains("pr in this test") }, "\(f.receiverLogLines())")
    }
}
