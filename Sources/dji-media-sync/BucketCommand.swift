import ArgumentParser
import Foundation
import ObjectStorage

struct BucketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bucket",
        abstract: "For the administrator: list the account's buckets, or create or delete the bucket of an s3 destination.",
        discussion:
            "delete removes an empty bucket only (checked first: some servers would delete the objects too). Exit status: 0 done, 2 the server refused, 78 config or credentials.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "list, create or delete.") var action: String
    @Option(name: .long, help: "The s3 destination (needed when the config has several).") var destination: String?

    func validate() throws {
        guard ["list", "create", "delete"].contains(action) else { throw ValidationError("bucket takes list, create or delete, not \(action)") }
    }

    func run() async throws {
        let s3 = try S3Command.load(configPath: global.config, destination: destination)
        let bucket = s3.settings.config.bucket
        do {
            switch action {
            case "list":
                for b in try await s3.client().listBuckets() { print("\(b.name)\t\(b.creationDate ?? "")") }
            case "create":
                try await s3.client().createBucket()
                print("bucket \(bucket) exists (created, or already owned by this account)")
            default:
                // Some servers (SeaweedFS) delete a bucket with everything in it: refuse first.
                let client = try s3.client()
                let objects = try await client.listObjectsV2(maxKeys: 1)
                let uploads = try await client.listMultipartUploads(prefix: nil)
                guard objects.objects.isEmpty, uploads.isEmpty else {
                    S3Command.fail(
                        "bucket \(bucket) is not empty (\(objects.objects.isEmpty ? "" : "objects, e.g. \(objects.objects[0].key)")"
                            + "\(uploads.isEmpty ? "" : "\(objects.objects.isEmpty ? "" : "; ")\(uploads.count) incomplete uploads")); "
                            + "nothing was deleted", status: ExitStatus.failed)
                }
                try await client.deleteBucket()
                print("bucket \(bucket) deleted")
            }
        } catch let error as S3Error {
            S3Command.fail("bucket \(action) \(action == "list" ? "" : bucket): \(error)", status: ExitStatus.failed)
        }
    }
}
