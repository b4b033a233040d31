import Configuration
import CurlHTTP
import Hashing
import ObjectStorage

/// One `"type": "s3"` destination of the configuration, turned into what the S3 client needs.
/// Shared by the sync destination and the `presign`, `upload`, `cleanup` and `bucket` commands.
public struct S3Settings: Sendable {
    public let config: MediaSyncConfig.S3
    public let client: S3Configuration

    /// - Parameter transferTimeoutSeconds: a request that moves no data this long is a stall.
    public init(_ config: MediaSyncConfig.S3, transferTimeoutSeconds: Double) {
        self.config = config
        var http = HTTPClientConfiguration(
            connectTimeoutSeconds: config.connectTimeoutSeconds,
            lowSpeedTimeSeconds: max(1, Int(transferTimeoutSeconds.rounded(.up))),
            caBundlePath: config.caFile)
        switch config.proxy {
        case nil: http.proxy = .environment
        case "none"?: http.proxy = .none
        case let url?: http.proxy = .url(url)
        }
        client = S3Configuration(
            provider: Self.provider(config), bucket: config.bucket, region: config.region,
            endpoint: config.endpoint, http: http)
    }

    /// `s3` of the whole `config` (whose integrity checks set the stall timeout).
    public init(_ s3: MediaSyncConfig.S3, of config: MediaSyncConfig) {
        self.init(s3, transferTimeoutSeconds: config.integrity.transferTimeoutSeconds)
    }

    /// Every s3 destination of `config`, in order.
    public static func all(in config: MediaSyncConfig) -> [S3Settings] {
        config.destinations.compactMap { if case let .s3(s3) = $0 { S3Settings(s3, of: config) } else { nil } }
    }

    static func provider(_ config: MediaSyncConfig.S3) -> S3Provider {
        switch config.provider {
        case "aws": .aws
        case "minio": .minio
        case "aliyun_oss": .aliyunOSS
        case "volcengine_tos": .volcengineTOS
        case "cloudflare_r2": .cloudflareR2(accountID: config.accountID ?? "")
        default: .generic(pathStyle: config.pathStyle)
        }
    }

    /// From `credentials_file` (checked for its permissions) or the environment.
    public func credentials() throws(CredentialsError) -> AWSCredentials {
        if let file = config.credentialsFile {
            return try AWSCredentials.fromFile(file, profile: config.credentialsProfile)
        }
        return try AWSCredentials.fromEnvironment()
    }

    public func makeClient(credentials: AWSCredentials) throws(S3Error) -> S3Client {
        try S3Client(configuration: client, credentials: credentials)
    }

    /// "s3://bucket/prefix" as operators read it (no secrets).
    public var displayName: String { "s3://\(config.bucket)/\(config.prefix) (\(config.provider)\(config.endpoint.map { " at \($0)" } ?? ""))" }

    /// The object key of `name` (the local file name's bytes) in `directory` ("YYYY/MM/DD").
    public func key(directory: String, name: [UInt8]) -> String {
        config.prefix + (directory.isEmpty ? "" : directory + "/") + Self.keyName(name)
    }

    /// A file name as a key segment: UTF-8 as is, except these bytes → `%XX`: `%` itself, each byte
    /// that is not part of valid UTF-8, the ASCII controls (0x00–0x1F, 0x7F: XML 1.0, which
    /// DeleteObjects speaks, cannot carry most of them even as character references) and `\`
    /// (SeaweedFS stores it as `/`, so the key would not be listed as written). Injective, so two
    /// local names never share a key; and the key is the one the server lists.
    public static func keyName(_ name: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < name.count {
            let byte = name[index]
            if byte == UInt8(ascii: "%") || byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
                index += 1
                continue
            }
            if byte < 0x80 {
                out.unicodeScalars.append(Unicode.Scalar(byte))
                index += 1
                continue
            }
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if length > 1, index + length <= name.count,
                let text = String(validating: name[index..<index + length], as: UTF8.self)
            {
                out += text
                index += length
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
                index += 1
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
