import ArgumentParser
import CurlHTTP
import Foundation
import ObjectStorage

struct PresignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presign",
        abstract: "Print a presigned URL that lets its holder GET or PUT one object until it expires, with no credentials.",
        discussion: """
            The URL is printed on standard output only and is never logged: it is a bearer secret until it expires. \
            <key> is the full object key (the destination's prefix is not added). A PUT URL signed with --content-type \
            must be used with exactly that Content-Type.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "get or put.") var method: String
    @Argument(help: "The object key.") var key: String
    @Option(name: .long, help: "How long the URL works: e.g. 3600s, 90m, 24h, 7d (at most 7 days).")
    var expires = DurationArgument(argument: "24h")!
    @Option(name: .long, help: "PUT only: the Content-Type the upload must send (it is signed).") var contentType: String?
    @Option(name: .long, help: "The s3 destination (needed when the config has several).") var destination: String?

    static let maximumSeconds = 604_800

    /// Whole seconds (a fraction is rounded up: the URL never expires early).
    var expiresSeconds: Int { expires.seconds >= Double(Int.max) ? Int.max : Int(expires.seconds.rounded(.up)) }

    func validate() throws {
        guard ["get", "put"].contains(method) else { throw ValidationError("presign takes get or put, not \(method)") }
        guard !key.isEmpty else { throw ValidationError("the key must not be empty") }
        guard expires.seconds >= 1 else { throw ValidationError("--expires takes \(DurationArgument.syntax), at least 1 s") }
        guard expiresSeconds <= Self.maximumSeconds else {
            throw ValidationError("--expires \(expires) is too long: a presigned URL (SigV4) works for at most 7 days (604800 s)")
        }
        if contentType != nil, method != "put" { throw ValidationError("--content-type applies to presign put only") }
    }

    func run() async throws {
        let s3 = try S3Command.load(configPath: global.config, destination: destination)
        let client = try s3.client()
        do {
            let url = try client.presignedURL(
                method: method == "put" ? .put : .get, key: key,
                expiresInSeconds: expiresSeconds,
                headers: contentType.map { [("content-type", $0)] } ?? [])
            print(url)
        } catch {
            S3Command.fail("presign \(method) \(key): \(error)", status: ExitStatus.failed)
        }
    }
}
