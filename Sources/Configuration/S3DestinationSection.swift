/// The reader of a destination with `"type": "s3"`.
extension ConfigReader {
    static var allDestinationKeys: [String] {
        var keys = ConfigLoader.section("destinations").keys
        for key in ConfigLoader.s3Destination.keys where !keys.contains(key) { keys.append(key) }
        return keys
    }

    func readS3Destination(_ object: Object, _ path: ConfigKeyPath) throws(ConfigError) -> Config.S3 {
        var s3 = Config.S3(provider: "", bucket: "")
        var provider: String?
        var bucket: String?
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "type": break
            case "name": s3.name = try readDestinationName(value, path)
            case "provider": provider = try choice(value, path, ConfigLoader.s3Providers)
            case "bucket": bucket = try readBucket(value, path)
            case "region":
                s3.region = try optionalToken(value, path, "a region name such as \"eu-central-1\" or null") {
                    $0.isASCII && ($0.properties.isLowercase || ("0"..."9").contains($0) || $0 == "-")
                }
            case "endpoint": s3.endpoint = try readEndpoint(value, path)
            case "account_id":
                s3.accountID = try optionalToken(value, path, "a Cloudflare account id (letters and digits) or null") {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))
                }
            case "path_style": s3.pathStyle = try bool(value, path)
            case "prefix": s3.prefix = try readKeyPrefix(value, path)
            case "credentials_file": s3.credentialsFile = try optionalAbsoluteFile(value, path)
            case "credentials_profile":
                let expected = "a profile name of the credentials file (no brackets, spaces or line breaks)"
                let profile = try string(value, path, expected)
                guard !profile.isEmpty, !profile.unicodeScalars.contains(where: { $0.isSpaceOrControl || $0 == "[" || $0 == "]" }) else {
                    throw invalid(path, expected, value)
                }
                s3.credentialsProfile = profile
            case "multipart_threshold_mib": s3.multipartThresholdMiB = try integer(value, path, 5...5120)
            case "part_size_mib": s3.partSizeMiB = try integer(value, path, 5...5120)
            case "parallel_files": s3.parallelFiles = try integer(value, path, 1...32)
            case "parallel_parts": s3.parallelParts = try integer(value, path, 1...32)
            case "part_retries": s3.partRetries = try integer(value, path, 0...10)
            case "connect_timeout_seconds": s3.connectTimeoutSeconds = try integer(value, path, 1...3600)
            case "proxy": s3.proxy = try readProxy(value, path)
            case "ca_file": s3.caFile = try optionalAbsoluteFile(value, path)
            case "abort_stale_uploads_after_hours":
                s3.abortStaleUploadsAfterHours = try number(value, path, unit: "hours", minimum: 0, minimumAllowed: false, maximum: 8760)
            case "cleanup_interval_hours":
                s3.cleanupIntervalHours = try number(value, path, unit: "hours", minimum: 0, minimumAllowed: true, maximum: 8760)
            case "cleanup_on_shutdown": s3.cleanupOnShutdown = try bool(value, path)
            case "bandwidth_schedule": s3.bandwidthSchedule = try readBandwidthSchedule(value, path)
            default: unhandled(key)
            }
        }
        guard let provider else { throw missing(path.appending("provider"), ConfigLoader.s3Providers.map { JSONText.quoted($0) }.joined(separator: ", ")) }
        guard let bucket else { throw missing(path.appending("bucket"), Self.bucketExpected) }
        s3.provider = provider
        s3.bucket = bucket
        try checkProviderNeeds(s3, object, path)
        return s3
    }

    /// What each provider needs besides the bucket, checked once the whole object is read.
    private func checkProviderNeeds(_ s3: Config.S3, _ object: Object, _ path: ConfigKeyPath) throws(ConfigError) {
        let which = "for \"provider\": \(JSONText.quoted(s3.provider))"
        switch s3.provider {
        case "minio", "generic":
            if s3.endpoint == nil { throw missing(path.appending("endpoint"), "an endpoint URL \(which)") }
        case "cloudflare_r2":
            if s3.accountID == nil, s3.endpoint == nil {
                throw missing(path.appending("account_id"), "the account id (or an \"endpoint\") \(which)")
            }
        default:
            if s3.region == nil { throw missing(path.appending("region"), "a region \(which)") }
        }
        if s3.accountID != nil, s3.provider != "cloudflare_r2", let value = object.fields["account_id"] {
            throw invalid(path.appending("account_id"), "null (\"account_id\" is for \"provider\": \"cloudflare_r2\" only)", value)
        }
        if s3.pathStyle, s3.provider != "generic", let value = object.fields["path_style"] {
            throw invalid(path.appending("path_style"), "false (the addressing of \(JSONText.quoted(s3.provider)) is fixed; \"path_style\" is for \"generic\")", value)
        }
    }

    static let bucketExpected = "a bucket name: 3 to 63 lower-case letters, digits, \".\" or \"-\", starting and ending with a letter or digit"

    func readBucket(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let bucket = try string(value, path, Self.bucketExpected)
        let scalars = bucket.unicodeScalars
        func alphanumeric(_ c: Unicode.Scalar) -> Bool { c.isASCII && (c.properties.isLowercase || ("0"..."9").contains(c)) }
        guard (3...63).contains(scalars.count), scalars.allSatisfy({ alphanumeric($0) || $0 == "." || $0 == "-" }),
            let first = scalars.first, let last = scalars.last, alphanumeric(first), alphanumeric(last)
        else {
            throw invalid(path, Self.bucketExpected, value)
        }
        return bucket
    }

    /// A non-empty string whose characters all pass `allowed`, or nil for null.
    func optionalToken(
        _ value: JSONValue, _ path: ConfigKeyPath, _ expected: String,
        _ allowed: (Unicode.Scalar) -> Bool
    ) throws(ConfigError) -> String? {
        guard let text = try optionalString(value, path, expected) else { return nil }
        guard !text.isEmpty, text.unicodeScalars.count <= 128, text.unicodeScalars.allSatisfy(allowed) else {
            throw invalid(path, expected, value)
        }
        return text
    }

    func readEndpoint(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String? {
        let expected = "\"https://host[:port]\" (or http://) without a path, or null"
        guard let endpoint = try optionalString(value, path, expected) else { return nil }
        let rest: Substring
        if endpoint.hasPrefix("https://") {
            rest = endpoint.dropFirst(8)
        } else if endpoint.hasPrefix("http://") {
            rest = endpoint.dropFirst(7)
        } else {
            throw invalid(path, expected, value)
        }
        let host = rest.hasSuffix("/") ? rest.dropLast() : rest
        guard !host.isEmpty, !host.contains("/"), !host.contains("@"), !host.contains("?"), !host.contains("#"),
            !host.unicodeScalars.contains(where: \.isSpaceOrControl)
        else {
            throw invalid(path, expected, value)
        }
        return endpoint
    }

    /// "" or a key prefix ending with "/", such as "dock-7/".
    func readKeyPrefix(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let expected = "\"\" or a key prefix ending with \"/\" (such as \"dock-7/\"), not starting with \"/\", without \"//\""
        let prefix = try string(value, path, expected)
        guard
            prefix.isEmpty
                || (prefix.hasSuffix("/") && !prefix.hasPrefix("/") && !prefix.contains("//")
                    && prefix.utf8.count <= 512
                    && !prefix.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }))
        else {
            throw invalid(path, expected, value)
        }
        return prefix
    }

    func readProxy(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String? {
        let expected = "\"none\", a proxy URL (http://, https://, socks5h://, ...) or null for the environment's"
        guard let proxy = try optionalString(value, path, expected) else { return nil }
        let schemes = ["http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://"]
        guard
            proxy == "none"
                || (schemes.contains { proxy.hasPrefix($0) && proxy.count > $0.count }
                    && !proxy.unicodeScalars.contains(where: \.isSpaceOrControl))
        else {
            throw invalid(path, expected, value)
        }
        return proxy
    }
}
