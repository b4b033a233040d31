import Configuration
import Glibc
import LocalFS
import MediaSync
import SystemPackage
import Testing
import TestSupport

@Suite struct DiscoveryTests {
    @Test func findsCompleteMediaOnly() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let old = FileTime.secondsAgo(3600)
        for name in ["A.JPG", "b.jpeg", "c.Dng", "d.mp4", "e.MOV", "f.srt", "g.LRF", "sub/deeper/h.jpg"] {
            _ = try dir.writeFile(name, bytes: [1], modified: old)
        }
        for name in ["notes.txt", ".hidden.jpg", ".cache/i.jpg", "j.jpg.part", "k.mp4.tmp", "l.JPG~", "noext"] {
            _ = try dir.writeFile(name, bytes: [1], modified: old)
        }
        _ = try dir.writeFile("fresh.jpg", bytes: [1])  // just written: too young
        _ = dir.appending("link.jpg").withPlatformString { l in dir.appending("A.JPG").withPlatformString { symlink($0, l) } }
        var local = MediaSyncConfig.Local(mediaRoots: [dir.path])
        local.minFileAgeSeconds = 60
        let report = Discovery(local).scan()
        let names = Set(report.eligible.map { String(decoding: $0.name, as: UTF8.self) })
        #expect(names == ["A.JPG", "b.jpeg", "c.Dng", "d.mp4", "e.MOV", "f.srt", "g.LRF", "h.jpg"])
        #expect(report.tooYoung == 1)
        #expect(report.errors.isEmpty)
    }

    @Test func oldestFirst() throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        _ = try dir.writeFile("new.jpg", bytes: [1], modified: .secondsAgo(100))
        _ = try dir.writeFile("old.jpg", bytes: [1], modified: .secondsAgo(1000))
        var local = MediaSyncConfig.Local(mediaRoots: [dir.path])
        local.minFileAgeSeconds = 0
        #expect(Discovery(local).scan().eligible.map { String(decoding: $0.name, as: UTF8.self) } == ["old.jpg", "new.jpg"])
    }

    @Test func anUnreadableRootIsReportedNotFatal() throws {
        var local = MediaSyncConfig.Local(mediaRoots: ["/nonexistent/dms-root"])
        local.minFileAgeSeconds = 0
        let report = Discovery(local).scan()
        #expect(report.eligible.isEmpty)
        #expect(report.errors.count == 1)
        #expect(report.errors.first?.path == "/nonexistent/dms-root")
    }
}
