import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import MediaSync
import ObjectStorage
import S3Sync
import SSHTransport
import Synchronization
import SystemPackage
import TestSupport
import Testing

extension TestS3Server {
    /// An s3 destination of this server's shared bucket, under `prefix`.
    func destination(prefix: String, name: String = "s3") -> MediaSyncConfig.S3 {
        var s3 = MediaSyncConfig.S3(provider: "minio", bucket: TestS3Server.sharedBucket)
        s3.name = name
        s3.endpoint = endpoint
        s3.region = region
        s3.prefix = prefix
        s3.proxy = "none"
        return s3
    }
}

/// A source folder, a state folder, and an engine whose destinations are a real SeaweedFS bucket
/// (under a fresh prefix) and, when asked, the real test sshd.
struct S3Fixture {
    let server: TestS3Server
    let source: TemporaryDirectory
    let state: TemporaryDirectory
    let prefix: String
    var config: MediaSyncConfig
    var credentials: AWSCredentials

    init(_ label: String) async throws {
        server = try await TestS3Server.shared()
        source = try TemporaryDirectory(prefix: "dms-src")
        state = try TemporaryDirectory(prefix: "dms-state")
        prefix = "\(label)-\(TestS3Server.randomSuffix())/"
        let s3 = server.destination(prefix: prefix)
        var local = MediaSyncConfig.Local(mediaRoots: [source.path])
        local.minFileAgeSeconds = 0
        config = MediaSyncConfig(local: local, destinations: [.s3(s3)])
        config.state.directory = state.path
        config.state.runtimeDirectory = state.path + "/run"
        config.concurrency.lockFile = state.path + "/run/sync.lock"
        config.deletePolicy.delayMinutes = 0
        config.integrity.transferTimeoutSeconds = 20
        credentials = server.credentials
    }

    var s3: MediaSyncConfig.S3 {
        get { config.destinations.compactMap { if case let .s3(s) = $0 { s } else { nil } }[0] }
        set { config.destinations = config.destinations.map { if case .s3 = $0 { .s3(newValue) } else { $0 } } }
    }

    func store() throws -> StateStore { try StateStore(directory: state.filePath) }

    func destination(_ store: StateStore) -> S3Destination {
        var d = S3Destination(
            settings: S3Settings(s3, of: config),
            integrity: config.integrity, store: store)
        d.credentialsOverride = credentials
        return d
    }

    func cycle(extra: [any Destination] = [], observer: any CycleObserver = SilentObserver()) async throws -> CycleSummary {
        let store = try store()
        var logger = Logger(label: "test")
        logger.logLevel = .error
        var engine = SyncEngine(config: config, store: store, destinations: extra + [destination(store)], logger: logger)
        engine.destinationLimiters = BandwidthLimiter.perDestination(config) // as Bootstrap does
        return await engine.runCycle(observer: observer)
    }

    @discardableResult
    func add(_ name: String, size: Int, seed: UInt64 = 1) throws -> FilePath {
        let path = source.appending(name)
        try LocalFS.createDirectories(path.removingLastComponent())
        try TestFiles.write(size: size, seed: seed, to: path, modified: .secondsAgo(3600))
        return path
    }

    func client() throws -> S3Client { try server.client(bucket: TestS3Server.sharedBucket) }

    /// Every object under the prefix: key (without the prefix) → size.
    func objects() async throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        var token: String?
        let client = try client()
        repeat {
            let page = try await client.listObjectsV2(prefix: prefix, continuationToken: token)
            for object in page.objects { out[String(object.key.dropFirst(prefix.count))] = object.size }
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return out
    }

    func cleanUp() {
        try? source.remove()
        try? state.remove()
    }
}

@Suite struct S3CycleTests {
    @Test func aCycleUploadsVerifiedObjectsUnderTheDateLayoutAndQueuesTheSources() async throws {
        var f = try await S3Fixture("cycle")
        defer { f.cleanUp() }
        var s3 = f.s3
        s3.multipartThresholdMiB = 5 // the video goes up in parts
        f.s3 = s3
        let photo = try f.add("DCIM/DJI_20250101123456_0001_D.JPG", size: 300_000, seed: 1)
        let video = try f.add("DCIM/DJI_20250102090000_0002_V.MP4", size: 12 << 20, seed: 2)
        try f.add("DJI_20250103120000_100%.SRT", size: 0, seed: 3)
        let first = try await f.cycle()
        #expect(first.status == .ok, "\(first.messages)")
        #expect(first.filesCopied == 3)
        let objects = try await f.objects()
        #expect(
            objects == [
                "2025/01/01/DJI_20250101123456_0001_D.JPG": 300_000,
                "2025/01/02/DJI_20250102090000_0002_V.MP4": 12 << 20,
                "2025/01/03/DJI_20250103120000_100%25.SRT": 0
            ])
        // The objects carry the files' SHA-256, which the server checked on the way in.
        for (path, key) in [(photo, "2025/01/01/DJI_20250101123456_0001_D.JPG"), (video, "2025/01/02/DJI_20250102090000_0002_V.MP4")] {
            let head = try await f.client().headObject(key: f.prefix + key)
            #expect(head.userMetadata["dms-sha256"] == SHA256Hasher.hash(try FileIO.readWholeFile(path, limit: 1 << 30)).hex)
        }
        // The ledger knows them: a second run sends nothing; and the delete queue deleted the
        // sources after re-verifying each object (delay 0).
        let second = try await f.cycle()
        #expect(second.filesCopied == 0 && second.bytesCopied == 0 && second.failed == 0)
        #expect(!LocalFS.exists(photo) && !LocalFS.exists(video))
        #expect(try f.store().multipartUploads().isEmpty, "a completed upload leaves no journal entry")
    }

    @Test func anObjectOfTheSameNameWithOtherContentIsKeptAndTheFileTakesTheNextName() async throws {
        let f = try await S3Fixture("conflict")
        defer { f.cleanUp() }
        try f.add("DJI_20250105120000_0001.JPG", size: 1000, seed: 7)
        let other = try TemporaryDirectory(prefix: "dms-other")
        defer { try? other.remove() }
        let otherFile = other.appending("x")
        try TestFiles.write(size: 500, seed: 8, to: otherFile)
        _ = try await f.client().putObject(key: f.prefix + "2025/01/05/DJI_20250105120000_0001.JPG", file: otherFile)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 1, "\(summary.messages)")
        #expect(try await f.objects() == ["2025/01/05/DJI_20250105120000_0001.JPG": 500, "2025/01/05/DJI_20250105120000_0001_1.JPG": 1000])
    }

    @Test func aWrongSecretIsAnAuthenticationFailureAndNothingIsQueued() async throws {
        var f = try await S3Fixture("badsecret")
        defer { f.cleanUp() }
        f.credentials = AWSCredentials(accessKeyID: f.server.accessKeyID, secretAccessKey: "not-the-secret")
        let file = try f.add("DJI_20250106_0001.JPG", size: 1000)
        let summary = try await f.cycle()
        #expect(summary.filesCopied == 0)
        #expect(summary.unavailableDestinations == ["s3"])
        #expect(summary.messages.joined().contains("signature"), "\(summary.messages)")
        #expect(!summary.messages.joined().contains("not-the-secret"))
        // An authentication failure, said as such (not "s3 unreachable").
        #expect(summary.unavailableKinds["s3"] == .authentication)
        #expect(summary.health?.findings.map(\.rule).contains("authentication:s3") == true, "\(summary.health?.findings ?? [])")
        #expect(summary.health?.findings.contains { $0.rule.hasPrefix("unreachable") } == false)
        #expect(try f.store().counts().queuePending == 0)
        #expect(LocalFS.exists(file))
    }

    /// With a NAS and a bucket, a file the NAS verified but the bucket could not take stays
    /// where it is: a source is queued for deletion only once every destination holds it.
    @Test func withNASAndS3ASourceIsQueuedOnlyWhenBothHoldIt() async throws {
        var f = try await S3Fixture("both")
        defer { f.cleanUp() }
        let ssh = try await TestSSHServer.shared()
        let remoteBase = try ssh.makeRemoteBase(name: "both")
        defer { try? TemporaryDirectory.remove(path: remoteBase) }
        var nas = MediaSyncConfig.NAS(host: ssh.host, basePath: remoteBase)
        nas.port = ssh.port
        nas.user = ssh.user
        nas.identityFile = ssh.identityFile
        nas.knownHostsFile = ssh.knownHostsFile
        nas.sshConfigFile = "none"
        f.config.destinations.insert(.nas(nas), at: 0)
        let store = try f.store()
        let nasDestination = NASDestination(
            config: nas, integrity: f.config.integrity, concurrency: f.config.concurrency,
            runtimeDirectory: f.config.state.runtimeDirectory, instanceID: try store.instanceID())
        let file = try f.add("DJI_20250107120000_0001.JPG", size: 4000)

        f.credentials = AWSCredentials(accessKeyID: f.server.accessKeyID, secretAccessKey: "wrong")
        let failing = try await f.cycle(extra: [nasDestination])
        #expect(failing.filesCopied == 1, "the NAS took it")
        #expect(failing.unavailableDestinations == ["s3"])
        #expect(try f.store().counts().queuePending == 0, "not queued: the bucket does not hold it")
        #expect(LocalFS.exists(file))

        f.credentials = f.server.credentials
        let healed = try await f.cycle(extra: [nasDestination])
        #expect(healed.filesCopied == 1, "the bucket took it")
        _ = try await f.cycle(extra: [nasDestination])
        #expect(!LocalFS.exists(file), "both verified it again, then it was deleted (delay 0)")
        #expect(try await f.objects().keys.contains("2025/01/07/DJI_20250107120000_0001.JPG"))
    }
}

@Suite struct S3BandwidthTests {
    /// Records when each chunk went out (after the limiters let it through).
    final class RateProbe: CycleObserver {
        let chunks = Mutex<[(at: ContinuousClock.Instant, bytes: Int)]>([])
        func fileStarted(_ item: TransferItem) {}
        func bytesMoved(_ count: Int) { chunks.withLock { $0.append((.now, count)) } }
    }

    /// A bucket's own `bandwidth_schedule` holds its upload (curl's read callback) to the rate in force.
    @Test func aBucketsScheduledLimitSlowsARealUpload() async throws {
        var f = try await S3Fixture("bw-schedule")
        defer { f.cleanUp() }
        let clock = DateFormatter()
        clock.locale = Locale(identifier: "en_US_POSIX")
        clock.dateFormat = "HH:mm"
        let from = clock.string(from: Date().addingTimeInterval(-60)), to = clock.string(from: Date().addingTimeInterval(7200))
        f.s3.bandwidthSchedule = try BandwidthSchedule.parse("\(from),1M \(to),off")
        let size = 3 << 20
        try f.add("DJI_20250107120000_0001_V.MP4", size: size)
        let probe = RateProbe()
        let summary = try await f.cycle(observer: probe)
        #expect(summary.filesCopied == 1, "\(summary.messages)")
        let chunks = probe.chunks.withLock { $0 }
        let moved = chunks.map(\.bytes).reduce(0, +)
        #expect(moved >= size)
        let first = try #require(chunks.first), last = try #require(chunks.last)
        let rate = Double(moved - first.bytes) / (last.at - first.at).inSeconds
        #expect(rate > 0.85 * 1_048_576 && rate < 1.2 * 1_048_576, "\(rate) B/s, \(chunks.count) chunks")
    }
}

@Suite struct S3HostileNameTests {
    /// Names that break shells, URLs and XML go up, are verified, and come back from a listing as
    /// the keys they should be; a non-UTF-8 name is stored %-escaped.
    @Test func hostileNamesBecomeExactKeys() async throws {
        let f = try await S3Fixture("hostile")
        defer { f.cleanUp() }
        let names: [[UInt8]] = [
            Array("DJI_20250108120000_0001 it's \"quoted\".JPG".utf8),
            Array("DJI_20250108120000_0002 $(rm -rf ~) `id`.JPG".utf8),
            Array("-DJI_20250108120000_0003 leading dash.JPG".utf8),
            Array("DJI_20250108120000_0004 line\nbreak.JPG".utf8),
            Array("DJI_20250108120000_0005 &<>?#%+=;.JPG".utf8),
            Array("DJI_20250108120000_0006 航拍 ünïcödé.JPG".utf8),
            Array("DJI_20250108120000_0007 latin1 ".utf8) + [0xE9, 0xFF] + Array(".JPG".utf8),
            // SeaweedFS stores `\` as `/`; XML 1.0 cannot carry U+0001 in DeleteObjects.
            Array("DJI_20250108120000_0009 back\\slash.JPG".utf8),
            Array("DJI_20250108120000_0010 ctl\u{01}\u{1F}.JPG".utf8),
            Array("DJI_20250108120000_0008_".utf8) + Array(repeating: UInt8(ascii: "x"), count: 255 - 28) + Array(".JPG".utf8)
        ]
        #expect(names.last?.count == 255)
        var expected: [String: Int64] = [:]
        for (index, name) in names.enumerated() {
            try TestFiles.write(size: 100 + index, seed: UInt64(index), to: f.source.appending(name: name), modified: .secondsAgo(3600))
            let day = RemoteLayout().day(forName: name, mtimeNanoseconds: try LocalFS.status(f.source.appending(name: name)).identity.mtimeNanoseconds)
            expected["\(day)/" + S3Settings.keyName(name)] = Int64(100 + index)
        }
        let summary = try await f.cycle()
        #expect(summary.filesCopied == names.count, "\(summary.messages)")
        #expect(summary.failed == 0)
        #expect(try await f.objects() == expected)
        #expect(expected.keys.contains { $0.hasSuffix("latin1 %E9%FF.JPG") })
        #expect(expected.keys.contains { $0.hasSuffix("back%5Cslash.JPG") })
        // And they verify again before deletion (delay 0): every source is gone after the next cycle.
        let second = try await f.cycle()
        #expect(second.deleted == names.count, "\(second.messages)")
    }
}
