import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync
@testable import SSHTransport

/// Re-verification (before each delayed deletion, and by `verify`) through the receiver's perl:
/// a chunk of `ver` requests in one `blk`, hashed by one run of the NAS's hash tool. Every answer
/// must be the one the sh `ver` gives, for hostile names too, with either tool's output format.
@Suite struct BulkVerifyTests {
    @Test(arguments: ["openssl", "sha256sum"])
    func aBlkOfVerifiesAnswersAsTheShellDoesWithHostileNames(tool: String) async throws {
        var f = try await NASFixture("bulkver-\(tool)")
        defer { f.cleanUp() }
        if case var .nas(n) = f.config.destinations[0] {
            n.remoteHashCommand = tool
            f.config.destinations[0] = .nas(n)
        }
        var copies: [RemoteCopy] = []
        var expected: [VerifyResult] = []
        for (i, name) in ReceiverTests.hostileNames.enumerated() {
            let bytes = TestFiles.pseudoRandomBytes(count: 700 + i, seed: UInt64(40 + i))
            let folder = "2025/01/0\(i % 3 + 1)"
            try f.putRemote(folder + "/.keep", [])
            let path = FilePath(bytes: Array((f.remoteBase + "/" + folder + "/").utf8) + name)
            try TestFiles.write(bytes, to: path)
            copies.append(RemoteCopy(remotePath: path, size: Int64(bytes.count), sha256: SHA256Hasher.hash(bytes)))
            expected.append(.verified)
        }
        // Missing; a different size; the same size, other bytes; a symbolic link (not a copy).
        let other = TestFiles.pseudoRandomBytes(count: 500, seed: 1)
        try f.putRemote("2025/02/01/short.JPG", Array(other.prefix(400)))
        try f.putRemote("2025/02/01/changed.JPG", TestFiles.pseudoRandomBytes(count: 500, seed: 2))
        try f.putRemote("2025/02/01/target.JPG", other)
        #expect(symlink("target.JPG", f.remoteBase + "/2025/02/01/link.JPG") == 0)
        for (name, result) in [
            ("missing.JPG", VerifyResult.missing), ("short.JPG", .sizeMismatch(found: 400)),
            ("changed.JPG", .hashMismatch(found: SHA256Hasher.hash(TestFiles.pseudoRandomBytes(count: 500, seed: 2)).hex)),
            ("link.JPG", .missing), ("target.JPG", .verified)
        ] {
            copies.append(RemoteCopy(remotePath: FilePath(f.remoteBase + "/2025/02/01/" + name), size: 500, sha256: SHA256Hasher.hash(other)))
            expected.append(result)
        }

        // The perl way (one blk), then the sh way (ver by ver) over the same copies.
        for shell in [false, true] {
            var destination = NASDestination(
                config: f.nas, integrity: f.config.integrity, concurrency: f.config.concurrency,
                runtimeDirectory: f.config.state.runtimeDirectory, instanceID: "bulkver")
            destination.forceShellPublisher = shell
            let session = try await destination.open(journal: NoTempJournal(), progress: SilentObserver(), logger: Logger(label: "test"))
            #expect(session.receiver.bulkVerify == !shell, "the inline receiver takes ver in a blk where it has perl")
            #expect(session.receiver.hashTool == tool)
            let hashed = try await session.verify(copies, mode: .sha256)
            let sized = try await session.verify(copies, mode: .size)
            await session.close()
            #expect(hashed == expected, "shell: \(shell)")
            #expect(sized == expected.map { if case .hashMismatch = $0 { .verified } else { $0 } }, "shell: \(shell)")
        }
    }
}
