import Foundation
import ObjectStorage
import Subprocess
import TestSupport
import Testing

/// The daemon's own cleanup of stale multipart uploads (cleanup_interval_hours,
/// cleanup_on_shutdown), in a running `dji-media-sync run` against the real SeaweedFS.
@Suite struct S3DaemonCleanupTests {
    func credentials(_ s: S3CLITests.Setup) -> [Environment.Key: String?] {
        ["AWS_ACCESS_KEY_ID": s.server.accessKeyID, "AWS_SECRET_ACCESS_KEY": s.server.secretAccessKey]
    }

    @Test func aStaleUploadIsAbortedPeriodically() async throws {
        // Stale after 0.36 s; a cleanup every 3.6 s.
        let s = try await S3CLITests.Setup(
            "daemon-periodic",
            destination: [
                "abort_stale_uploads_after_hours": 0.0001, "cleanup_interval_hours": 0.001, "cleanup_on_shutdown": false
            ])
        defer { try? s.state.remove() }
        let id = try await s.client.createMultipartUpload(key: s.prefix + "left-behind.MP4")
        // The first cleanup runs when the first cycle ends, which can now be within 0.36 s of the
        // daemon's start: the upload must already be stale by then (a precondition, not a sleep).
        let created = ContinuousClock.now
        try await waitUntil(timeout: .seconds(5), waitingFor: "the upload to be older than the stale limit") {
            ContinuousClock.now - created > .milliseconds(500)
        }
        let (status, log) = try await DaemonTests.withDaemon(
            statePath: s.state.path, configPath: s.configPath,
            environment: credentials(s)
        ) { execution, _, log in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the stale upload aborted") {
                try await s.client.listMultipartUploads(prefix: s.prefix).allSatisfy { $0.uploadID != id }
            }
            try await waitUntil(timeout: .seconds(10), waitingFor: "the cleanup's summary") { log().contains("s3 cleanup of cloud") }
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0), "\(log)")
        #expect(log.contains("message_id=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c14"))
        #expect(!log.contains(s.server.secretAccessKey))
    }

    @Test func withoutPeriodicCleanupAStaleUploadIsAbortedWhenTheDaemonStops() async throws {
        let s = try await S3CLITests.Setup(
            "daemon-shutdown",
            destination: [
                "abort_stale_uploads_after_hours": 0.0001, "cleanup_interval_hours": 0, "cleanup_on_shutdown": true
            ])
        defer { try? s.state.remove() }
        let id = try await s.client.createMultipartUpload(key: s.prefix + "left-behind.MP4")
        let (status, log) = try await DaemonTests.withDaemon(
            statePath: s.state.path, configPath: s.configPath,
            environment: credentials(s)
        ) { execution, n, _ in
            try await waitUntil(timeout: .seconds(30), waitingFor: "the first cycle idle") {
                n.all.contains { $0.hasPrefix("STATUS=idle") }
            }
            // Periodic cleanup is off: the upload is still there while the daemon runs.
            #expect(try await s.client.listMultipartUploads(prefix: s.prefix).contains { $0.uploadID == id })
            try execution.send(signal: .terminate)
        }
        #expect(status == .exited(0), "\(log)")
        #expect(try await s.client.listMultipartUploads(prefix: s.prefix).allSatisfy { $0.uploadID != id })
        #expect(log.contains("s3 cleanup of cloud"))
    }
}
