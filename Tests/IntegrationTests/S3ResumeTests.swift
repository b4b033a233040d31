import Foundation
import Glibc
import Hashing
import LocalFS
import MediaSync
import ObjectStorage
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `dji-media-sync sync --once` to a real SeaweedFS bucket, killed with SIGKILL in the middle of a
/// multipart upload, then run again.
@Suite struct S3ResumeTests {
    @Test func killDashNineMidMultipartUploadThenTheNextRunSendsOnlyTheMissingParts() async throws {
        let server = try await TestS3Server.shared()
        let source = try TemporaryDirectory(prefix: "dms-s3-src")
        let state = try TemporaryDirectory(prefix: "dms-s3-state")
        defer {
            try? source.remove()
            try? state.remove()
        }
        let prefix = "resume-\(TestS3Server.randomSuffix())/"
        let configPath = state.path + "/config.json"
        func writeConfig(bandwidth: Int) throws {
            let config: [String: Any] = [
                "local": ["media_roots": [source.path], "min_file_age_seconds": 0],
                "destinations": [
                    [
                        "type": "s3", "provider": "minio", "endpoint": server.endpoint, "region": server.region,
                        "bucket": TestS3Server.sharedBucket, "prefix": prefix, "proxy": "none",
                        "multipart_threshold_mib": 5, "part_size_mib": 5, "parallel_parts": 1
                    ]
                ],
                "concurrency_control": ["lock_file": state.path + "/run/sync.lock", "bandwidth_limit_bytes_per_second": bandwidth],
                "state": ["directory": state.path + "/db", "runtime_directory": state.path + "/run"],
                "delete_policy": ["delay_minutes": 60]
            ]
            try TestFiles.write([UInt8](try JSONSerialization.data(withJSONObject: config)), to: FilePath(configPath))
        }
        let environment = Environment.inherit.updating([
            "AWS_ACCESS_KEY_ID": server.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": server.secretAccessKey
        ])
        let fileSize = 42 << 20 // 9 parts of 5 MiB
        let video = source.appending("DJI_20250101120000_0001_V.MP4")
        try TestFiles.write(size: fileSize, seed: 11, to: video, modified: .secondsAgo(3600))
        let key = prefix + "2025/01/01/DJI_20250101120000_0001_V.MP4"

        // 1. Slowed to 3 MB/s (the whole file would take 15 s: a busy test runner still sees two parts
        //    journaled before it ends), killed once two parts are journaled.
        try writeConfig(bandwidth: 3_000_000)
        let binary = try CLITests.binary()
        // The first run's log, for the failure message.
        let logPath = FilePath(state.path + "/first-run.log")
        let logFD = try FileDescriptor.open(logPath, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
        let killed = try await Subprocess.run(
            .path(FilePath(binary)), arguments: ["sync", "--once", "--config", configPath],
            environment: environment, input: .none, output: .discarded,
            error: .fileDescriptor(logFD, closeAfterSpawningProcess: true)
        ) { execution in
            do {
                var ended = false
                try await waitUntil(timeout: .seconds(120), poll: .milliseconds(20), waitingFor: "two journaled parts") {
                    let store = try? StateStore(directory: FilePath(state.path + "/db"))
                    ended = ProcessTree.hasEnded(execution.processIdentifier.value)
                    return ended || (try? store?.multipartUploads().first?.parts.count ?? 0) ?? 0 >= 2
                }
                if ended { throw TestSupportError("the first run ended before two parts were journaled") }
            } catch {
                let log = (try? FileIO.readWholeFile(logPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                throw TestSupportError("\(error)\nthe first run's log:\n\(log)")
            }
            try execution.send(signal: .kill)
        }
        #expect(killed.terminationStatus == .signaled(SIGKILL))
        let client = try server.client(bucket: TestS3Server.sharedBucket)
        await #expect(throws: S3Error.self, "no object before the upload completes") { _ = try await client.headObject(key: key) }
        let journaled = try #require(try StateStore(directory: FilePath(state.path + "/db")).multipartUploads().first)
        let partsBefore = try await client.listParts(key: key, uploadID: journaled.uploadID).count
        #expect(partsBefore >= 2 && partsBefore < 9)

        // 2. Full speed: only the parts the server lacks are sent.
        try writeConfig(bandwidth: 0)
        let second = try await Subprocess.run(
            .path(FilePath(binary)), arguments: ["sync", "--once", "--config", configPath],
            environment: environment, output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        #expect(second.terminationStatus == .exited(0), "\(second.standardError)")
        let log = second.standardError
        #expect(log.contains("resumed the multipart upload"), "\(log)")
        #expect(log.contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c13"), "the resume is an event operators can find")
        let store = try StateStore(directory: FilePath(state.path + "/db"))
        #expect(try store.cycles(since: 0).first?.filesCopied == 1)
        // "resumed the multipart upload of KEY: N parts (B bytes) were already stored"
        let skipped =
            log.split(separator: "\n").first { $0.contains("resumed the multipart upload") }
            .flatMap { line in line.range(of: ": ").map { line[$0.upperBound...].split(separator: " ").first } } ?? nil
        #expect(skipped.flatMap { Int($0) }.map { $0 >= partsBefore } == true, "\(partsBefore) parts were stored: \(log)")
        let head = try await client.headObject(key: key)
        #expect(head.size == Int64(fileSize))
        #expect(head.userMetadata["dms-sha256"] == SHA256Hasher.hash(try FileIO.readWholeFile(video, limit: 1 << 30)).hex)
        #expect(try store.multipartUploads().isEmpty)
        #expect(try await client.listMultipartUploads(prefix: prefix).isEmpty, "no upload left behind")
    }
}
