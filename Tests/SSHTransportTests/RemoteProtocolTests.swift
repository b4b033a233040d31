import Foundation
import Glibc
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

@testable import SSHTransport

/// The wire protocol's encoders and decoders without sshd, and the receiver's own decoding of
/// hostile bytes run locally under dash and BusyBox sh.
@Suite struct RemoteProtocolTests {
    @Test func everyByteButNULRoundTripsThroughTheEscape() {
        let all = (1...255).map(UInt8.init)
        let escaped = RemoteProtocol.escape(all)
        #expect(!escaped.contains(0x09) && !escaped.contains(0x0A) && !escaped.contains(0x0D))
        #expect(RemoteProtocol.unescape(escaped) == all)
        for name in ReceiverTests.hostileNames { #expect(RemoteProtocol.unescape(RemoteProtocol.escape(name)) == name) }
        #expect(RemoteProtocol.escape([]) == Array("%".utf8))
        #expect(RemoteProtocol.unescape(Array("%".utf8)) == [])
        #expect(RemoteProtocol.escape(Array("a%b".utf8)) == Array("a%25b".utf8))
    }

    @Test func malformedEscapesAreRejected() {
        for bad in ["%", "%2", "%zz", "a%0", "%41", "%%"] where bad != "%" {
            #expect(RemoteProtocol.unescape(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    /// The data stream's writer keeps the order of what it is given, whatever the sizes: small
    /// writes are staged, large ones go straight out after what is staged.
    @Test func theStagedWriterKeepsTheOrderOfSmallAndLargeWrites() throws {
        let dir = try TemporaryDirectory(prefix: "dms-staged")
        defer { try? dir.remove() }
        let path = dir.appending("stream")
        let fd = try FileDescriptor.open(path, .writeOnly, options: [.create], permissions: [.ownerReadWrite])
        var expected: [UInt8] = []
        do {
            var out = StagedWriter(fd: fd.rawValue, stall: 5, capacity: 4096)
            for (index, size) in [10, 2048, 5, 2047, 4096, 3, 1, 9000, 4095, 0, 7].enumerated() {
                let chunk = [UInt8](repeating: UInt8(index + 65), count: size)
                try out.write(chunk, what: "chunk \(index)")
                expected += chunk
            }
            try out.flush(what: "the end")
        }
        try fd.close()
        #expect(try FileIO.readWholeFile(path) == expected)
    }

    @Test func aRequestIsOneLineOfTabSeparatedFields() {
        let line = RemoteProtocol.probe(
            id: 5, directory: Array("2025/01/01".utf8), name: Array("a\tb\nc.JPG".utf8),
            stem: Array("a\tb\nc".utf8), ext: [], size: 12)
        #expect(line.last == 0x0A && line.dropLast().allSatisfy { $0 != 0x0A })
        let fields = line.dropLast().split(separator: 0x09, omittingEmptySubsequences: false).map(Array.init)
        #expect(fields.map { String(decoding: $0, as: UTF8.self) } == ["pr", "5", "2025/01/01", "a%09b%0Ac.JPG", "a%09b%0Ac", "%", "12"])
        #expect(RemoteProtocol.publish([(id: 1, temp: Array("t".utf8), final: Array("f".utf8))]) == Array("pb\t1\tt\tf\n".utf8))
        #expect(RemoteProtocol.end(3) == Array("end\t3\n".utf8))
        #expect(RemoteProtocol.put(temp: Array("d/.dms-x.part".utf8), size: 7, hashWhileWriting: true) == Array("putw\td/.dms-x.part\t7\n".utf8))
        #expect(RemoteProtocol.put(temp: Array("d/.dms-x.part".utf8), size: 7, mtime: 1_600_000_000) == Array("put\td/.dms-x.part\t7\t1600000000\n".utf8))
        #expect(
            RemoteProtocol.append(temp: Array("d/.dms-x.part".utf8), size: 7, offset: 3, mtime: 1_600_000_000)
                == Array("app\td/.dms-x.part\t7\t3\t1600000000\n".utf8))
        #expect(RemoteProtocol.resumePoint(index: 2, temp: Array("d/.dms-x.part".utf8), size: 7) == Array("rsm\t2\td/.dms-x.part\t7\n".utf8))
    }

    static let hash = String(repeating: "ab", count: 32)

    @Test func replyDecodersAcceptOnlyWellFormedLines() {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        #expect(RemoteProtocol.probeLine(b("12 F 0"))! == (12, .free(0)))
        #expect(RemoteProtocol.probeLine(b("12 S 1 \(Self.hash)"))! == (12, .sameSize(index: 1, sha256: Self.hash)))
        #expect(RemoteProtocol.probeLine(b("12 X"))! == (12, .tooMany))
        for bad in ["x F 0", "12 F", "12 F -1", "12 S 1 nothex", "12 S 1 \(Self.hash.uppercased())", "12 Q 1", "", "12 F 0 extra"] {
            #expect(RemoteProtocol.probeLine(b(bad)) == nil, "\(bad)")
        }
        #expect(RemoteProtocol.publishLine(b("3 P"))! == (3, .published))
        #expect(RemoteProtocol.publishLine(b("3 E"))! == (3, .exists))
        #expect(RemoteProtocol.publishLine(b("3 X Permission denied"))! == (3, .failed("Permission denied")))
        for bad in ["P 3", "3", "3 P extra", "3 Z"] { #expect(RemoteProtocol.publishLine(b(bad)) == nil, "\(bad)") }
        #expect(RemoteProtocol.verifyLine(b("0 H 5 \(Self.hash)")) == (0, .sizeAndHash(5, Self.hash)))
        #expect(RemoteProtocol.verifyLine(b("1 Z 7")) == (1, .size(7)))
        #expect(RemoteProtocol.verifyLine(b("2 M")) == (2, .missing))
        #expect(RemoteProtocol.verifyLine(b("2 H 5 short")) == (2, .unknown("H 5 short")))
        #expect(RemoteProtocol.verifyLine(b("x Z 7")).index == nil)
        #expect(RemoteProtocol.verifyLine(b("1 Z -7")) == (1, .unknown("Z -7")))
        #expect(RemoteProtocol.removalLine(b("4 D"))! == (4, .removed))
        #expect(RemoteProtocol.removalLine(b("4 N 99"))! == (4, .notOurs(foundSize: 99)))
        #expect(RemoteProtocol.removalLine(b("4 F refused by the NAS: no --allow-remove"))! == (4, .failed("refused by the NAS: no --allow-remove")))
        #expect(RemoteProtocol.removalLine(b("4 T 1700000000"))! == (4, .replaced(foundModified: 1_700_000_000)))
        for bad in ["D 4", "4 N", "4 N x", "4 Y", "4 T", "4 T x"] { #expect(RemoteProtocol.removalLine(b(bad)) == nil, "\(bad)") }
        // The copy's modification time goes with it only where given (a receiver that says rmvm).
        #expect(RemoteProtocol.removeCopy(index: 4, path: Array("a/b".utf8), size: 9) == b("rmv\t4\ta/b\t9\n"))
        #expect(RemoteProtocol.removeCopy(index: 4, path: Array("a/b".utf8), size: 9, mtime: 1_700_000_000) == b("rmv\t4\ta/b\t9\t1700000000\n"))
        #expect(RemoteProtocol.freeSpace(b("/dev/sda1 1000 400 600 40% /volume1"))! == (600 * 1024, 1000 * 1024))
        #expect(RemoteProtocol.freeSpace(b("Filesystem 1024-blocks Used Available Capacity Mounted on")) == nil)
        let hashed = RemoteProtocol.hashLine(b("\(Self.hash)  ./2025/01/01/.dms-a.part"))
        #expect(hashed?.temp == b("2025/01/01/.dms-a.part") && hashed?.sha256 == Self.hash)
        #expect(RemoteProtocol.hashLine(b("\(Self.hash) *./2025/01/01/.dms-a.part"))?.temp == b("2025/01/01/.dms-a.part"))
        for bad in ["\(Self.hash)", "\(Self.hash)  2025/x", "zz\(Self.hash.dropFirst(2))  ./x", "@@REFUSED not a temp file name"] {
            #expect(RemoteProtocol.hashLine(b(bad)) == nil, "\(bad)")
        }
    }

    @Test func theStartupLineIsTyped() {
        func s(_ text: String) -> RemoteProtocol.Startup { RemoteProtocol.startup([Array(text.utf8)]) }
        #expect(s("@@READY openssl perl 1") == .ready(.init(hashTool: "openssl", perl: true, gnuTail: true)))
        #expect(s("@@READY sha256sum sh 0") == .ready(.init(hashTool: "sha256sum", perl: false, gnuTail: false)))
        // A receiver that knows the resume verbs says so; one installed before them does not.
        #expect(s("@@READY openssl sh 1 resume") == .ready(.init(hashTool: "openssl", perl: false, gnuTail: true, resume: true)))
        #expect(s("@@READY openssl sh 1 resume tidy") == .ready(.init(hashTool: "openssl", perl: false, gnuTail: true, resume: true, tidy: true)))
        #expect(s("@@READY openssl perl 1 resume tidy blk") == .ready(.init(hashTool: "openssl", perl: true, gnuTail: true, resume: true, tidy: true, bulk: true)))
        #expect(RemoteProtocol.bulk(Array("pr\t1\n".utf8)) == Array("blk\t5\npr\t1\n".utf8))
        #expect(
            s("@@READY openssl perl 1 resume tidy blk fin")
                == .ready(.init(hashTool: "openssl", perl: true, gnuTail: true, resume: true, tidy: true, bulk: true, finishes: true)))
        #expect(
            s("@@READY openssl perl 1 resume tidy blk fin ver")
                == .ready(.init(hashTool: "openssl", perl: true, gnuTail: true, resume: true, tidy: true, bulk: true, finishes: true, bulkVerify: true)))
        #expect(
            s("@@READY openssl perl 1 resume tidy dx blk fin ver")
                == .ready(
                    .init(
                        hashTool: "openssl", perl: true, gnuTail: true, resume: true, tidy: true, bulk: true, finishes: true,
                        bulkVerify: true, folderCheck: true)))
        #expect(
            s("@@READY openssl perl 1 resume tidy dx rmvm blk fin ver")
                == .ready(
                    .init(
                        hashTool: "openssl", perl: true, gnuTail: true, resume: true, tidy: true, bulk: true, finishes: true,
                        bulkVerify: true, folderCheck: true, removalChecksTime: true)))
        #expect(RemoteProtocol.folderLine(Array("3 D".utf8)).map { [$0.id == 3, $0.exists] } == [true, true])
        #expect(RemoteProtocol.folderLine(Array("4 N".utf8)).map { [$0.id == 4, $0.exists] } == [true, false])
        #expect(RemoteProtocol.folderLine(Array("4 F 0".utf8)) == nil)
        #expect(RemoteProtocol.folderLine(Array("x D".utf8)) == nil)
        func pb(_ text: String) -> (Int, RemoteProtocol.Publish?)? { RemoteProtocol.sessionPublishLine(Array(text.utf8)).map { ($0.id, $0.reply) } }
        #expect(pb("@@PB 7 P").map { [String($0.0), "\($0.1.map { "\($0)" } ?? "nil")"] } == ["7", "published"])
        #expect(pb("@@PB 8 D").map { $0.1 == nil && $0.0 == 8 } == true)
        #expect(pb("@@PB 9 X Permission denied").map { $0.1 } == .some(.failed("Permission denied")))
        #expect(pb("7 P") == nil)
        // The free space comes before the greeting; a receiver older than that sends none.
        let greeting = [Array("@@SPC /dev/sda1 1000 400 600 40% /srv".utf8), Array("@@READY openssl perl 1 resume tidy".utf8)]
        #expect(RemoteProtocol.startup(greeting) == .ready(.init(hashTool: "openssl", perl: true, gnuTail: true, resume: true, tidy: true)))
        #expect(RemoteProtocol.startupSpace(greeting).map { [$0.freeBytes, $0.totalBytes] } == [600 * 1024, 1000 * 1024])
        #expect(RemoteProtocol.startupSpace([Array("@@READY openssl perl 1".utf8)]) == nil)
        #expect(RemoteProtocol.startupSpace([Array("@@SPC df: cannot read".utf8), Array("@@READY openssl perl 1".utf8)]) == nil)
        #expect(s("@@ERR base") == .baseMissing)
        #expect(s("@@ERR basewrite") == .baseNotWritable)
        #expect(s("@@ERR nohash") == .noHashTool)
        #expect(s("@@REFUSED not a dms-receive session") == .refused("not a dms-receive session"))
        let bad = [
            "@@READY rm sh 0", "@@READY openssl perl", "@@READY openssl perl 2", "@@READY openssl perl 1 rsm",
            "@@READY openssl perl 1 tidy tidy", "@@READY openssl perl 1 resume tidy x", "hello"
        ]
        for bad in bad {
            if case .unexpected = s(bad) {} else { Issue.record("\(bad) was accepted") }
        }
        #expect(RemoteProtocol.startup([]) == .unexpected("no answer"))
    }

    @Test func pathsAreNamedRelativeToTheBaseOnly() {
        #expect(RemoteProtocol.relative(FilePath("/volume1/drone/2025/01/01/a"), base: "/volume1/drone") == Array("2025/01/01/a".utf8))
        #expect(RemoteProtocol.relative(FilePath("/volume1/drone/2025/a"), base: "/volume1/drone/") == Array("2025/a".utf8))
        #expect(RemoteProtocol.relative(FilePath("/volume1/dronex/a"), base: "/volume1/drone") == nil)
        #expect(RemoteProtocol.relative(FilePath("/volume1/drone"), base: "/volume1/drone") == nil)
    }

    /// The receiver's sh decoder (fork-free parameter expansion) gets every hostile name's bytes
    /// right under dash and under BusyBox sh with BusyBox tools, and makes temp files of them.
    @Test(arguments: [false, true])
    func theReceiverDecodesHostileBytesExactly(busybox: Bool) async throws {
        let dir = try TemporaryDirectory(prefix: "dms-recv-local")
        defer { try? dir.remove() }
        let script = dir.path + "/dms-receive"
        try TestFiles.write(Array(ReceiverScript.text.utf8), to: FilePath(script))
        try LocalFS.createDirectories(FilePath(dir.path + "/base"))
        let names = ReceiverTests.hostileNames.filter { !$0.contains(UInt8(ascii: "/")) }
        var input = RemoteProtocol.dataTool("sha256sum") + RemoteProtocol.dataDirectory(Array("2025/01/01".utf8))
        var expected: [[UInt8]] = []
        for (i, name) in names.enumerated() {
            let temp = Array(".dms-".utf8) + name.prefix(200) + Array(".part".utf8)
            expected.append(temp)
            let body = TestFiles.pseudoRandomBytes(count: i * 100, seed: UInt64(i))
            input += RemoteProtocol.put(temp: Array("2025/01/01/".utf8) + temp, size: Int64(body.count)) + body
        }
        input += RemoteProtocol.dataEnd
        let shell = busybox ? try await TestSSHServer.busyboxApplets() + "/sh" : "/bin/dash"
        var environment: Environment = .inherit
        if busybox { environment = environment.updating(["PATH": try await TestSSHServer.busyboxApplets()]) }
        let r = try await Subprocess.run(
            .path(FilePath(shell)), arguments: [script, "--base", dir.path + "/base", "data"],
            environment: environment, input: .array(input),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        #expect(r.terminationStatus == .exited(0), "\(r.standardError)")
        let written = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/base/2025/01/01")
        #expect(written.count == names.count)
        for (i, temp) in expected.enumerated() {
            let path = FilePath(bytes: Array((dir.path + "/base/2025/01/01/").utf8) + temp)
            #expect((try? FileIO.readWholeFile(path)) == TestFiles.pseudoRandomBytes(count: i * 100, seed: UInt64(i)), "\(FilePath.display(temp))")
        }
    }
}
