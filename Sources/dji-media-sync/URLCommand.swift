import ArgumentParser
import Foundation
import MediaSync
import ObjectStorage

struct URLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Print the public (unsigned) URL of an object of an s3 destination.",
        discussion: """
            The URL the provider serves the key at, in the destination's addressing style (path-style or \
            virtual-hosted, custom endpoint, AWS China), the key percent-encoded as a signed request spells it. It \
            works without credentials only if the bucket or object is public-read; otherwise use presign get. \
            <key> is the full object key (the prefix is not added). Needs no credentials unless --check, which asks \
            the server (a signed HEAD) whether the object exists. \
            Exit status: 0 printed (and, with --check, the object exists), 2 --check could not ask the server, \
            3 --check: no such object, 64 bad argument, 78 config (or, with --check, credentials).
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The object key.") var key: String
    @Option(name: .long, help: "The s3 destination (needed when the config has several).") var destination: String?
    @Flag(name: .long, help: "Check that the object exists (HEAD, with the destination's credentials).") var check = false
    @Flag(name: .long, help: "Machine-readable output (schema_version 1; see docs/operations.md).") var json = false

    static let schemaVersion = 1

    func validate() throws {
        guard !key.isEmpty else { throw ValidationError("the key must not be empty") }
    }

    func run() async throws {
        let (_, settings) = try S3Command.loadSettings(configPath: global.config, destination: destination)
        let address: S3Address
        do { address = try settings.client.address(key: key) } catch {
            S3Command.fail("\(settings.config.name): \(error)", status: ExitStatus.config)
        }
        var size: Int64?
        var exists: Bool?
        var code = ExitStatus.ok
        var failure: String?
        if check {
            let client = try S3Command.load(configPath: global.config, destination: settings.config.name).client()
            do {
                size = try await client.headObject(key: key).size
                exists = true
            } catch  where error.kind == .notFound {
                (exists, code, failure) = (false, ObjectDeleteCommand.notFound, "no object \(key) in bucket \(settings.config.bucket)")
            } catch {
                (code, failure) = (ExitStatus.failed, "HEAD \(key): \(error)")
            }
        }
        if json {
            print(
                JSONOutput.render(
                    [
                        "destination": settings.config.name, "bucket": settings.config.bucket, "key": key, "url": address.url(),
                        "path_style": address.pathStyle, "checked": check, "exists": JSONOutput.nullable(exists),
                        "size": JSONOutput.nullable(size), "error": JSONOutput.nullable(failure), "exit_status": Int(code)
                    ], schemaVersion: Self.schemaVersion))
        } else if code == ExitStatus.ok {
            print(address.url())
        }
        if let failure { FileHandle.standardError.write(Data("dji-media-sync: \(settings.config.name): \(failure)\n".utf8)) }
        if code != ExitStatus.ok { throw ExitCode(code) }
    }
}
