import Foundation
import Hashing
import LocalFS
import MediaSync
import ObjectStorage
import Subprocess
import SystemPackage
import TestSupport
import Testing

/// `object delete` and `url` as an operator runs them, against the real SeaweedFS server.
@Suite struct S3ObjectCLITests {
    typealias Setup = S3CLITests.Setup

    static func exists(_ s: Setup, _ key: String) async throws -> Bool {
        do {
            _ = try await s.client.headObject(key: key)
            return true
        } catch  where error.kind == .notFound { return false }
    }

    static func line(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Records `key` in the ledger as the copy of a source, with the source's deletion pending.
    static func record(_ s: Setup, _ key: String) throws -> StateStore {
        let store = try StateStore(directory: FilePath(s.state.path + "/db"))
        let placement = StateStore.Placement(
            item: TransferItem(
                id: 0, localPath: FilePath("/media/DJI_0001.JPG"),
                identity: FileIdentity(size: 7, mtimeNanoseconds: 1, inode: 1, device: 1),
                remoteDirectory: "", remoteName: Array(key.utf8)),
            remotePath: FilePath(bytes: Array(key.utf8)), sha256: SHA256Hasher.hash(Array("payload".utf8)), alreadyPresent: false)
        try store.recordPlacements([placement], destination: "cloud", allDestinations: ["cloud"], cycleID: nil, deleteDelaySeconds: 3600)
        return store
    }

    @Test func deletesByKeyByPathStyleURLAndByPresignedURLThenSaysAMissingOneIsMissing() async throws {
        let s = try await Setup("cli-object-delete")
        defer { try? s.state.remove() }
        let byKey = s.prefix + "a b+c 100%.JPG", byURL = s.prefix + "ü/日本 x+y%25.MP4", byPresigned = s.prefix + "dots..x/p q (1)&=.JPG"
        // (SeaweedFS refuses `..` and `.` segments in keys: S3ObjectURLTests covers them.)
        try await s.upload([byKey, byURL, byPresigned])

        let key = try await s.run(["object", "delete", byKey, "--config", s.configPath])
        #expect(key.status == .exited(0), "\(key.out)\(key.err)")
        #expect(try await !Self.exists(s, byKey))
        #expect(try await Self.exists(s, byURL))

        // The path-style URL `url` prints (127.0.0.1:port/bucket/key, percent-encoded).
        let url = Self.line(try await s.run(["url", byURL, "--config", s.configPath]).out)
        #expect(url.hasPrefix(s.server.endpoint + "/" + TestS3Server.sharedBucket + "/"), "\(url)")
        let viaURL = try await s.run(["object", "delete", url, "--config", s.configPath])
        #expect(viaURL.status == .exited(0), "\(viaURL.out)\(viaURL.err)")
        #expect(try await !Self.exists(s, byURL))
        #expect(try await Self.exists(s, byPresigned))

        // A presigned GET made by `presign`: its query is ignored, its signature never printed.
        let presigned = Self.line(try await s.run(["presign", "get", byPresigned, "--config", s.configPath]).out)
        let signature = try S3CLITests.signature(presigned)
        let viaPresigned = try await s.run(["object", "delete", presigned, "--json", "--config", s.configPath])
        #expect(viaPresigned.status == .exited(0), "\(viaPresigned.out)\(viaPresigned.err)")
        #expect(!viaPresigned.out.contains(signature) && !viaPresigned.err.contains(signature))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(viaPresigned.out.utf8)) as? [String: Any])
        #expect(report["key"] as? String == byPresigned && report["deleted"] as? Bool == true && report["schema_version"] as? Int == 1)
        #expect(try await !Self.exists(s, byPresigned))

        // Gone already: exit 3, and the message says so (naming the URL without its signature).
        let again = try await s.run(["object", "delete", presigned, "--config", s.configPath])
        #expect(again.status == .exited(3), "\(again.out)\(again.err)")
        #expect(again.err.contains("no object") && !again.err.contains(signature), "\(again.err)")
    }

    @Test func refusesWhileTheLedgerReferencesItAndForceMarksTheRowsLost() async throws {
        let s = try await Setup("cli-object-ledger")
        defer { try? s.state.remove() }
        let key = s.prefix + "2025/01/01/DJI_0001.JPG"
        try await s.upload([key])
        let store = try Self.record(s, key)
        #expect(try store.deleteQueue(states: [.pending]).count == 1)

        let refused = try await s.run(["object", "delete", key, "--config", s.configPath])
        #expect(refused.status == .exited(1), "\(refused.out)\(refused.err)")
        #expect(refused.err.contains("/media/DJI_0001.JPG") && refused.err.contains("--force"), "\(refused.err)")
        #expect(try await Self.exists(s, key))
        #expect(try store.ledgerEntries(destination: "cloud").map(\.state) == [.present])

        let forced = try await s.run(["object", "delete", key, "--force", "--json", "--config", s.configPath])
        #expect(forced.status == .exited(0), "\(forced.out)\(forced.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(forced.out.utf8)) as? [String: Any])
        #expect(report["marked_lost"] as? Int == 1 && report["deleted"] as? Bool == true && report["exit_status"] as? Int == 0)
        #expect(report["referenced_by"] as? [String] == ["/media/DJI_0001.JPG"])
        #expect(try await !Self.exists(s, key))
        // As when the engine finds a copy missing: the row is lost (the source is copied again)
        // and the source's pending deletion is held back for a resync.
        #expect(try store.ledgerEntries(destination: "cloud").map(\.state) == [.lost])
        #expect(try store.deleteQueue(states: [.pending]).isEmpty)
        #expect(try store.deleteQueue(states: [.resync]).count == 1)
    }

    @Test func aURLOfAnotherBucketOrHostIsRefused() async throws {
        let s = try await Setup("cli-object-foreign")
        defer { try? s.state.remove() }
        let key = s.prefix + "keep.JPG"
        try await s.upload([key])
        let own = Self.line(try await s.run(["url", key, "--config", s.configPath]).out)
        let endpoint = try S3Endpoint(parsing: s.server.endpoint)
        let foreign = [
            own.replacingOccurrences(of: "/\(TestS3Server.sharedBucket)/", with: "/other-bucket/"),
            own.replacingOccurrences(of: ":\(endpoint.port!)/", with: ":\(endpoint.port! + 1)/"),
            own.replacingOccurrences(of: endpoint.host, with: "localhost")
        ]
        for url in foreign {
            #expect(url != own)
            let r = try await s.run(["object", "delete", url, "--config", s.configPath])
            #expect(r.status == .exited(64), "\(url): \(r.out)\(r.err)")
            #expect(r.err.contains("is not an object of bucket"), "\(r.err)")
        }
        #expect(try await Self.exists(s, key))
    }

    /// The test server has no public-read identity, so an anonymous GET of the URL is refused
    /// (403). What is checked instead: `url` is the presigned URL without its query (the same
    /// path, which the server accepts), and plain curl signing its own request (--aws-sigv4) to
    /// exactly that URL gets the object: the URL, its encoding included, addresses it.
    @Test func urlIsThePresignedPathAndCurlFetchesItWhenSigningItself() async throws {
        let s = try await Setup("cli-url")
        defer { try? s.state.remove() }
        let key = s.prefix + "2025/01/01/shared +% ü.JPG"
        try await s.upload([key])
        let r = try await s.run(["url", key, "--config", s.configPath], credentials: false)
        #expect(r.status == .exited(0), "\(r.err)")
        let url = Self.line(r.out)
        let presigned = Self.line(try await s.run(["presign", "get", key, "--config", s.configPath]).out)
        #expect(presigned.hasPrefix(url + "?X-Amz-"), "\(url) vs \(presigned.prefix { $0 != "?" })")
        #expect(try await S3CLITests.curl([presigned]).body == "payload")

        let signed = try await S3CLITests.curl([
            "--aws-sigv4", "aws:amz:\(s.server.region):s3",
            "--user", "\(s.server.accessKeyID):\(s.server.secretAccessKey)", url
        ])
        #expect(signed.status == "200" && signed.body == "payload", "\(signed)")
        let anonymous = try await S3CLITests.curl([url])
        #expect(anonymous.status == "403", "\(anonymous)")

        let checked = try await s.run(["url", key, "--check", "--json", "--config", s.configPath])
        #expect(checked.status == .exited(0), "\(checked.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(checked.out.utf8)) as? [String: Any])
        #expect(report["url"] as? String == url && report["exists"] as? Bool == true && report["size"] as? Int == 7)
        #expect(report["path_style"] as? Bool == true)
        let missing = try await s.run(["url", key + ".gone", "--check", "--config", s.configPath])
        #expect(missing.status == .exited(3) && missing.out.isEmpty, "\(missing.out)\(missing.err)")
    }
}
