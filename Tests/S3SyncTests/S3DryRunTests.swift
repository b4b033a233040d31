import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import MediaSync
import ObjectStorage
import S3Sync
import SystemPackage
import TestSupport
import Testing

/// Issue 13, 3: the dry run asks the bucket (a HEAD per key) what it holds under each planned key,
/// and writes nothing: no object, no row in the state database.
@Suite struct S3DryRunTests {
    @Test func theDryRunCountsWhatTheBucketHoldsAndWritesNothing() async throws {
        let f = try await S3Fixture("dry-run")
        defer { f.cleanUp() }
        let settings = S3Settings(f.s3, of: f.config)
        let layout = RemoteLayout(f.config.layout)
        func key(_ name: String) -> String {
            let place = layout.place(name: Array(name.utf8), mtimeNanoseconds: 0)
            return settings.key(directory: place.directory, name: place.name)
        }
        let client = try f.client()
        /// An object as the daemon stores it (SHA-256 checksum and x-amz-meta-dms-sha256).
        func put(_ name: String, _ bytes: [UInt8]) async throws {
            let file = f.state.appending("upload-\(UUID().uuidString)")
            try TestFiles.write(bytes, to: file)
            defer { try? LocalFS.unlink(file) }
            _ = try await client.putObject(key: key(name), file: file, metadata: ["dms-sha256": SHA256Hasher.hash(bytes).hex])
        }
        let same = "DJI_20250101000000_0001_D.JPG"
        try f.add(same, size: 5000, seed: 1)
        try await put(same, TestFiles.pseudoRandomBytes(count: 5000, seed: 1))
        let sameSize = "DJI_20250101000001_0002_D.JPG"
        try f.add(sameSize, size: 5000, seed: 2)
        try await put(sameSize, TestFiles.pseudoRandomBytes(count: 5000, seed: 99))
        let otherSize = "DJI_20250101000002_0003_V.MP4"
        try f.add(otherSize, size: 3000, seed: 3)
        try await put(otherSize, TestFiles.pseudoRandomBytes(count: 10, seed: 98))
        try f.add("DJI_20250102000000_0004_D.JPG", size: 7000, seed: 4)
        _ = try f.store().instanceID()

        let objectsBefore = try await f.objects()
        let database = f.state.filePath.appending("state.sqlite")
        let databaseBefore = (try FileIO.readWholeFile(database, limit: 1 << 30), try LocalFS.status(database).identity.mtimeNanoseconds)
        let summary = try await Self.dryRun(f)
        let s3 = try #require(summary.dryRun?.destinations.first)
        #expect(s3.unavailable == nil, "\(summary.messages)")
        #expect(s3.wouldCopy == 1)
        #expect(s3.wouldCopyBytes == 7000)
        #expect(s3.alreadyThere == 1)
        #expect(s3.wouldRename == 2)
        #expect(s3.wouldRenameBytes == 8000)
        #expect(s3.failed == 0 && s3.changed == 0)
        #expect(s3.compared?.contains("SHA-256") == true)

        #expect(try await f.objects() == objectsBefore, "nothing was uploaded")
        #expect(try FileIO.readWholeFile(database, limit: 1 << 30) == databaseBefore.0, "the state database is unchanged")
        #expect(try LocalFS.status(database).identity.mtimeNanoseconds == databaseBefore.1)

        let real = try await f.cycle()
        #expect(real.filesCopied == 3, "\(real.messages)")
        #expect(real.filesAlreadyPresent == 1)
    }

    @Test func aBucketThatCannotBeReachedIsReportedForThatDestination() async throws {
        var f = try await S3Fixture("dry-run-unreachable")
        defer { f.cleanUp() }
        try f.add("DJI_20250101000000_0001_D.JPG", size: 100, seed: 1)
        f.credentials = AWSCredentials(accessKeyID: "wrong", secretAccessKey: "wrong-secret")
        let summary = try await Self.dryRun(f)
        let s3 = try #require(summary.dryRun?.destinations.first)
        #expect(s3.unavailable?.kind == .authentication, "\(summary.messages)")
        #expect(summary.unavailableDestinations == ["s3"])
    }

    /// A dry run on an engine whose store is closed when it returns (so the database file on disk
    /// is all there is to compare).
    static func dryRun(_ f: S3Fixture) async throws -> CycleSummary {
        let store = try f.store()
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return await SyncEngine(config: f.config, store: store, destinations: [f.destination(store)], logger: logger).runCycle(dryRun: true)
    }
}
