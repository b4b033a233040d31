import Glibc
import Hashing
import LocalFS
import SystemPackage
import TestSupport
import Testing

@Suite struct SourceFileTests {
    @Test func streamsEveryByteOnceAndHashesIt() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let bytes = TestFiles.pseudoRandomBytes(count: 3 * 1024 * 1024 + 17, seed: 7)
        let path = try dir.writeFile("a.mp4", bytes: bytes)
        let identity = try LocalFS.status(path).identity
        let file = try SourceFile(path: path, expected: identity)
        var sent: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let result = try file.stream(buffer: buffer) { sent += $0 }
        #expect(sent == bytes)
        #expect(result.sha256 == SHA256Hasher.hash(bytes))
        #expect(result.change == nil)
        #expect(result.bytesRead == Int64(bytes.count))
    }

    /// A resumed copy: the prefix is hashed, not sent; the rest is sent only if the prefix's
    /// SHA-256 is accepted, else the whole file is; the hash is the whole file's either way.
    @Test(arguments: [true, false])
    func resumingSendsOnlyTheRestOnceThePrefixIsAccepted(accept: Bool) throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let bytes = TestFiles.pseudoRandomBytes(count: 3 * 1024 * 1024 + 17, seed: 9)
        let path = try dir.writeFile("r.mp4", bytes: bytes)
        let file = try SourceFile(path: path, expected: try LocalFS.status(path).identity)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let prefix = 1024 * 1024 + 5
        var offered: SHA256Digest?
        var sent: [UInt8] = []
        let (result, resumed) = try file.stream(
            buffer: buffer, resumingAfter: Int64(prefix),
            resume: { digest in
                offered = digest
                return accept
            }
        ) { sent += $0 }
        #expect(offered == SHA256Hasher.hash(bytes[..<prefix]))
        #expect(resumed == accept)
        #expect(sent == (accept ? Array(bytes[prefix...]) : bytes))
        #expect(result.sha256 == SHA256Hasher.hash(bytes))
        #expect(result.change == nil)
    }

    @Test func refusesAFileThatIsNotTheDiscoveredVersion() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = try dir.writeFile("b.jpg", bytes: [1, 2, 3])
        var identity = try LocalFS.status(path).identity
        identity.size += 1
        #expect(throws: SourceChanged.self) { try SourceFile(path: path, expected: identity) }
    }

    @Test func reportsAGrowingFileAsChanged() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = try dir.writeFile("c.mov", bytes: [UInt8](repeating: 9, count: 200_000))
        let file = try SourceFile(path: path, expected: try LocalFS.status(path).identity)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        var appended = false
        let result = try file.stream(buffer: buffer) { _ in
            if !appended {
                // A writer appends while we read.
                let fd = path.withPlatformString { open($0, O_WRONLY | O_APPEND) }
                _ = write(fd, "more", 4)
                close(fd)
                appended = true
            }
        }
        #expect(result.change != nil)
    }

    @Test func reportsAShrunkFileAsChangedAndPadsToTheAnnouncedSize() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = try dir.writeFile("d.dng", bytes: [UInt8](repeating: 5, count: 300_000))
        let file = try SourceFile(path: path, expected: try LocalFS.status(path).identity)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        var truncated = false
        let result = try file.stream(buffer: buffer) { chunk in
            total += chunk.count
            if !truncated {
                _ = path.withPlatformString { truncate($0, 1000) }
                truncated = true
            }
        }
        #expect(total == 300_000)
        #expect(result.change != nil)
    }
}

@Suite struct FileLockTests {
    @Test func secondHolderIsTurnedAwayAndTheFileIsNeverUnlinked() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = dir.appending("run/sync.lock")
        guard case let .acquired(first) = try FileLock.acquire(path, wait: false) else {
            Issue.record("first acquire failed")
            return
        }
        // flock locks belong to the open file description: a second open in this process conflicts too.
        guard case let .busy(holder) = try FileLock.acquire(path, wait: false) else {
            Issue.record("second acquire succeeded while the first holds the lock")
            return
        }
        #expect(holder == getpid())
        withExtendedLifetime(first) {}
        _ = consume first
        #expect(LocalFS.exists(path))
        guard case .acquired = try FileLock.acquire(path, wait: false) else {
            Issue.record("lock not released when its holder went away")
            return
        }
        #expect(LocalFS.exists(path))
    }
}

@Suite struct AtomicFileTests {
    @Test func replacesContentWholeAndLeavesNoTemp() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let path = dir.appending("state.json")
        try AtomicFile.write(Array("old".utf8), to: path)
        try AtomicFile.write(Array("new content".utf8), to: path)
        #expect(try FileIO.readWholeFile(path) == Array("new content".utf8))
        var names: [[UInt8]] = []
        DirectoryWalker.walk(dir.filePath, onError: { Issue.record("\($0)") }) { names.append($0.name) }
        #expect(names == [Array("state.json".utf8)])
    }

    @Test func walkerKeepsRawByteNamesAndSkipsSymlinks() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let odd: [UInt8] = Array("bad".utf8) + [0xff, 0x0a] + Array("x.JPG".utf8)
        let path = dir.appending(name: odd)
        try TestFiles.write([1], to: path)
        _ = dir.appending("link.JPG").withPlatformString { l in path.withPlatformString { symlink($0, l) } }
        var found: [[UInt8]] = []
        DirectoryWalker.walk(dir.filePath, onError: { Issue.record("\($0)") }) { found.append($0.name) }
        #expect(found == [odd])
    }
}
