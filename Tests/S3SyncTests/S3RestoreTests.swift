import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import MediaSync
import ObjectStorage
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import S3Sync

/// `restore` from the real SeaweedFS bucket: one streamed GET per object, checked against the ledger.
@Suite struct S3RestoreTests {
    static func contents(_ i: Int) -> [UInt8] { TestFiles.pseudoRandomBytes(count: 2000 + 53 * i, seed: UInt64(200 + i)) }
    static func name(_ entry: StateStore.LedgerEntry) -> [UInt8] {
        entry.localPath.lastComponent.map { FilePath(root: nil, [$0]).bytes } ?? []
    }

    static func restore(_ f: S3Fixture, _ selection: RestoreSelection, into target: FilePath) async throws -> [RestoreOutcome] {
        let store = try f.store()
        let destination = f.destination(store)
        let entries = try store.restoreCandidates(destination: destination.name, selection: selection)
        let session = try await destination.connectReadOnly(progress: SilentObserver(), logger: Logger(label: "test"))
        let outcomes = await Restorer(destination: destination, target: target).run(entries, session: session)
        await session.close()
        return outcomes
    }

    @Test func objectsComeBackByEverySelectorAndATamperedOneIsRefused() async throws {
        let f = try await S3Fixture("restore")
        defer { f.cleanUp() }
        let names: [[UInt8]] = [
            Array("DJI_0001 it's \"quoted\" $(touch PWNED).JPG".utf8),
            Array("-leading dash.JPG".utf8),
            Array("line\nbreak 100%.JPG".utf8),
            Array("latin1 ".utf8) + [0xE9, 0xFF] + Array(".JPG".utf8),
            Array("DJI_0005.JPG".utf8),
            Array("big.MP4".utf8)
        ]
        var originals: [[UInt8]: [UInt8]] = [:]
        for (i, name) in names.enumerated() {
            let bytes = i == names.count - 1 ? TestFiles.pseudoRandomBytes(count: 12 << 20, seed: 9) : Self.contents(i)
            try TestFiles.write(bytes, to: f.source.appending(name: name), modified: .secondsAgo(3600))
            originals[name] = bytes
        }
        let summary = try await f.cycle()
        #expect(summary.failed == 0 && summary.filesCopied == names.count, "\(summary.messages)")
        for name in names { try LocalFS.unlink(f.source.appending(name: name)) }
        let ledger = try f.store().ledgerEntries()
        #expect(ledger.count == names.count)

        func check(
            _ outcomes: [RestoreOutcome], _ expected: Set<[UInt8]>, _ status: RestoreOutcome.Status = .restored,
            _ what: String, sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(Set(outcomes.map { Self.name($0.entry) }) == expected, "\(what)", sourceLocation: sourceLocation)
            for o in outcomes {
                #expect(o.status == status, "\(what): \(o.target.displayString): \(o.message ?? "")", sourceLocation: sourceLocation)
                // Restored under the local name (the key's escapes undone), below the day folder.
                #expect(o.target.lastComponent.map { FilePath(root: nil, [$0]).bytes } == Self.name(o.entry), sourceLocation: sourceLocation)
                #expect((try? FileIO.readWholeFile(o.target, limit: 64 << 20)) == originals[Self.name(o.entry)], "\(what)", sourceLocation: sourceLocation)
            }
        }
        let all = Set(names)
        let t1 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t1.remove() }
        check(try await Self.restore(f, .localPath(f.source.filePath), into: t1.filePath), all, .restored, "local folder")
        check(try await Self.restore(f, .localPath(f.source.filePath), into: t1.filePath), all, .alreadyThere, "again")
        let entry = try #require(ledger.first { Self.name($0) == names[2] })
        let t2 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t2.remove() }
        check(try await Self.restore(f, .remotePath(entry.remotePath), into: t2.filePath), [names[2]], .restored, "key")
        let t2b = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t2b.remove() }
        check(
            try await Self.restore(f, .remoteFolder(entry.remotePath.removingLastComponent()), into: t2b.filePath),
            Set(ledger.filter { $0.remotePath.removingLastComponent() == entry.remotePath.removingLastComponent() }.map(Self.name)),
            .restored, "key folder")
        let t3 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t3.remove() }
        let now = Date().timeIntervalSince1970
        check(try await Self.restore(f, .copiedBetween(from: now - 600, until: now + 1), into: t3.filePath), all, .restored, "copy time")

        // A tampered object (same size, other bytes): refused, nothing under its name.
        let victim = try #require(ledger.first { Self.name($0) == names[4] })
        var bad = Self.contents(4)
        bad[0] ^= 0xFF
        let scratch = try TemporaryDirectory(prefix: "dms-bad")
        defer { try? scratch.remove() }
        try TestFiles.write(bad, to: scratch.appending("bad"))
        _ = try await f.client().putObject(key: victim.remotePath.string, file: scratch.appending("bad"))
        let t4 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t4.remove() }
        let refused = try await Self.restore(f, .remotePath(victim.remotePath), into: t4.filePath)
        #expect(
            refused.count == 1 && refused[0].status == .failed && refused[0].message?.contains("differs from the ledger") == true,
            "\(refused.map { $0.message ?? "" })")
        #expect(!LocalFS.exists(refused[0].target))
        var leftovers: [String] = []
        DirectoryWalker.walk(t4.filePath, onError: { _ in }) { if $0.path.displayString.contains(".dms-restore-") { leftovers.append($0.path.displayString) } }
        #expect(leftovers.isEmpty, "no temp left: \(leftovers)")
    }

    /// An object of two parts or more comes in part-sized ranged GETs at once, each written at
    /// its offset; the pieces make the object.
    @Test func aLargeObjectComesInRangesThatMakeTheWholeObject() async throws {
        let f = try await S3Fixture("restore-ranges")
        defer { f.cleanUp() }
        let bytes = TestFiles.pseudoRandomBytes(count: 12 << 20, seed: 21)
        try TestFiles.write(bytes, to: f.source.appending("DJI_0001.MP4"), modified: .secondsAgo(3600))
        let summary = try await f.cycle()
        #expect(summary.failed == 0 && summary.filesCopied == 1, "\(summary.messages)")
        let entry = try #require(try f.store().ledgerEntries().first)
        let store = try f.store()
        let session = try await f.destination(store).connectReadOnly(progress: SilentObserver(), logger: Logger(label: "test"))
        let sink = RecordingSink()
        try await session.fetch([RemoteCopy(remotePath: entry.remotePath, size: entry.identity.size, sha256: try #require(entry.sha256))], into: sink)
        await session.close()
        let (data, starts, inOrder, errors) = sink.state.withLock { ($0.data, $0.starts, $0.inOrder, $0.finished) }
        #expect(errors.count == 1 && errors[0] == nil, "\(errors)")
        #expect(inOrder == 0, "nothing came as one stream")
        let part = Int64(MediaSyncConfig.S3(provider: "minio", bucket: "b").partSizeMiB) << 20
        #expect(starts.isSuperset(of: [0, part, 2 * part]), "ranges start at every part: \(starts.sorted())")
        #expect(data == bytes)
    }
}

/// Keeps what a transport hands over, in memory (the tests' objects are small).
private final class RecordingSink: RestoreSink {
    struct State {
        var data: [UInt8] = []
        var starts: Set<Int64> = []
        var inOrder = 0
        var finished: [DestinationError?] = []
    }
    let state = Mutex(State())

    func receive(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
        state.withLock {
            $0.inOrder += 1
            $0.data += bytes
        }
    }

    func receive(_ index: Int, at offset: Int64, _ bytes: UnsafeRawBufferPointer) {
        state.withLock { s in
            let end = Int(offset) + bytes.count
            if s.data.count < end { s.data += [UInt8](repeating: 0, count: end - s.data.count) }
            s.data.replaceSubrange(Int(offset)..<end, with: bytes)
            s.starts.insert(offset)
        }
    }

    func finished(_ index: Int, error: DestinationError?) { state.withLock { $0.finished.append(error) } }
}
