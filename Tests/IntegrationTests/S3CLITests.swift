import Foundation
import Hashing
import LocalFS
import MediaSync
import ObjectStorage
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// The object-storage commands (cleanup, presign, upload, bucket) as an operator runs them,
/// against the real SeaweedFS server. Every run's stderr is checked for the secret key.
@Suite struct S3CLITests {
    struct Setup {
        let server: TestS3Server
        let client: S3Client
        let prefix: String
        let state: TemporaryDirectory
        let configPath: String

        init(_ label: String, destination extra: [String: Any] = [:]) async throws {
            server = try await TestS3Server.shared()
            (client, prefix) = try server.makeScope(label)
            state = try TemporaryDirectory(prefix: "dms-s3-cli")
            configPath = state.path + "/config.json"
            let config: [String: Any] = [
                "local": ["media_roots": [state.path + "/media"], "min_file_age_seconds": 0],
                "destinations": [
                    [
                        "type": "s3", "name": "cloud", "provider": "minio", "bucket": TestS3Server.sharedBucket,
                        "endpoint": server.endpoint, "region": server.region, "prefix": prefix, "proxy": "none"
                    ]
                    .merging(extra) { $1 }
                ],
                "concurrency_control": ["lock_file": state.path + "/run/sync.lock"],
                "state": ["directory": state.path + "/db", "runtime_directory": state.path + "/run"]
            ]
            try LocalFS.createDirectories(FilePath(state.path + "/media"), mode: 0o755)
            let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted])
            try TestFiles.write([UInt8](data), to: FilePath(configPath))
        }

        /// Runs the binary with the server's credentials in its environment; fails the test if the
        /// secret key shows up anywhere in its output.
        func run(_ arguments: [String], credentials: Bool = true) async throws -> (status: TerminationStatus, out: String, err: String) {
            let env: [Environment.Key: String?] =
                credentials
                ? ["AWS_ACCESS_KEY_ID": server.accessKeyID, "AWS_SECRET_ACCESS_KEY": server.secretAccessKey]
                : ["AWS_ACCESS_KEY_ID": nil, "AWS_SECRET_ACCESS_KEY": nil]
            let r = try await Subprocess.run(
                .path(FilePath(try CLITests.binary())), arguments: Arguments(arguments),
                environment: .inherit.updating(env),
                output: .string(limit: 1 << 22), error: .string(limit: 1 << 20))
            let out = r.standardOutput, err = r.standardError
            #expect(!out.contains(server.secretAccessKey) && !err.contains(server.secretAccessKey), "the secret key was printed")
            return (r.terminationStatus, out, err)
        }

        func keys() async throws -> [String] {
            try await client.listObjectsV2(prefix: prefix).objects.map(\.key)
        }

        func upload(_ keys: [String]) async throws {
            let file = try state.writeFile("payload", bytes: Array("payload".utf8))
            for key in keys { _ = try await client.putObject(key: key, file: file) }
        }
    }

    /// The `X-Amz-Signature` value of a presigned URL.
    static func signature(_ url: String) throws -> String {
        let query = try #require(url.split(separator: "?", maxSplits: 1).last)
        let pair = try #require(query.split(separator: "&").first { $0.hasPrefix("X-Amz-Signature=") })
        return String(pair.dropFirst("X-Amz-Signature=".count))
    }

    static func curl(_ arguments: [String]) async throws -> (status: String, body: String) {
        let r = try await Subprocess.run(
            .name("curl"), arguments: Arguments(["-sS", "-o", "-", "-w", "\n%{http_code}"] + arguments),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 16))
        let out = r.standardOutput
        let status = String(out.split(separator: "\n").last ?? "")
        return (status, String(out.dropLast(status.count + 1)))
    }

    @Test func cleanupListsOrphansInADryRunAndDeletesOnlyThemWithApply() async throws {
        let s = try await Setup("cli-orphans")
        defer { try? s.state.remove() }
        let a = s.prefix + "2025/01/01/A it's.JPG", b = s.prefix + "2025/01/01/B $(id) ü%.JPG", c = s.prefix + "2025/01/01/C \"q\".JPG"
        try await s.upload([a, b, c])
        let store = try StateStore(directory: FilePath(s.state.path + "/db"))
        let placements = [a, c].enumerated().map { index, key in
            StateStore.Placement(
                item: TransferItem(
                    id: index, localPath: FilePath("/media/\(index)"),
                    identity: FileIdentity(size: 7, mtimeNanoseconds: 1, inode: UInt64(index + 1), device: 1),
                    remoteDirectory: "", remoteName: Array(key.utf8)),
                remotePath: FilePath(bytes: Array(key.utf8)), sha256: SHA256Hasher.hash(Array("payload".utf8)), alreadyPresent: false)
        }
        try store.recordPlacements(placements, destination: "cloud", allDestinations: ["cloud"], cycleID: nil, deleteDelaySeconds: 3600)

        let dry = try await s.run(["cleanup", "--older-than-hours", "0", "--config", s.configPath])
        #expect(dry.status == .exited(0), "\(dry.out)\(dry.err)")
        #expect(dry.out.contains("would delete orphan") && dry.out.contains(b))
        #expect(!dry.out.contains(a) && !dry.out.contains(c))
        #expect(dry.out.contains("orphans: found 1, would remove 1, failed 0"))
        #expect(try await s.keys().count == 3)
        // The same dry run for scripts: one object, the orphan's whole key, stable nulls.
        let json = try await s.run(["cleanup", "--older-than-hours", "0", "--json", "--config", s.configPath])
        #expect(json.status == .exited(0), "\(json.out)\(json.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(report["schema_version"] as? Int == 1 && report["apply"] as? Bool == false && report["exit_status"] as? Int == 0)
        let orphans = try #require(report["orphans"] as? [String: Any])
        #expect(orphans["found"] as? Int == 1 && orphans["error"] is NSNull)
        #expect((orphans["items"] as? [[String: Any]])?.map { $0["key"] as? String } == [b])
        #expect((report["stale_uploads"] as? [String: Any])?["found"] as? Int == 0)

        let applied = try await s.run(["cleanup", "--older-than-hours", "0", "--apply", "--config", s.configPath])
        #expect(applied.status == .exited(0), "\(applied.out)\(applied.err)")
        #expect(applied.out.contains("orphans: found 1, removed 1, failed 0"))
        #expect(try await s.keys().sorted() == [a, c].sorted())
    }

    @Test func cleanupAbortsAStaleUploadOnlyWhenOldEnough() async throws {
        let s = try await Setup("cli-stale")
        defer { try? s.state.remove() }
        let key = s.prefix + "2025/01/01/big.MP4"
        let id = try await s.client.createMultipartUpload(key: key)
        let kept = try await s.run(["cleanup", "--older-than-hours", "48", "--apply", "--config", s.configPath])
        #expect(kept.status == .exited(0), "\(kept.out)\(kept.err)")
        #expect(kept.out.contains("stale uploads: found 0"))
        #expect(try await s.client.listMultipartUploads(prefix: s.prefix).map(\.uploadID) == [id])
        let aborted = try await s.run(["cleanup", "--older-than-hours", "0", "--apply", "--config", s.configPath])
        #expect(aborted.status == .exited(0), "\(aborted.out)\(aborted.err)")
        #expect(aborted.out.contains("stale uploads: found 1, removed 1, failed 0"))
        #expect(try await s.client.listMultipartUploads(prefix: s.prefix).isEmpty)
    }

    @Test func aPresignedGetWorksThroughCurlAndATamperedOneIsRefused() async throws {
        let s = try await Setup("cli-presign")
        defer { try? s.state.remove() }
        let key = s.prefix + "2025/01/01/shared photo ü.JPG"
        try await s.upload([key])
        let presign = try await s.run(["presign", "get", key, "--expires", "90m", "--config", s.configPath])
        #expect(presign.status == .exited(0), "\(presign.err)")
        let url = presign.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let signature = try Self.signature(url)
        #expect(!presign.err.contains(signature), "the signature reached stderr")
        #expect(url.contains("X-Amz-Expires=5400"))

        let good = try await Self.curl([url])
        #expect(good.status == "200" && good.body == "payload")

        // One hex digit of the signature changed.
        let last = signature.last!
        let tamperedSignature = String(signature.dropLast()) + (last == "0" ? "1" : "0")
        let tampered = url.replacingOccurrences(of: "X-Amz-Signature=" + signature, with: "X-Amz-Signature=" + tamperedSignature)
        let bad = try await Self.curl([tampered])
        #expect(bad.status == "403", "\(bad)")
    }

    @Test func aPresignedPutTakesAnUploadWithNoCredentials() async throws {
        let s = try await Setup("cli-upload")
        defer { try? s.state.remove() }
        let key = s.prefix + "2025/01/01/upload 'x' $(y).MP4"
        let presign = try await s.run(["presign", "put", key, "--expires", "3600s", "--content-type", "video/mp4", "--config", s.configPath])
        #expect(presign.status == .exited(0), "\(presign.err)")
        let url = presign.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let getURL = try await s.run(["presign", "get", key, "--config", s.configPath]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = try s.state.writeFile("clip.MP4", size: 3 << 20, seed: 7)

        let upload = try await s.run(
            ["upload", "--presigned-url", url, "--verify-url", getURL, "--content-type", "video/mp4", file.string],
            credentials: false)
        #expect(upload.status == .exited(0), "\(upload.out)\(upload.err)")
        #expect(upload.out.contains("stored size verified"))
        let putSignature = try Self.signature(url)
        #expect(!upload.out.contains(putSignature) && !upload.err.contains(putSignature))
        let head = try await s.client.headObject(key: key)
        #expect(head.size == 3 << 20)
        #expect(head.contentType == "video/mp4")

        // A wrong content type does not match the signature: refused, and the error shows no signature.
        let refused = try await s.run(["upload", "--presigned-url", url, "--content-type", "image/jpeg", file.string], credentials: false)
        #expect(refused.status == .exited(1))
        #expect(refused.err.contains("refused") && refused.err.contains("403"), "\(refused.err)")
        #expect(!refused.err.contains(putSignature) && !refused.err.contains("X-Amz-Signature"))
    }

    @Test func presignRefusesMoreThanSevenDaysAndBadInput() async throws {
        let s = try await Setup("cli-presign-limits")
        defer { try? s.state.remove() }
        let long = try await s.run(["presign", "get", "k", "--expires", "8d", "--config", s.configPath])
        #expect(long.status != .exited(0))
        #expect(long.err.contains("at most 7 days"), "\(long.err)")
        let ok = try await s.run(["presign", "get", "k", "--expires", "7d", "--config", s.configPath])
        #expect(ok.status == .exited(0), "\(ok.err)")
        let noCredentials = try await s.run(["presign", "get", "k", "--config", s.configPath], credentials: false)
        #expect(noCredentials.status == .exited(78))
        #expect(noCredentials.err.contains("AWS_ACCESS_KEY_ID"))
    }

    @Test func bucketListCreateAndDeleteOfItsOwnBucket() async throws {
        let s = try await Setup("cli-bucket")
        defer { try? s.state.remove() }
        // A bucket of its own (never the shared one: SeaweedFS deletes a bucket with its objects).
        let bucket = "dms-cli-bucket-" + TestS3Server.randomSuffix()
        let text = try String(contentsOfFile: s.configPath, encoding: .utf8)
            .replacingOccurrences(of: "\"\(TestS3Server.sharedBucket)\"", with: "\"\(bucket)\"")
        try TestFiles.write(Array(text.utf8), to: FilePath(s.configPath))
        let own = try s.server.client(bucket: bucket)

        let create = try await s.run(["bucket", "create", "--config", s.configPath])
        #expect(create.status == .exited(0), "\(create.err)")
        let list = try await s.run(["bucket", "list", "--config", s.configPath])
        #expect(list.status == .exited(0), "\(list.err)")
        let names = list.out.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
        #expect(names.contains(bucket) && names.contains(TestS3Server.sharedBucket), "\(list.out)")

        // Not empty: refused, nothing deleted.
        let file = try s.state.writeFile("payload", bytes: Array("payload".utf8))
        _ = try await own.putObject(key: "keep me", file: file)
        let refused = try await s.run(["bucket", "delete", "--config", s.configPath])
        #expect(refused.status == .exited(2))
        #expect(refused.err.contains("not empty") && refused.err.contains("keep me"), "\(refused.err)")
        #expect(try await own.headObject(key: "keep me").size == 7)

        try await own.deleteObject(key: "keep me")
        let deleted = try await s.run(["bucket", "delete", "--config", s.configPath])
        #expect(deleted.status == .exited(0), "\(deleted.err)")
        let after = try await s.run(["bucket", "list", "--config", s.configPath])
        #expect(!after.out.split(separator: "\n").contains { $0.hasPrefix(bucket + "\t") })
    }
}
