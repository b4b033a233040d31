import Glibc
import LocalFS
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The permission probes `doctor` uses.
@Suite struct AccessTests {
    @Test func aSampleSubfolderIsFoundByItsBytesAndDescendsTwoLevels() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        #expect(LocalFS.sampleSubdirectory(of: dir.filePath) == nil)
        _ = try dir.writeFile("DJI_0001.JPG", bytes: [1])
        #expect(LocalFS.sampleSubdirectory(of: dir.filePath) == nil, "a file is not a folder")
        let name: [UInt8] = [0x44, 0xFF, 0x0A, 0x27] // not UTF-8, a newline, a quote
        let first = FilePath(bytes: dir.filePath.bytes + [0x2F] + name)
        try LocalFS.createDirectories(first)
        #expect(LocalFS.sampleSubdirectory(of: dir.filePath) == first)
        let second = first.appending("100MEDIA")
        try LocalFS.createDirectories(second.appending("deeper"))
        #expect(LocalFS.sampleSubdirectory(of: dir.filePath) == second)
    }

    @Test func theWriteProbeLeavesNothingAndAMissingPathNamesItsErrno() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        try LocalFS.probeWritable(dir.filePath, name: ".dms-doctor-test")
        #expect(!LocalFS.exists(dir.appending(".dms-doctor-test")))
        let missing = dir.appending("missing")
        #expect(throws: LocalFSError("access", path: missing, errno: ENOENT)) { try LocalFS.checkAccess(missing, [.write, .execute]) }
        #expect(throws: LocalFSError("create", path: missing.appending(".p"), errno: ENOENT)) { try LocalFS.probeWritable(missing, name: ".p") }
        try LocalFS.checkAccess(dir.filePath, [.read, .write, .execute])
        #expect(try LocalFS.isOnReadOnlyMount(dir.filePath) == false)
        #expect(LocalFS.effectiveUserDescription().hasSuffix("(uid \(geteuid()))"))
    }

    @Test(.enabled(if: geteuid() == 0, "bind-mounting a folder read-only needs root"))
    func aReadOnlyBindMountIsSeen() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let target = try dir.makeDirectory("ro")
        try await ReadOnlyMount.with(source: dir.makeDirectory("rw"), at: target) { () async throws -> Void in
            let readOnly = try LocalFS.isOnReadOnlyMount(target)
            #expect(readOnly)
            #expect(throws: LocalFSError("access", path: target, errno: EROFS)) { try LocalFS.checkAccess(target, .write) }
            #expect((try? LocalFS.probeWritable(target, name: ".p")) == nil)
        }
    }
}
