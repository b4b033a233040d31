import Foundation
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import SSHTransport

/// The data session's perl hashes a file under 1 MiB itself (Digest::SHA), reading it back from
/// its own handle once written; larger files, a NAS perl without Digest::SHA and the fault hook
/// keep the hash tool. Each test installs a variant of the receiver that makes one path fail
/// loudly, so it shows which path ran.
@Suite struct ReceiverHashTests {
    static let sizes = (0..<20).map { 3000 + 97 * $0 }

    static func addFiles(_ f: NASFixture) throws {
        for (i, size) in sizes.enumerated() { try f.add("DJI_20250101000000_\(2000 + i)_D.JPG", size: size, seed: UInt64(i)) }
    }

    @Test func smallFilesAreHashedByTheReceiverWithoutAToolRun() async throws {
        var f = try await NASFixture("hash-perl")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(
            script: ReceiverTests.variant("sub hashopen { my ($t, @f) = @_;", "sub hashopen { refuse(q{a hash tool run in this test}); my ($t, @f) = @_;"))
        try Self.addFiles(f)
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == Self.sizes.count)
        #expect(f.receiverLogLines().isEmpty, "no hash tool ran: \(f.receiverLogLines())")
        for (i, size) in Self.sizes.enumerated() {
            let copy = try FileIO.readWholeFile(FilePath(f.remoteBase + "/2025/01/01/DJI_20250101000000_\(2000 + i)_D.JPG"))
            #expect(sha(copy) == sha(TestFiles.pseudoRandomBytes(count: size, seed: UInt64(i))))
        }
    }

    @Test func aNASPerlWithoutDigestSHAHashesWithTheTool() async throws {
        var f = try await NASFixture("hash-tool")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(script: ReceiverTests.variant("require Digest::SHA;", "require Digest::SHA::NotInstalledHere;"))
        try Self.addFiles(f)
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == Self.sizes.count)
        #expect(try f.remoteNames().filter { $0.contains(".dms-") }.isEmpty)
    }

    /// The hash is of the bytes the NAS holds, not of the bytes received: one temp changed on the
    /// NAS after its last write (before its read-back) is caught, not published, and removed.
    @Test func theReceiversHashIsOfWhatTheNASHolds() async throws {
        var f = try await NASFixture("hash-readback")
        defer { f.cleanUp() }
        let damaged = Self.sizes[3]
        try await f.useInstalledReceiver(
            script: ReceiverTests.variant(
                "sysseek($fh, 0, 0) or die", "syswrite($fh, q{X}) if $size == \(damaged);\n    sysseek($fh, 0, 0) or die"))
        try Self.addFiles(f)
        let summary = try await f.cycle()
        #expect(summary.failed == 1, "\(summary.messages)")
        #expect(summary.filesCopied == Self.sizes.count - 1)
        #expect(f.logs.contains(.verificationFailed))
        let names = try f.remoteNames()
        #expect(!names.contains { $0.hasSuffix("_2003_D.JPG") }, "the damaged copy is not published")
        #expect(names.filter { $0.contains(".dms-") }.isEmpty, "\(names)")
    }
}
