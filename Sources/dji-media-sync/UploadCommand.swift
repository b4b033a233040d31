import ArgumentParser
import CurlHTTP
import Foundation
import Glibc
import MediaSync
import ObjectStorage
import Synchronization
import SystemPackage
import SystemdSupport

struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload a file through a presigned PUT URL (no config, no credentials), then verify it.",
        discussion: """
            The file streams from disk. The server checks the bytes against the file's MD5 (Content-MD5); the \
            answer's ETag must be that MD5; with --verify-url (a presigned GET of the same key) the stored size is \
            read back too. Errors name the URL without its query (the signature is a secret). \
            Exit status: 0 uploaded and verified, 1 refused or not verified, 2 the file cannot be read.
            """)

    @Option(name: .long, help: "The presigned PUT URL (from `dji-media-sync presign put`).") var presignedURL: String
    @Option(name: .long, help: "A presigned GET URL of the same key: the stored size is checked through it.") var verifyURL: String?
    @Option(name: .long, help: "Content-Type to send (must match the one the URL was signed with, if any).") var contentType: String?
    @Argument(help: "The file to upload.") var file: String

    func validate() throws {
        for (name, url) in [("--presigned-url", presignedURL), ("--verify-url", verifyURL)] {
            guard let url else { continue }
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw ValidationError("\(name) takes an http(s) URL, not \(HTTPRequest.redact(url))")
            }
        }
    }

    func run() async throws {
        let path = FilePath(file)
        var info = stat()
        guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            S3Command.fail("\(file): not a readable regular file", status: ExitStatus.failed)
        }
        let progress = UploadProgress(
            name: path.lastComponent?.string ?? file, total: Int64(info.st_size),
            terminal: TerminalConsole.shared.isTerminal)
        do {
            let result = try await PresignedUpload.upload(
                file: path, to: presignedURL, contentType: contentType, verifyURL: verifyURL,
                onBodyBytesSent: { progress.sent($0) })
            progress.finish()
            print(
                "uploaded \(file) (\(result.size) bytes, md5 \(result.md5Hex))\(result.verifiedSize != nil ? "; stored size verified" : "") to \(HTTPRequest.redact(presignedURL))")
        } catch {
            progress.finish()
            FileHandle.standardError.write(Data("dji-media-sync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.someFailed)
        }
    }
}

/// A progress bar on a terminal's stderr (drawn through TerminalConsole, so log lines go above
/// it), or a plain line every 10 % otherwise.
final class UploadProgress: Sendable {
    private struct State {
        var sent: Int64 = 0
        var lastDraw = ContinuousClock.now - .seconds(1)
        var lastDecile = 0
    }
    private let name: String
    private let total: Int64
    private let terminal: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(name: String, total: Int64, terminal: Bool) {
        self.name = name
        self.total = total
        self.terminal = terminal
    }

    func sent(_ count: Int) {
        let line: String? = state.withLock { s -> String? in
            s.sent += Int64(count)
            let percent = total > 0 ? Int(s.sent * 100 / total) : 100
            if terminal {
                let now = ContinuousClock.now
                guard now - s.lastDraw > .milliseconds(200) || s.sent == total else { return nil }
                s.lastDraw = now
                let elapsed = (now - started).inSeconds
                let width = 30, filled = width * percent / 100
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                return "\(name.prefix(40)) [\(bar)] \(percent)% \(Format.bytes(s.sent))/\(Format.bytes(total)) \(Format.rate(elapsed > 0 ? Double(s.sent) / elapsed : 0))"
            }
            guard percent / 10 > s.lastDecile else { return nil }
            s.lastDecile = percent / 10
            return "\(name): \(percent)% (\(Format.bytes(s.sent)) of \(Format.bytes(total)))\n"
        }
        guard let line else { return }
        if terminal { TerminalConsole.shared.show([line]) } else { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func finish() { if terminal { TerminalConsole.shared.show([]) } }
}
