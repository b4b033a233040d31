import Foundation
import Glibc
import Hashing
import LocalFS
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync

@Suite struct SafeDeleterTests {
    struct Setup {
        let dir: TemporaryDirectory
        let path: FilePath
        let entry: StateStore.DeleteEntry
        let copy: StateStore.LedgerEntry
    }

    static func setup(_ relative: String = "DJI_1.JPG") throws -> Setup {
        let dir = try TemporaryDirectory()
        let path = try dir.writeFile(relative, bytes: [1, 2, 3], modified: .secondsAgo(100))
        let identity = try LocalFS.status(path).identity
        let sha = SHA256Hasher.hash([1, 2, 3])
        let entry = StateStore.DeleteEntry(id: 1, localPath: path, identity: identity, sha256: sha, dueAt: 0, state: .pending, attempts: 0, lastError: nil)
        let copy = StateStore.LedgerEntry(
            id: 1, destination: "nas", localPath: path, identity: identity, sha256: sha,
            remotePath: "/nas/DJI_1.JPG", outcome: "copied", state: .present, syncedAt: 0)
        return Setup(dir: dir, path: path, entry: entry, copy: copy)
    }

    @Test func deletesOnlyWhenDueVerifiedEverywhereAndUnchanged() throws {
        let s = try Self.setup()
        defer { try? s.dir.remove() }
        let verified = [SafeDeleter.Check(copy: s.copy, result: .verified)]
        var notDue = s.entry
        notDue.dueAt = Date().timeIntervalSince1970 + 60
        if case .refused = SafeDeleter.deleteSource(notDue, checks: verified, requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath]) {
        } else {
            Issue.record("deleted before due")
        }
        if case .refused = SafeDeleter.deleteSource(
            s.entry, checks: [.init(copy: s.copy, result: .missing)], requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath])
        {
        } else {
            Issue.record("deleted without a verified copy")
        }
        if case .refused = SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas", "s3"], deleteEnabled: true, mediaRoots: [s.dir.filePath]) {
        } else {
            Issue.record("deleted without the second destination")
        }
        if case .refused = SafeDeleter.deleteSource(s.entry, checks: [], requiredDestinations: [], deleteEnabled: true, mediaRoots: [s.dir.filePath]) {
        } else {
            Issue.record("deleted with no destination at all")
        }
        var otherHash = s.copy
        otherHash.sha256 = SHA256Digest(bytes: [UInt8](repeating: 0, count: 32))
        if case .refused = SafeDeleter.deleteSource(
            s.entry, checks: [.init(copy: otherHash, result: .verified)], requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath])
        {
        } else {
            Issue.record("deleted although the copy's hash differs from the source's")
        }
        #expect(LocalFS.exists(s.path))
        #expect(SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas"], deleteEnabled: false, mediaRoots: [s.dir.filePath]) == .kept)
        #expect(LocalFS.exists(s.path))
        #expect(SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath]) == .deleted)
        #expect(!LocalFS.exists(s.path))
        #expect(SafeDeleter.deleteSource(s.entry, checks: verified, requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath]) == .gone)
    }

    @Test func aChangedLocalFileIsNeverDeleted() throws {
        let s = try Self.setup()
        defer { try? s.dir.remove() }
        try TestFiles.write([9, 9, 9, 9], to: s.path)
        if case .changed = SafeDeleter.deleteSource(
            s.entry, checks: [.init(copy: s.copy, result: .verified)], requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath])
        {
        } else {
            Issue.record("a changed file was not reported as changed")
        }
        #expect(LocalFS.exists(s.path))
    }

    /// Found by the fault simulation: an entry whose local version is gone, and whose copy was
    /// lost meanwhile, stayed "copy not verified; will retry" for ever. The local version decides
    /// first: gone or changed ends the entry, whatever its copies.
    @Test func anEntryWhoseVersionIsGoneEndsEvenWithoutAVerifiedCopy() throws {
        let s = try Self.setup()
        defer { try? s.dir.remove() }
        try LocalFS.unlink(s.path)
        #expect(SafeDeleter.deleteSource(s.entry, checks: [], requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath]) == .gone)
        try TestFiles.write([9, 9, 9, 9], to: s.path)
        if case .changed = SafeDeleter.deleteSource(
            s.entry, checks: [.init(copy: s.copy, result: .missing)], requiredDestinations: ["nas"], deleteEnabled: true, mediaRoots: [s.dir.filePath])
        {
        } else {
            Issue.record("a changed file with a lost copy was not reported as changed")
        }
        #expect(LocalFS.exists(s.path))
    }

    /// The trash's purge deletes only the very file that was trashed: another version under its
    /// name stays, and so does a trashed path under no media root.
    @Test func thePurgeDeletesOnlyTheFileThatWasTrashed() throws {
        let s = try Self.setup(".dms-trash/DJI_1.JPG")
        defer { try? s.dir.remove() }
        let entry = StateStore.TrashedEntry(id: 1, trashPath: s.path, identity: s.entry.identity, trashedAt: 0)
        if case .refused = SafeDeleter.purge(entry, mediaRoots: [s.dir.filePath.appending("elsewhere")]) {} else { Issue.record("purged under no media root") }
        #expect(LocalFS.exists(s.path))
        #expect(SafeDeleter.purge(entry, mediaRoots: [s.dir.filePath]) == .deleted)
        #expect(!LocalFS.exists(s.path))
        #expect(SafeDeleter.purge(entry, mediaRoots: [s.dir.filePath]) == .gone)
        try TestFiles.write([9, 9, 9, 9], to: s.path)
        if case .changed = SafeDeleter.purge(entry, mediaRoots: [s.dir.filePath]) {} else { Issue.record("another version was not reported as changed") }
        #expect(LocalFS.exists(s.path), "another version under the trashed name must stay")
    }

    /// Defect: a media sub-folder replaced by a symlink to a folder outside the root — the delete
    /// queue followed it and deleted the file there. Never read or delete through a symlinked folder.
    @Test func neverDeletesThroughAFolderReplacedByASymlink() throws {
        let s = try Self.setup("flight1/DJI_1.JPG")
        let media = s.dir, entry = s.entry, copy = s.copy
        let outside = try TemporaryDirectory()
        defer {
            try? media.remove()
            try? outside.remove()
        }
        // The folder moves outside the root (same inode: the same file), and a symlink takes its place.
        let moved = outside.filePath.appending("flight1")
        try LocalFS.rename(media.filePath.appending("flight1"), to: moved)
        #expect(symlink(moved.string, media.filePath.appending("flight1").string) == 0)
        for trash in [nil, SafeDeleter.Trash(mediaRoots: [media.filePath])] {
            let decision = SafeDeleter.deleteSource(
                entry, checks: [.init(copy: copy, result: .verified)], requiredDestinations: ["nas"],
                deleteEnabled: true, mediaRoots: [media.filePath], trash: trash)
            if case .refused = decision {} else { Issue.record("not refused: \(decision)") }
            #expect(LocalFS.exists(moved.appending("DJI_1.JPG")), "the file outside the media root must stay")
        }
        // And a path under no media root is never deleted.
        let elsewhere = SafeDeleter.deleteSource(
            entry, checks: [.init(copy: copy, result: .verified)], requiredDestinations: ["nas"],
            deleteEnabled: true, mediaRoots: [outside.filePath.appending("other")])
        if case .refused = elsewhere {} else { Issue.record("not refused: \(elsewhere)") }
    }
}
