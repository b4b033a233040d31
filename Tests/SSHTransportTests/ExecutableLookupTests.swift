import Foundation
import Glibc
import Subprocess
import SystemPackage
import TestSupport
import Testing

@testable import SSHTransport

/// ssh by name is found in PATH once, skipping what is not an executable regular file.
@Suite struct ExecutableLookupTests {
    @Test func theFirstExecutableRegularFileInPathWinsAndANameWithASlashIsTakenAsIs() throws {
        let dir = try TemporaryDirectory(prefix: "dms-lookup")
        defer { try? dir.remove() }
        let name = "dms-lookup-\(getpid())"
        for folder in ["a", "b", "c", "d"] { try FileManager.default.createDirectory(atPath: dir.appending(folder).string, withIntermediateDirectories: true) }
        try FileManager.default.createDirectory(atPath: dir.appending("a").appending(name).string, withIntermediateDirectories: true) // a folder
        try TestFiles.write([0x23, 0x21], to: dir.appending("b").appending(name)) // not executable
        try TestFiles.write([0x23, 0x21], to: dir.appending("c").appending(name))
        #expect(chmod(dir.appending("c").appending(name).string, 0o755) == 0)
        try TestFiles.write([0x23, 0x21], to: dir.appending("d").appending(name))
        #expect(chmod(dir.appending("d").appending(name).string, 0o755) == 0)
        let path = ["relative/ignored", "a", "b", "c", "d"].map { $0.hasPrefix("relative") ? $0 : dir.appending($0).string }.joined(separator: ":")
        #expect(ExecutableLookup.executable(name, path: path) == .path(dir.appending("c").appending(name)))
        // Remembered: the same answer without looking again.
        #expect(ExecutableLookup.executable(name, path: "/nonexistent") == .path(dir.appending("c").appending(name)))
        #expect(ExecutableLookup.executable("/opt/x/ssh") == .path(FilePath("/opt/x/ssh")))
        #expect(ExecutableLookup.executable("dms-no-such-tool-\(getpid())", path: path) == .name("dms-no-such-tool-\(getpid())"))
    }
}
