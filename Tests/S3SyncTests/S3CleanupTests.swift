import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import S3Sync
import Synchronization
import SystemPackage
import TestSupport
import Testing

@testable import ObjectStorage

/// Cleanup against the real SeaweedFS server and a real ledger (SQLite in a temp directory).
@Suite struct S3CleanupTests {
    static let hostileNames = [
        "a b.JPG", "quote'\"x.MP4", "$(touch pwned).jpg", "航拍 ü.jpg", "100%25 %2F.jpg", "amp&<lt>.jpg",
        "tab\tnl.jpg"
    ]

    struct Fixture {
        let server: TestS3Server
        let client: S3Client
        let prefix: String
        let settings: S3Settings
        let state: TemporaryDirectory
        let store: StateStore
        let file: FilePath

        init(_ label: String) async throws {
            server = try await TestS3Server.shared()
            (client, prefix) = try server.makeScope(label)
            settings = S3Settings(server.destination(prefix: prefix, name: "cloud"), transferTimeoutSeconds: 60)
            state = try TemporaryDirectory(prefix: "dms-s3-cleanup")
            store = try StateStore(directory: state.appending("db"))
            file = try state.writeFile("payload", bytes: Array("payload".utf8))
        }

        func clients(_ count: Int) throws -> [S3Client] {
            try (0..<count).map { _ in try server.client(bucket: TestS3Server.sharedBucket) }
        }

        func cleanup(workers: Int = 4) throws -> S3Cleanup {
            S3Cleanup(settings: settings, store: store, clients: try clients(workers))
        }

        /// Uploads `keys` with 8 parallel clients.
        func upload(_ keys: [String]) async throws {
            let clients = try self.clients(8)
            let file = self.file
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (worker, client) in clients.enumerated() {
                    let mine = keys.enumerated().filter { $0.offset % clients.count == worker }.map(\.element)
                    group.addTask { for key in mine { _ = try await client.putObject(key: key, file: file) } }
                }
                try await group.waitForAll()
            }
        }

        /// Records `keys` in the ledger as copies on "cloud".
        func record(_ keys: [String]) throws {
            let placements = keys.enumerated().map { index, key in
                StateStore.Placement(
                    item: TransferItem(
                        id: index, localPath: FilePath(bytes: Array("/media/\(key)".utf8)), // one source per key
                        identity: FileIdentity(size: 7, mtimeNanoseconds: Int64(index), inode: UInt64(index + 1), device: 1),
                        remoteDirectory: "", remoteName: Array(key.utf8)),
                    remotePath: FilePath(bytes: Array(key.utf8)), sha256: SHA256Hasher.hash(Array("payload".utf8)), alreadyPresent: false)
            }
            try store.recordPlacements(placements, destination: "cloud", allDestinations: ["cloud"], cycleID: nil, deleteDelaySeconds: 3600)
        }

        func keys() async throws -> [String] {
            var keys: [String] = []
            var token: String?
            repeat {
                let page = try await client.listObjectsV2(prefix: prefix, continuationToken: token)
                keys += page.objects.map(\.key)
                token = page.isTruncated ? page.nextContinuationToken : nil
            } while token != nil
            return keys
        }
    }

    @Test func twentyFiveHundredOrphansAreDeletedInBatchesOfAtMostAThousand() async throws {
        let f = try await Fixture("cleanup2500")
        defer { try? f.state.remove() }
        let keys =
            (0..<2500).map { f.prefix + String(format: "2025/01/01/DJI_%04d.JPG", $0) }
            + Self.hostileNames.map { f.prefix + "2025/01/02/" + $0 }
        try await f.upload(keys)
        #expect(try await f.keys().count == keys.count)

        let report = await (try f.cleanup()).run(olderThanHours: 0, apply: true)
        #expect(!report.hasFailures, "\(report.orphans.failures) \(report.orphans.error ?? "")")
        #expect(report.orphans.found == keys.count)
        #expect(report.orphans.deleted == keys.count)
        // 2507 keys in batches of ≤ 1000: 3 requests (4 workers run them at once).
        #expect(report.orphans.requests == 3)
        #expect(try await f.keys().isEmpty)
    }

    @Test func theClientRefusesMoreThanAThousandKeysAndSoDoesTheServer() async throws {
        let f = try await Fixture("cleanup1001")
        defer { try? f.state.remove() }
        let keys = (0...1000).map { f.prefix + "k\($0)" }
        await #expect(throws: S3Error.self) { try await f.client.deleteObjects(keys: keys) }
        // The same request sent raw (bypassing the client's check): SeaweedFS refuses it too.
        let body = S3Client.deleteObjectsBody(keys: keys)
        let error = await #expect(throws: S3Error.self) {
            _ = try await f.client.perform(
                S3Client.Call(
                    method: .post, key: nil, query: [("delete", "")],
                    headers: [("content-md5", Data(MD5Hasher.hash(body)).base64EncodedString())],
                    body: .bytes(body), payloadHash: SHA256Hasher.hash(body).hex))
        }
        #expect(error?.httpStatus == 400, "\(String(describing: error))")
    }

    @Test func theDeleteObjectsBodyCarriesHostileKeysExactly() throws {
        let keys = Self.hostileNames.map { "p/" + $0 } + ["a]]>b", "x&amp;y", "\r\n"]
        let body = S3Client.deleteObjectsBody(keys: keys)
        let root = try #require(S3XMLNode.parse(body))
        #expect(root.name == "Delete" && root.string("Quiet") == "true")
        #expect(root.children("Object").map { $0.string("Key") } == keys)
    }

    @Test func orphansAreWhatTheLedgerDoesNotReference() async throws {
        let f = try await Fixture("orphans")
        defer { try? f.state.remove() }
        let dir = f.prefix + "2025/03/04/"
        let a = dir + "A " + Self.hostileNames[1], b = dir + "B " + Self.hostileNames[2], c = dir + "C " + Self.hostileNames[3]
        try await f.upload([a, b, c])
        try f.record([a, c])
        // A ledger row of another destination does not protect B.
        let cleanup = try f.cleanup()

        let found = FoundKeys()
        let dry = await cleanup.removeOrphans(minimumAgeHours: 0, apply: false, onFound: { found.add($0.key) })
        #expect(!dry.hasFailures)
        #expect(found.keys == [b])
        #expect(dry.found == 1 && dry.deleted == 0 && dry.requests == 0)
        #expect(dry.notes.isEmpty, "every ledger key is listed as written")
        #expect(try await f.keys().sorted() == [a, b, c].sorted())

        // Too young for a safety age of one hour: left alone.
        let young = await cleanup.removeOrphans(minimumAgeHours: 1, apply: true)
        #expect(young.found == 0 && young.skipped == 1)

        let applied = await cleanup.removeOrphans(minimumAgeHours: 0, apply: true)
        #expect(!applied.hasFailures)
        #expect(applied.found == 1 && applied.deleted == 1)
        #expect(try await f.keys().sorted() == [a, c].sorted())
    }

    @Test func theLedgerMergeStaysCorrectAcrossManyPages() async throws {
        let f = try await Fixture("orphanpages")
        defer { try? f.state.remove() }
        let keys =
            (0..<60).map { f.prefix + String(format: "2025/05/%02d/f%03d %@", $0 % 3, $0, Self.hostileNames[$0 % Self.hostileNames.count]) }
            // SeaweedFS lists a "directory" before its siblings that sort before it in byte order
            // ("00/…" before "00-…", although '-' < '/'): the result must not depend on the order.
            + ["2025/05/00-late.jpg", "2025/05/00.x", "2025/05/00!", "2025/05/000"].map { f.prefix + $0 }
        try await f.upload(keys)
        let referenced = keys.enumerated().filter { $0.offset % 4 != 0 }.map(\.element)
        try f.record(referenced)
        // Ledger keys outside the prefix sort before and after it and must not matter.
        try f.record(["0-before", "zzz-after"])
        var cleanup = try f.cleanup()
        cleanup.ledgerPageSize = 7
        let found = FoundKeys()
        let dry = await cleanup.removeOrphans(minimumAgeHours: 0, apply: false, onFound: { found.add($0.key) })
        #expect(!dry.hasFailures)
        #expect(found.keys.sorted() == keys.enumerated().filter { $0.offset % 4 == 0 }.map(\.element).sorted())
        // Ledger keys the merge passed over but the listing named later are not taken for respelled.
        #expect(dry.notes.isEmpty, "\(dry.notes)")
    }

    @Test func staleMultipartUploadsAreAbortedAndRecentOnesKept() async throws {
        let f = try await Fixture("stalempu")
        defer { try? f.state.remove() }
        let key = f.prefix + "2025/01/01/big $(x) 'y'.MP4"
        let uploadID = try await f.client.createMultipartUpload(key: key)
        _ = try await f.client.uploadPart(key: key, uploadID: uploadID, number: 1, file: f.file, offset: 0, length: 7)
        let cleanup = try f.cleanup(workers: 1)

        let kept = await cleanup.abortStaleUploads(olderThanHours: 24, apply: true)
        #expect(!kept.hasFailures, "\(kept.error ?? "")")
        #expect(kept.found == 0 && kept.skipped == 1)
        #expect(try await f.client.listMultipartUploads(prefix: f.prefix).map(\.uploadID) == [uploadID])

        // An upload in progress protects its key from orphan cleanup.
        try await f.upload([key])
        let orphans = await cleanup.removeOrphans(minimumAgeHours: 0, apply: true)
        #expect(orphans.found == 0 && orphans.skipped == 1)

        let dry = await cleanup.abortStaleUploads(olderThanHours: 0, apply: false)
        #expect(dry.found == 1 && dry.deleted == 0)
        #expect(try await f.client.listMultipartUploads(prefix: f.prefix).count == 1)

        let aborted = await cleanup.abortStaleUploads(olderThanHours: 0, apply: true)
        #expect(!aborted.hasFailures, "\(aborted.failures)")
        #expect(aborted.found == 1 && aborted.deleted == 1)
        #expect(try await f.client.listMultipartUploads(prefix: f.prefix).isEmpty)
    }

    /// Defect 12: a journal row whose upload was completed (killed before it was forgotten) is
    /// not an upload in progress: cleanup forgets it, and its object is judged like any other.
    @Test func aJournalRowOfAnUploadTheServerNoLongerListsIsForgotten() async throws {
        let f = try await Fixture("completedmpu")
        defer { try? f.state.remove() }
        let key = f.prefix + "2025/01/01/completed.MP4"
        let uploadID = try await f.client.createMultipartUpload(key: key)
        let part = try await f.client.uploadPart(key: key, uploadID: uploadID, number: 1, file: f.file, offset: 0, length: 7)
        try await f.client.completeMultipartUpload(key: key, uploadID: uploadID, parts: [part])
        let live = f.prefix + "2025/01/01/live.MP4"
        let liveID = try await f.client.createMultipartUpload(key: live)
        for (k, id) in [(key, uploadID), (live, liveID)] {
            try f.store.recordMultipartUploadStarted(
                StateStore.MultipartUploadRecord(
                    destination: "cloud", key: k, uploadID: id, fingerprint: "f", partSize: 5 << 20,
                    createdAt: Date().timeIntervalSince1970 - 7200))
        }
        let cleanup = try f.cleanup(workers: 1)

        let orphans = await cleanup.removeOrphans(minimumAgeHours: 0, apply: true)
        #expect(!orphans.hasFailures, "\(orphans.failures) \(orphans.error ?? "")")
        #expect(orphans.found == 1 && orphans.deleted == 1, "no ledger row names it, and no upload of it is in progress")
        #expect(try await f.keys().isEmpty)
        #expect(try f.store.multipartUploads(destination: "cloud").map(\.uploadID) == [liveID])

        // The stale-upload pass reconciles too (and aborts the live one, old enough at 0 h).
        try f.store.recordMultipartUploadStarted(
            StateStore.MultipartUploadRecord(
                destination: "cloud", key: key, uploadID: uploadID, fingerprint: "f", partSize: 5 << 20, createdAt: 0))
        let stale = await cleanup.abortStaleUploads(olderThanHours: 0, apply: true)
        #expect(!stale.hasFailures, "\(stale.failures) \(stale.error ?? "")")
        #expect(stale.found == 1 && stale.deleted == 1)
        #expect(try f.store.multipartUploads(destination: "cloud").isEmpty)
    }

    /// Defect 13a: SeaweedFS stores `\` in a key as `/`, so the listing spells a ledger key
    /// differently. The listed spelling must not be deleted as an orphan.
    @Test func anObjectTheServerListsUnderAnotherSpellingOfALedgerKeyIsNoOrphan() async throws {
        let f = try await Fixture("respelled")
        defer { try? f.state.remove() }
        let dir = f.prefix + "2025/06/01/"
        let referenced = dir + "back\\slash.JPG", listedAs = dir + "back/slash.JPG"
        try await f.upload([referenced])
        try f.record([referenced])
        #expect(try await f.keys() == [listedAs], "the server's own spelling")
        // A real orphan with other bytes is still found and deleted.
        let other = try f.state.writeFile("other", bytes: Array("other bytes".utf8))
        let orphan = dir + "orphan.JPG"
        _ = try await f.client.putObject(key: orphan, file: other)
        let cleanup = try f.cleanup()

        let found = FoundKeys()
        let report = await cleanup.removeOrphans(minimumAgeHours: 0, apply: true, onFound: { found.add($0.key) })
        #expect(!report.hasFailures, "\(report.failures) \(report.error ?? "")")
        #expect(found.keys == [orphan])
        #expect(report.deleted == 1)
        #expect(report.notes.contains { $0.contains(referenced) }, "\(report.notes)")
        #expect(try await f.keys() == [listedAs])
        #expect(try await f.client.headObject(key: referenced).size == 7, "the ledger's copy is still there")
    }

    /// Defect 13b: XML 1.0 cannot carry U+0001…U+001F (but tab, newline, return), not even as
    /// character references: SeaweedFS answers MalformedXML to a DeleteObjects naming such a key,
    /// which failed the whole batch. Such keys are deleted one by one; the batch goes through.
    @Test func keysWithControlCharactersAreDeletedOneByOneAndTheBatchSucceeds() async throws {
        let f = try await Fixture("ctlkeys")
        defer { try? f.state.remove() }
        let dir = f.prefix + "2025/06/02/"
        let hostile = [dir + "ctl\u{01}a.JPG", dir + "ctl\u{1F}b.JPG", dir + "ctl\u{0B}\u{0C}c.JPG"]
        let plain = (0..<5).map { dir + "plain\($0) \(Self.hostileNames[$0])" }
        try await f.upload(hostile + plain)
        #expect(Set(try await f.keys()) == Set(hostile + plain))
        // One DeleteObjects cannot name them: the client says so before sending anything.
        await #expect(throws: S3Error.self) { try await f.client.deleteObjects(keys: [hostile[0]]) }
        let cleanup = try f.cleanup(workers: 2)

        let report = await cleanup.removeOrphans(minimumAgeHours: 0, apply: true)
        #expect(!report.hasFailures, "\(report.failures) \(report.error ?? "")")
        #expect(report.found == hostile.count + plain.count && report.deleted == hostile.count + plain.count)
        #expect(report.requests == 1 + hostile.count, "one DeleteObjects for the plain keys, one DELETE per hostile key")
        #expect(try await f.keys().isEmpty)
    }

    @Test func theDaemonsCleanupAbortsStaleUploadsAndNeverThrows() async throws {
        let f = try await Fixture("daemoncleanup")
        defer { try? f.state.remove() }
        let key = f.prefix + "2025/01/01/interrupted.MP4"
        let uploadID = try await f.client.createMultipartUpload(key: key)
        var config = f.settings.config
        config.credentialsFile = try f.state.writeFile(
            "credentials", bytes: Array("[default]\naws_access_key_id = \(f.server.accessKeyID)\naws_secret_access_key = \(f.server.secretAccessKey)\n".utf8)
        ).string
        _ = config.credentialsFile!.withCString { chmod($0, 0o600) }
        let settings = S3Settings(config, transferTimeoutSeconds: 60)
        let logger = Logger(label: "test")

        // Not old enough at abort_stale_uploads_after_hours = 24: kept.
        let kept = await S3Cleanup.abortStaleUploads(settings: settings, store: f.store, logger: logger)
        #expect(!kept.hasFailures && kept.found == 0)
        // A day and a bit later: aborted.
        let aborted = await S3Cleanup.abortStaleUploads(
            settings: settings, store: f.store, logger: logger,
            now: Date().timeIntervalSince1970 + 25 * 3600)
        #expect(!aborted.hasFailures, "\(aborted.error ?? "") \(aborted.failures)")
        #expect(aborted.found == 1 && aborted.deleted == 1)
        #expect(try await f.client.listMultipartUploads(prefix: f.prefix).allSatisfy { $0.uploadID != uploadID })

        // A wrong secret: reported, not thrown, and the report does not hold the secret.
        try f.state.writeFile("credentials", bytes: Array("[default]\naws_access_key_id = \(f.server.accessKeyID)\naws_secret_access_key = wrong-secret-1234\n".utf8))
        _ = config.credentialsFile!.withCString { chmod($0, 0o600) }
        let failed = await S3Cleanup.abortStaleUploads(settings: settings, store: f.store, logger: logger)
        #expect(failed.hasFailures)
        #expect(failed.error?.contains("signature") == true, "\(failed.error ?? "")")
        #expect(failed.error?.contains("wrong-secret-1234") == false)
    }

    @Test func listingMultipartUploadsPagesThroughAll() async throws {
        let f = try await Fixture("mpupages")
        defer { try? f.state.remove() }
        var ids: Set<String> = []
        for index in 0..<5 { ids.insert(try await f.client.createMultipartUpload(key: f.prefix + "u\(index % 2) ü")) }
        let listed = try await f.client.listMultipartUploads(prefix: f.prefix)
        #expect(Set(listed.map(\.uploadID)) == ids)
        #expect(Set(listed.map(\.key)) == [f.prefix + "u0 ü", f.prefix + "u1 ü"])
        for upload in listed { try await f.client.abortMultipartUpload(key: upload.key, uploadID: upload.uploadID) }
    }
}

final class FoundKeys: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ key: String) { list.withLock { $0.append(key) } }
    var keys: [String] { list.withLock { $0 } }
}
