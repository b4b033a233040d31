// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "dji-media-sync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dji-media-sync", targets: ["dji-media-sync"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0")
    ],
    targets: [
        // C libraries, as system-library modules (Debian: libssl-dev, libsystemd-dev).
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // Declarations of Linux calls that Swift's Glibc module hides (pipe2).
        .systemLibrary(name: "CLinux"),
        // libcurl's headers (Debian: libcurl4-openssl-dev), and the only C code of ours: libcurl loaded
        // when first needed (not at every start), with typed, non-variadic wrappers for its variadic
        // curl_easy_setopt/curl_easy_getinfo.
        .systemLibrary(name: "CCurl"),
        .target(name: "CCurlShims", dependencies: ["CCurl"]),

        // Exponential backoff with jitter: the one retry formula.
        .target(name: "Backoff", swiftSettings: strict),
        // Streaming SHA-256 over OpenSSL EVP.
        .target(name: "Hashing", dependencies: ["COpenSSL"], swiftSettings: strict),
        // The local file system: stat identities, directory walks, reads, flock, atomic writes.
        .target(
            name: "LocalFS",
            dependencies: [
                "Hashing", "CLinux",
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        // media_sync_config.json: schema, defaults, validation with key-path errors.
        .target(name: "Configuration", swiftSettings: strict),
        // The domain (imports no C): discovery, layout, ledger, delete queue, the cycle.
        .target(
            name: "MediaSync",
            dependencies: [
                "Configuration", "LocalFS", "Backoff",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        // The NAS destination: ssh ControlMaster, remote shell agent, tar streaming, verify, publish.
        .target(
            name: "SSHTransport",
            dependencies: [
                "MediaSync", "LocalFS", "Hashing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        // HTTP over libcurl: one reused handle, streamed bodies, timeouts, proxy, TLS verified.
        .target(
            name: "CurlHTTP",
            dependencies: [
                "CCurl", "CCurlShims", "LocalFS",
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        // Object storage over the S3 API: SigV4, endpoints of the providers, S3 calls.
        .target(
            name: "ObjectStorage",
            dependencies: [
                "CurlHTTP", "Hashing", "LocalFS", "Backoff",
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        // The object-storage destination: S3 settings from the config, key layout, the session
        // that uploads (single PUT or resumable multipart), verifies and removes objects.
        .target(
            name: "S3Sync",
            dependencies: [
                "MediaSync", "ObjectStorage", "Configuration", "CurlHTTP", "LocalFS", "Hashing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        // sd_notify and the journald LogHandler.
        .target(
            name: "SystemdSupport",
            dependencies: [
                "CSystemd",
                .product(name: "Logging", package: "swift-log")
            ], swiftSettings: strict),
        // The command-line tool and daemon bootstrap.
        .executableTarget(
            name: "dji-media-sync",
            dependencies: [
                "MediaSync", "SSHTransport", "S3Sync", "ObjectStorage", "SystemdSupport", "Configuration", "LocalFS", "CurlHTTP", "Backoff",
                "CLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log")
            ], swiftSettings: strict),

        // Benchmarks only: fills a state database with years of history through the store's code.
        .executableTarget(
            name: "dms-benchtool",
            dependencies: [
                "MediaSync", "LocalFS", "Hashing",
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),

        // Shared by the tests: a private sshd on loopback, temp trees, waiting on conditions, a scripted
        // in-memory destination.
        .target(
            name: "TestSupport",
            dependencies: [
                "LocalFS", "ObjectStorage", "CurlHTTP", "MediaSync", "Hashing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),

        .testTarget(name: "HashingTests", dependencies: ["Hashing"], swiftSettings: strict),
        .testTarget(name: "BackoffTests", dependencies: ["Backoff"], swiftSettings: strict),
        .testTarget(name: "LocalFSTests", dependencies: ["LocalFS", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration"], swiftSettings: strict),
        .testTarget(
            name: "MediaSyncTests",
            dependencies: [
                "MediaSync", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift") // to damage a ledger row on purpose
            ], swiftSettings: strict),
        .testTarget(name: "SSHTransportTests", dependencies: ["SSHTransport", "MediaSync", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "ObjectStorageTests",
            dependencies: [
                "ObjectStorage", "CurlHTTP", "CCurl", "CCurlShims", "Hashing", "LocalFS", "TestSupport", "MediaSync", "S3Sync",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        .testTarget(
            name: "S3SyncTests",
            dependencies: [
                "S3Sync", "ObjectStorage", "MediaSync", "SSHTransport", "Configuration", "LocalFS", "Hashing", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict),
        .testTarget(name: "SystemdSupportTests", dependencies: ["SystemdSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TestSupport", "MediaSync", "LocalFS", "Hashing", "ObjectStorage",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system")
            ], swiftSettings: strict)
    ]
)
