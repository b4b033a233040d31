import ArgumentParser
import Configuration
import Foundation
import LocalFS
import Logging
import MediaSync
import S3Sync
import SSHTransport
import SystemPackage
import SystemdSupport

/// What every command needs: the validated config, the state, the destinations, a logger.
struct Runtime: Sendable {
    let config: MediaSyncConfig
    let store: StateStore
    let destinations: [any Destination]
    let logger: Logger
    /// The configured total rate, shared by every cycle's engine and every destination.
    var limiter: BandwidthLimiter? = nil
    /// Destinations' own limits (their `bandwidth_schedule`), by name.
    var destinationLimiters: [String: BandwidthLimiter] = [:]

    /// Loads the config or exits 78 with the loader's message (it names the key).
    /// `requireFiles`: the key files it names must exist too (commands that connect to a NAS).
    static func loadConfig(_ path: String, requireFiles: Bool = false) throws -> MediaSyncConfig {
        do { return try ConfigLoader.load(path: path, requireReferencedFiles: requireFiles) } catch {
            FileHandle.standardError.write(Data("dji-media-sync: \(error)\n".utf8))
            throw ExitCode(ExitStatus.config)
        }
    }

    static func logLevel(_ config: MediaSyncConfig) -> Logger.Level {
        Verbosity.level(configured: Logger.Level(rawValue: config.logging.level) ?? .info)
    }

    static func make(configPath: String, requireFiles: Bool = false) throws -> Runtime {
        let config = try loadConfig(configPath, requireFiles: requireFiles)
        LoggingBootstrap.bootstrap(level: logLevel(config))
        LocalFS.ignoreSIGPIPE()
        var logger = Logger(label: "dji-media-sync")
        logger.logLevel = logLevel(config)
        let store: StateStore
        do { store = try StateStore(directory: FilePath(config.state.directory)) } catch {
            logger.critical("cannot open the state database in \(config.state.directory): \(error)")
            throw ExitCode(ExitStatus.failed)
        }
        return Runtime(
            config: config, store: store, destinations: try makeDestinations(config, store: store), logger: logger,
            limiter: makeLimiter(config), destinationLimiters: BandwidthLimiter.perDestination(config))
    }

    static func makeDestinations(_ config: MediaSyncConfig, store: StateStore) throws -> [any Destination] {
        let instance = try store.instanceID()
        return config.destinations.map { destination -> any Destination in
            switch destination {
            case let .nas(nas):
                NASDestination(
                    config: nas, integrity: config.integrity, concurrency: config.concurrency,
                    runtimeDirectory: config.state.runtimeDirectory, instanceID: instance)
            case let .s3(s3):
                S3Destination(settings: S3Settings(s3, of: config), integrity: config.integrity, store: store)
            }
        }
    }

    static func makeLimiter(_ config: MediaSyncConfig) -> BandwidthLimiter? { BandwidthLimiter.global(config) }

    /// Every limit in force, global first: (nil for the global one, else the destination's name, limiter).
    var allLimiters: [(destination: String?, limiter: BandwidthLimiter)] {
        BandwidthWatch.listed(limiter, destinationLimiters)
    }

    func engine() -> SyncEngine {
        var engine = SyncEngine(config: config, store: store, destinations: destinations, logger: logger)
        engine.bandwidthLimiter = limiter
        engine.destinationLimiters = destinationLimiters
        return engine
    }

    /// Where alerts go besides the journal (nil: nowhere else).
    var webhook: WebhookSender? {
        config.health.webhookURL.map { WebhookSender(url: $0, timeoutSeconds: config.health.webhookTimeoutSeconds, logger: logger) }
    }
}
