import Foundation
import Glibc
import LocalFS
import Logging
import SystemPackage
import TestSupport
import Testing

@testable import MediaSync
@testable import SSHTransport

/// `restore` from the real test sshd: files synced by the engine (hostile names included) come
/// back by every selector through one read session per batch, checked against the ledger.
@Suite struct NASRestoreTests {
    static func contents(_ i: Int) -> [UInt8] { TestFiles.pseudoRandomBytes(count: 1000 + 37 * i, seed: UInt64(100 + i)) }

    /// Connects the fixture's NAS and restores what `selection` names into `target`.
    static func restore(_ f: NASFixture, _ selection: RestoreSelection, into target: FilePath) async throws -> [RestoreOutcome] {
        let store = try f.store()
        let destination = NASDestination(
            config: f.nas, integrity: f.config.integrity, concurrency: f.config.concurrency,
            runtimeDirectory: f.config.state.runtimeDirectory, instanceID: try store.instanceID())
        let entries = try store.restoreCandidates(destination: destination.name, selection: selection)
        let session = try await destination.connectReadOnly(progress: SilentObserver(), logger: Logger(label: "test"))
        let outcomes = await Restorer(destination: destination, target: target).run(entries, session: session)
        await session.close()
        return outcomes
    }

    static func name(_ entry: StateStore.LedgerEntry) -> [UInt8] {
        entry.localPath.lastComponent.map { FilePath(root: nil, [$0]).bytes } ?? []
    }

    /// Every file's name below `folder` that is a restore temp (none may be left).
    static func leftovers(_ folder: FilePath) -> [String] {
        var found: [String] = []
        DirectoryWalker.walk(folder, onError: { Issue.record("\($0)") }) { entry in
            if entry.path.displayString.contains(".dms-restore-") { found.append(entry.path.displayString) }
        }
        return found
    }

    @Test(arguments: ["inline", "installed", "busybox"])
    func syncedFilesComeBackByEverySelector(receiver: String) async throws {
        var f = try await NASFixture("restore-\(receiver)")
        defer { f.cleanUp() }
        if receiver != "inline" { try await f.useInstalledReceiver(busybox: receiver == "busybox", allowRead: true) }
        let names = ReceiverTests.hostileNames + [Array("DJI_0001.JPG".utf8)]
        var originals: [[UInt8]: [UInt8]] = [:]
        for (i, name) in names.enumerated() {
            try f.add(rawName: name, bytes: Self.contents(i))
            originals[name] = Self.contents(i)
        }
        let summary = try await f.cycle()
        #expect(summary.failed == 0 && summary.filesCopied == names.count, "\(summary.messages) \(f.receiverLogLines())")
        // The card is lost: only the copies are left.
        for name in names { try LocalFS.unlink(f.source.appending(name: name)) }
        let ledger = try f.store().ledgerEntries()
        #expect(ledger.count == names.count)
        let all = Set(names)

        func check(
            _ outcomes: [RestoreOutcome], _ expected: Set<[UInt8]>, _ status: RestoreOutcome.Status = .restored,
            _ what: String, sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(Set(outcomes.map { Self.name($0.entry) }) == expected, "\(what)", sourceLocation: sourceLocation)
            for o in outcomes {
                #expect(o.status == status, "\(what): \(o.target.displayString): \(o.message ?? "")", sourceLocation: sourceLocation)
                let bytes = try? FileIO.readWholeFile(o.target)
                #expect(bytes == originals[Self.name(o.entry)], "\(what): \(o.target.displayString)", sourceLocation: sourceLocation)
            }
        }

        // A local folder: everything synced from below it.
        let t1 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t1.remove() }
        check(try await Self.restore(f, .localPath(f.source.filePath), into: t1.filePath), all, .restored, "local folder")
        // Each file at its path below the NAS base.
        for o in try await Self.restore(f, .localPath(f.source.filePath), into: t1.filePath) {
            #expect(o.target.bytes == t1.filePath.bytes + [47] + RemoteProtocol.relative(o.entry.remotePath, base: f.remoteBase)!)
        }
        // Again into the same folder: every file is already there; nothing is replaced.
        check(try await Self.restore(f, .localPath(f.source.filePath), into: t1.filePath), all, .alreadyThere, "again")
        #expect(Self.leftovers(t1.filePath).isEmpty, "\(Self.leftovers(t1.filePath))")

        // One local file, one remote path, a remote folder, a copy-time range.
        let t2 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t2.remove() }
        check(try await Self.restore(f, .localPath(f.source.appending(name: names[1])), into: t2.filePath), [names[1]], .restored, "local file")
        let entry = try #require(ledger.first { Self.name($0) == names[4] })
        let t3 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t3.remove() }
        check(try await Self.restore(f, .remotePath(entry.remotePath), into: t3.filePath), [names[4]], .restored, "remote path")
        let t4 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t4.remove() }
        let folder = entry.remotePath.removingLastComponent()
        let inFolder = Set(ledger.filter { $0.remotePath.removingLastComponent() == folder }.map(Self.name))
        #expect(!inFolder.isEmpty)
        check(try await Self.restore(f, .remoteFolder(folder), into: t4.filePath), inFolder, .restored, "remote folder")
        let t5 = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? t5.remove() }
        let now = Date().timeIntervalSince1970
        check(try await Self.restore(f, .copiedBetween(from: now - 600, until: now + 1), into: t5.filePath), all, .restored, "copy time")
        #expect(try f.store().restoreCandidates(destination: ledger[0].destination, selection: .copiedBetween(from: now + 1, until: now + 600)).isEmpty)

        for folder in [f.remoteBase, t1.path, t5.path] {
            #expect(!LocalFS.exists(FilePath(folder + "/" + ReceiverTests.canary)), "a file name was executed in \(folder)")
        }
        #expect(f.receiverLogLines().isEmpty, "nothing a restore asks is refused: \(f.receiverLogLines())")
    }

    @Test func aTamperedCopyIsRefusedAndAnExistingFileIsNotOverwritten() async throws {
        let f = try await NASFixture("restore-tamper")
        defer { f.cleanUp() }
        let names = ["DJI_0001.JPG", "DJI_0002.JPG", "DJI_0003.JPG", "DJI_0004.JPG"].map { Array($0.utf8) }
        for (i, name) in names.enumerated() { try f.add(rawName: name, bytes: Self.contents(i)) }
        let summary = try await f.cycle()
        #expect(summary.failed == 0 && summary.filesCopied == 4, "\(summary.messages)")
        for name in names { try LocalFS.unlink(f.source.appending(name: name)) }
        let ledger = try f.store().ledgerEntries()
        let tampered = try #require(ledger.first { Self.name($0) == names[0] })
        let occupied = try #require(ledger.first { Self.name($0) == names[1] })
        // Someone changed one copy on the NAS (same size, other bytes).
        var bad = Self.contents(0)
        bad[10] ^= 0xFF
        try TestFiles.write(bad, to: tampered.remotePath)
        // And another copy is gone from the NAS.
        let gone = try #require(ledger.first { Self.name($0) == names[3] })
        try LocalFS.unlink(gone.remotePath)
        // And the target already holds another file under a copy's name.
        let target = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? target.remove() }
        let occupiedPath = FilePath(bytes: target.filePath.bytes + [47] + RemoteProtocol.relative(occupied.remotePath, base: f.remoteBase)!)
        try LocalFS.createDirectories(occupiedPath.removingLastComponent())
        let mine = Array("the operator's own file".utf8)
        try TestFiles.write(mine, to: occupiedPath)

        let outcomes = try await Self.restore(f, .copiedBetween(from: 0, until: .greatestFiniteMagnitude), into: target.filePath)
        let byName = Dictionary(uniqueKeysWithValues: outcomes.map { (Self.name($0.entry), $0) })
        let refused = try #require(byName[names[0]])
        #expect(refused.status == .failed && refused.message?.contains("differs from the ledger") == true, "\(refused.message ?? "")")
        #expect(!LocalFS.exists(refused.target), "nothing under the final name of a copy that differs")
        let kept = try #require(byName[names[1]])
        #expect(kept.status == .failed && kept.message?.contains("not overwritten") == true, "\(kept.message ?? "")")
        #expect(try FileIO.readWholeFile(occupiedPath) == mine, "the existing file is untouched")
        let good = try #require(byName[names[2]])
        #expect(good.status == .restored)
        #expect(try FileIO.readWholeFile(good.target) == Self.contents(2))
        let missing = try #require(byName[names[3]])
        #expect(missing.status == .failed && missing.message?.contains("missing on the NAS") == true, "\(missing.message ?? "")")
        #expect(!LocalFS.exists(missing.target))
        #expect(Self.leftovers(target.filePath).isEmpty, "\(Self.leftovers(target.filePath))")
    }

    /// A restricted key reads nothing unless its forced command says --allow-read: a key taken
    /// from a dock on a pole must not be a way to download the fleet's media.
    @Test func withoutAllowReadTheRestrictedReceiverRefusesToRestore() async throws {
        var f = try await NASFixture("restore-no-read")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver()
        try f.add("DJI_20250101000000_0001_D.JPG", size: 1000)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 1, "\(summary.messages)")
        let target = try TemporaryDirectory(prefix: "dms-restore")
        defer { try? target.remove() }
        let outcomes = try await Self.restore(f, .remoteFolder(FilePath(f.remoteBase)), into: target.filePath)
        #expect(outcomes.count == 1)
        #expect(outcomes.allSatisfy { $0.status == .failed && $0.message?.contains("--allow-read") == true }, "\(outcomes.map { $0.message ?? "" })")
        var files: [String] = []
        DirectoryWalker.walk(target.filePath, onError: { _ in }) { files.append($0.path.string) }
        #expect(files.isEmpty, "no file written into the target: \(files)")
        #expect(f.receiverLogLines().contains { $0.contains("needs --allow-read") }, "\(f.receiverLogLines())")
    }

    /// The read verb through the restricted receiver: published files only, inside the base.
    @Test(arguments: [false, true])
    func theReadSessionStaysInsideTheBase(busybox: Bool) async throws {
        var f = try await NASFixture(busybox ? "read-refuse-bb" : "read-refuse")
        defer { f.cleanUp() }
        try await f.useInstalledReceiver(busybox: busybox, allowRead: true)
        try f.putRemote("2025/01/01/DJI_0001.JPG", Array("published".utf8))
        try f.putRemote("2025/01/01/-x $(touch PWNED) 'q'.JPG", Array("hostile".utf8))
        let outside = try f.server.makeRemoteBase(name: "outside")
        f.extraFolders.append(outside)
        _ = symlink(outside, f.remoteBase + "/2025/02")
        _ = symlink("/etc/passwd", f.remoteBase + "/2025/01/01/link.JPG")
        func get(_ paths: [String]) async throws -> ReceiverTests.Reply {
            try await ReceiverTests.session(
                f, command: "dms-receive read",
                input: paths.flatMap { ReceiverTests.line("get", [$0]) } + ReceiverTests.line("end", []))
        }
        for path in [
            "../outside/x", "2025/../../etc/passwd", "/etc/passwd", "2025/02/x", "2025//01/DJI_0001.JPG",
            "2025/01/01/.dms-abc.part", ".dms-1.session-2"
        ] {
            let reply = try await get([path])
            #expect(reply.status != .exited(0), "get \(path): \(reply.output)")
            #expect(reply.error.contains("dms-receive: refused"), "get \(path): \(reply.error)")
            #expect(!reply.output.contains("root:"), "get \(path)")
        }
        // Published files come back framed; a missing file and a symbolic link are "@@M".
        let reply = try await get([
            "2025/01/01/DJI_0001.JPG", "2025/01/01/nothing.JPG", "2025/01/01/link.JPG",
            "2025/01/01/-x $(touch PWNED) 'q'.JPG"
        ])
        #expect(reply.status == .exited(0), "\(reply.error)")
        #expect(reply.output == "@@F 9\npublished@@M\n@@M\n@@F 7\nhostile", "\(reply.output)")
        #expect(!LocalFS.exists(FilePath(f.remoteBase + "/2025/01/01/PWNED")) && !LocalFS.exists(FilePath(f.remoteBase + "/PWNED")))
    }
}
