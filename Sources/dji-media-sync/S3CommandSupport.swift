import ArgumentParser
import Configuration
import Foundation
import MediaSync
import ObjectStorage
import S3Sync
import SystemPackage

/// What the object-storage commands (cleanup, presign, bucket, object, url) share: one `"type": "s3"`
/// destination of the config, its credentials and clients. Errors go to stderr with the exit
/// statuses of docs/operations.md; none of them carries a secret.
struct S3Command {
    let config: MediaSyncConfig
    let settings: S3Settings
    let credentials: AWSCredentials

    /// Loads the config (exit 78 on a bad one), picks the S3 destination named `name` (or the only
    /// one) and loads its credentials (exit 78 when they are missing or readable by others).
    static func load(configPath: String, destination name: String?) throws -> S3Command {
        let (config, settings) = try loadSettings(configPath: configPath, destination: name)
        do {
            return S3Command(config: config, settings: settings, credentials: try settings.credentials())
        } catch {
            fail("\(settings.config.name): \(error)", status: ExitStatus.config)
        }
    }

    /// The config and the chosen destination, without its credentials (`url` needs none).
    static func loadSettings(configPath: String, destination name: String?) throws -> (MediaSyncConfig, S3Settings) {
        let config = try Runtime.loadConfig(configPath)
        let s3 = S3Settings.all(in: config)
        let settings: S3Settings
        if let name {
            guard let match = s3.first(where: { $0.config.name == name }) else {
                let names = s3.map(\.config.name)
                fail(
                    "no destination of type s3 is named \(name)\(names.isEmpty ? "" : " (s3 destinations: \(names.joined(separator: ", ")))")",
                    status: ExitStatus.config)
            }
            settings = match
        } else {
            guard s3.count == 1 else {
                fail(
                    s3.isEmpty
                        ? "the config has no destination of type s3"
                        : "the config has several s3 destinations (\(s3.map(\.config.name).joined(separator: ", "))): choose one with --destination",
                    status: ExitStatus.config)
            }
            settings = s3[0]
        }
        return (config, settings)
    }

    func client() throws -> S3Client {
        do { return try settings.makeClient(credentials: credentials) } catch {
            Self.fail("\(settings.config.name): \(error)", status: ExitStatus.config)
        }
    }

    func openStore() throws -> StateStore {
        do { return try StateStore(directory: FilePath(config.state.directory)) } catch {
            Self.fail("cannot open the state database in \(config.state.directory): \(error)", status: ExitStatus.failed)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data("dji-media-sync: \(message)\n".utf8))
        exit(status)
    }
}
