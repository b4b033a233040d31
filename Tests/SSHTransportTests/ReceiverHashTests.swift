import Foundation
import LocalFS
import Subprocess
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

    /// `script` with `perl` run first whenever a hash tool is started.
    static func onToolRun(_ perl: String, in script: String) -> String {
        ReceiverTests.variant("sub hashopen { my ($t, @f) = @_;", "sub hashopen { \(perl) my ($t, @f) = @_;", in: script)
    }

    @Test func smallFilesAreHashedByTheReceiverWithoutAToolRun() async throws {
        var f = try await NASFixture("hash-perl")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(
            script: Self.onToolRun("refuse(q{a hash tool run in this test});", in: ReceiverScript.text))
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
        // (Neither booted directly nor loaded as usual; each tool run leaves a mark in the base.)
        let script = ReceiverTests.variant(
            "(xs(q{Digest::SHA}) || eval { require Digest::SHA; 1 })",
            "(xs(q{Digest::SHA::NotInstalledHere}) || eval { require Digest::SHA::NotInstalledHere; 1 })")
        try await f.useInstalledReceiver(script: Self.onToolRun("open(my $m, q{>>}, q{hash-tool-ran});", in: script))
        try Self.addFiles(f)
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == Self.sizes.count)
        #expect(FileManager.default.fileExists(atPath: f.remoteBase + "/hash-tool-ran"), "the hash tool ran")
        #expect(try f.remoteNames().filter { $0.contains(".dms-") }.isEmpty)
    }

    /// A perl where `xs` cannot boot a module directly (a static build, another layout) loads it
    /// as usual: the batch is written and hashed by perl all the same. (One module at a time:
    /// Digest::SHA.pm loads Fcntl too.)
    @Test(arguments: ["Fcntl", "Digest::SHA", "*"])
    func aPerlWhoseModulesCannotBeBootedDirectlyLoadsThemAsUsual(module: String) async throws {
        var f = try await NASFixture("hash-xs-fallback")
        defer { f.cleanUp() }
        let script = ReceiverTests.variant("sub xs {", module == "*" ? "sub xs { return 0;" : "sub xs { return 0 if $_[0] eq q{\(module)};")
        try await f.useInstalledReceiver(script: Self.onToolRun("refuse(q{a hash tool run in this test});", in: script))
        try Self.addFiles(f)
        let summary = try await f.cycle()
        #expect(summary.failed == 0, "\(summary.messages) \(f.receiverLogLines())")
        #expect(summary.filesCopied == Self.sizes.count)
        #expect(f.receiverLogLines().isEmpty, "no hash tool ran: \(f.receiverLogLines())")
    }

    /// `xs` boots Fcntl and Digest::SHA without their .pm (which load Exporter, warnings and more:
    /// ~5 ms a batch): the same constants and hashes as the modules loaded as usual, nothing else
    /// loaded, and false for a module it cannot boot.
    @Test func xsBootsModulesAsTheirPMWould() async throws {
        let text = ReceiverScript.text
        let start = try #require(text.range(of: "perlcommon='\n")).upperBound
        let end = try #require(text.range(of: "\n'\n", range: start..<text.endIndex)).lowerBound
        let probe = """
            print join(q{ }, xs(q{Fcntl}) ? 1 : 0, xs(q{Digest::SHA}) ? 1 : 0, xs(q{No::Such}) ? 1 : 0, sort keys %INC),
              q{ }, join(q{ }, Fcntl::O_RDONLY(), Fcntl::O_WRONLY(), Fcntl::O_RDWR(), Fcntl::O_APPEND(), Fcntl::O_CREAT(), Fcntl::O_EXCL(), Fcntl::O_NOFOLLOW(), Digest::SHA::sha256_hex(q{abc}));
            """
        let usual = """
            use Fcntl; use Digest::SHA;
            print join(q{ }, O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, Digest::SHA::sha256_hex(q{abc}));
            """
        func perl(_ program: String) async throws -> String {
            let r = try await Subprocess.run(
                .name("perl"), arguments: ["-e", program, "--", ".dms-", ".part", ""], output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
            #expect(r.terminationStatus.isSuccess, "\(r.standardError)")
            return r.standardOutput
        }
        let expected = try await perl(usual)
        #expect(expected.hasSuffix(" ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        #expect(try await perl(String(text[start..<end]) + "\n" + probe) == "1 1 0 strict.pm " + expected)
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
