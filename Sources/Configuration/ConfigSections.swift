/// One reader per section of media_sync_config.json. Keys are visited in document order; keys
/// without a default are checked once the object has been read.
extension ConfigReader {
    typealias Config = MediaSyncConfig

    func readConfig(_ value: JSONValue) throws(ConfigError) -> Config {
        let top = try object(value, .root, known: ConfigLoader.topLevelKeys, expected: "a JSON object at the top level")
        var local: Config.Local?
        var destinations: [Config.Destination]?
        var integrity = Config.IntegrityChecks()
        var deletePolicy = Config.DeletePolicy()
        var concurrency = Config.ConcurrencyControl()
        var schedule = Config.Schedule()
        var state = Config.State()
        var logging = Config.Logging()
        var retryPolicy = Config.RetryPolicy()
        var storage = Config.StorageManagement()
        var consistency = Config.ConsistencyCheck()
        var health = Config.Health()
        var layout = Config.Layout()
        for key in top.orderedKeys {
            let (value, path) = try entry(top, key)
            switch key {
            case "local": local = try readLocal(value, path)
            case "destinations": destinations = try readDestinations(value, path)
            case "integrity_checks": integrity = try readIntegrityChecks(value, path)
            case "delete_policy": deletePolicy = try readDeletePolicy(value, path)
            case "concurrency_control": concurrency = try readConcurrencyControl(value, path)
            case "schedule": schedule = try readSchedule(value, path)
            case "state": state = try readState(value, path)
            case "logging": logging = try readLogging(value, path)
            case "retry_policy": retryPolicy = try readRetryPolicy(value, path)
            case "storage_management": storage = try readStorageManagement(value, path)
            case "consistency_check": consistency = try readConsistencyCheck(value, path)
            case "health": health = try readHealth(value, path)
            case "layout": layout = try readLayout(value, path)
            default: unhandled(key)
            }
        }
        guard let local else { throw missing(.root.appending("local"), Self.localExpected) }
        guard let destinations else { throw missing(.root.appending("destinations"), Self.destinationsExpected) }
        var config = Config(
            local: local, destinations: destinations, integrity: integrity, deletePolicy: deletePolicy,
            concurrency: concurrency, schedule: schedule, state: state, logging: logging)
        config.retryPolicy = retryPolicy
        config.storageManagement = storage
        config.consistencyCheck = consistency
        config.health = health
        config.layout = layout
        return config
    }

    func readRetryPolicy(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.RetryPolicy {
        let object = try section(value, path, "retry_policy")
        var policy = Config.RetryPolicy()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "base_delay_seconds": policy.baseDelaySeconds = try seconds(value, path, zeroAllowed: true)
            case "max_delay_seconds": policy.maxDelaySeconds = try seconds(value, path, zeroAllowed: true)
            case "max_attempts": policy.maxAttempts = try integer(value, path, 1...1000)
            case "jitter_fraction": policy.jitterFraction = try number(value, path, unit: "fraction", minimum: 0, minimumAllowed: true, maximum: 1)
            default: unhandled(key)
            }
        }
        if policy.maxDelaySeconds < policy.baseDelaySeconds {
            throw error(
                .outOfRange, path.appending("max_delay_seconds"),
                expected: "at least base_delay_seconds (\(JSONText.number(policy.baseDelaySeconds)))",
                found: JSONText.number(policy.maxDelaySeconds))
        }
        return policy
    }

    func readStorageManagement(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.StorageManagement {
        let object = try section(value, path, "storage_management")
        var storage = Config.StorageManagement()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "enable_space_check": storage.enableSpaceCheck = try bool(value, path)
            case "min_free_space_gb": storage.minFreeSpaceGB = try number(value, path, unit: "GB", minimum: 0, minimumAllowed: true, maximum: 1_000_000)
            case "enable_retention": storage.enableRetention = try bool(value, path)
            case "cleanup_strategy": storage.cleanupStrategy = try choice(value, path, ["oldest_first"])
            case "preserve_recent_days": storage.preserveRecentDays = try number(value, path, unit: "days", minimum: 0, minimumAllowed: true, maximum: 36500)
            case "extensions":
                guard case .array(let items) = value else { throw wrongType(path, "an array of file extensions", value) }
                var out: [String] = []
                for (i, item) in items.enumerated() {
                    var ext = try string(item, path.appending(index: i), "an extension such as \"jpg\"").lowercased()
                    if ext.hasPrefix(".") { ext.removeFirst() }
                    if !out.contains(ext) { out.append(ext) }
                }
                storage.extensions = out
            default: unhandled(key)
            }
        }
        return storage
    }

    func section(
        _ value: JSONValue, _ path: ConfigKeyPath, _ name: String,
        expected: String = "an object"
    ) throws(ConfigError) -> Object {
        try object(value, path, known: ConfigLoader.section(name).keys, expected: expected)
    }

    // MARK: - local

    static let localExpected = "an object with \"media_roots\""
    static let mediaRootsExpected = "a non-empty array of absolute folder paths"

    func readLocal(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.Local {
        let object = try section(value, path, "local", expected: Self.localExpected)
        var local = Config.Local(mediaRoots: [])
        var mediaRoots: [String]?
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "media_roots": mediaRoots = try readMediaRoots(value, path)
            case "extensions": local.extensions = try readExtensions(value, path)
            case "min_file_age_seconds": local.minFileAgeSeconds = try seconds(value, path, zeroAllowed: true)
            case "skip_hidden": local.skipHidden = try bool(value, path)
            case "temporary_suffixes":
                let expected = "a non-empty file name ending without \"/\" (such as \".tmp\")"
                local.temporarySuffixes = try array(value, path, "an array of file name endings", nonEmpty: false) {
                    (value, path) throws(ConfigError) in
                    let suffix = try string(value, path, expected)
                    guard !suffix.isEmpty, !suffix.contains("/"), !suffix.unicodeScalars.contains("\0") else {
                        throw invalid(path, expected, value)
                    }
                    return suffix
                }
            default: unhandled(key)
            }
        }
        guard let mediaRoots else { throw missing(path.appending("media_roots"), Self.mediaRootsExpected) }
        local.mediaRoots = mediaRoots
        return local
    }

    /// Absolute, without trailing slashes, and no root equal to, inside or above another one
    /// (files would be found twice).
    func readMediaRoots(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> [String] {
        var roots: [String] = []
        _ = try array(value, path, Self.mediaRootsExpected, nonEmpty: true) { (value, elementPath) throws(ConfigError) in
            let root = try absoluteFolder(value, elementPath)
            for (offset, other) in roots.enumerated() {
                let relation: String? =
                    root == other
                    ? "the same folder as"
                    : Self.isInside(root, other)
                        ? "inside"
                        : Self.isInside(other, root) ? "a parent of" : nil
                if let relation {
                    throw error(
                        .invalidValue, elementPath,
                        expected: "a folder that is not the same as, inside or a parent of another media root",
                        found: "\(value.found), \(relation) \(path.appending(index: offset)) \(JSONText.quoted(other))")
                }
            }
            roots.append(root)
        }
        return roots
    }

    static func isInside(_ path: String, _ folder: String) -> Bool {
        folder == "/" ? path != "/" : path.hasPrefix(folder + "/")
    }

    /// Lower-cased, without a leading dot, duplicates dropped.
    func readExtensions(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> [String] {
        let expected = "a file extension such as \"mp4\" or \".mp4\" (no spaces, \"/\" or \".\" inside)"
        let extensions = try array(value, path, "a non-empty array of file extensions", nonEmpty: true) {
            (value, path) throws(ConfigError) in
            var text = Substring(try string(value, path, expected))
            if text.hasPrefix(".") { text.removeFirst() }
            guard !text.isEmpty, !text.contains("."), !text.contains("/"),
                !text.unicodeScalars.contains(where: \.isSpaceOrControl)
            else {
                throw invalid(path, expected, value)
            }
            return text.lowercased()
        }
        var unique: [String] = []
        for ext in extensions where !unique.contains(ext) { unique.append(ext) }
        return unique
    }

    // MARK: - destinations

    static let destinationsExpected = "a non-empty array of destination objects"

    func readDestinations(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> [Config.Destination] {
        var names: [(name: String, given: Bool)] = []
        return try array(value, path, Self.destinationsExpected, nonEmpty: true) { (value, elementPath) throws(ConfigError) in
            let (destination, nameGiven) = try readDestination(value, elementPath)
            if let other = names.firstIndex(where: { $0.name == destination.name }) {
                let note = nameGiven ? "" : " (the default, as \"name\" is not set)"
                let otherNote = names[other].given ? "" : " (by default)"
                throw error(
                    .invalidValue, elementPath.appending("name"),
                    expected: "a name no other destination has",
                    found: "\(JSONText.quoted(destination.name))\(note), "
                        + "which \(path.appending(index: other)) has too\(otherNote)")
            }
            names.append((destination.name, nameGiven))
            return destination
        }
    }

    static let destinationExpected = "an object with \"type\": \"nas\" or \"s3\""

    func readDestination(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> (Config.Destination, nameGiven: Bool) {
        // The type decides which keys are valid, so it is read first.
        let anyType = try object(value, path, known: Self.allDestinationKeys, expected: Self.destinationExpected)
        guard let type = anyType.fields["type"] else {
            if let unknown = firstUnknownKey(anyType) { throw unknown }
            throw missing(
                path.appending("type"),
                ConfigLoader.destinationTypes.map { JSONText.quoted($0) }
                    .joined(separator: " or "))
        }
        if try choice(type, path.appending("type"), ConfigLoader.destinationTypes) == "s3" {
            let object = try self.object(value, path, known: ConfigLoader.s3Destination.keys, expected: Self.destinationExpected)
            return (.s3(try readS3Destination(object, path)), object.contains("name"))
        }
        let object = try section(value, path, "destinations", expected: Self.destinationExpected)

        var nas = Config.NAS(host: "", basePath: "")
        var host: String?
        var basePath: String?
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "type": break
            case "name": nas.name = try readDestinationName(value, path)
            case "host": host = try readHost(value, path)
            case "port": nas.port = try integer(value, path, 1...65535)
            case "user": nas.user = try readUser(value, path)
            case "identity_file": nas.identityFile = try optionalAbsoluteFile(value, path)
            case "known_hosts_file": nas.knownHostsFile = try absoluteFile(value, path)
            case "base_path": basePath = try absoluteFolder(value, path)
            case "connect_timeout_seconds": nas.connectTimeoutSeconds = try integer(value, path, 1...3600)
            case "server_alive_interval_seconds": nas.serverAliveIntervalSeconds = try integer(value, path, 0...3600)
            case "server_alive_count_max": nas.serverAliveCountMax = try integer(value, path, 1...1000)
            case "ciphers": nas.ciphers = try readCiphers(value, path)
            case "extra_ssh_options":
                nas.extraSSHOptions = try array(value, path, "an array of \"Key=Value\" ssh options", nonEmpty: false) {
                    (value, path) throws(ConfigError) in try readSSHOption(value, path)
                }
            case "ssh_command": nas.sshCommand = try readSSHCommand(value, path)
            case "ssh_config_file": nas.sshConfigFile = try readSSHConfigFile(value, path)
            case "remote_hash_command": nas.remoteHashCommand = try choice(value, path, ConfigLoader.remoteHashCommands)
            case "receiver": nas.receiver = try choice(value, path, ConfigLoader.receiverModes)
            case "bandwidth_schedule": nas.bandwidthSchedule = try readBandwidthSchedule(value, path)
            case "resume_min_bytes": nas.resumeMinBytes = try integer(value, path, 0...(1 << 50))
            default: unhandled(key)
            }
        }
        guard let host else { throw missing(path.appending("host"), Self.hostExpected) }
        guard let basePath else { throw missing(path.appending("base_path"), "an absolute folder path on the NAS") }
        nas.host = host
        nas.basePath = basePath
        return (.nas(nas), object.contains("name"))
    }

    static let nameExpected = "a name of 1 to 64 letters, digits, \".\", \"_\" or \"-\", starting with a letter or digit"

    func readDestinationName(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let name = try string(value, path, Self.nameExpected)
        let allowed = name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0))
        }
        guard allowed, (1...64).contains(name.unicodeScalars.count),
            let first = name.unicodeScalars.first, first != ".", first != "-", first != "_"
        else {
            throw invalid(path, Self.nameExpected, value)
        }
        return name
    }

    static let hostExpected = "a host name or IP address (not starting with \"-\", without spaces)"

    func readHost(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let host = try string(value, path, Self.hostExpected)
        guard !host.isEmpty, !host.hasPrefix("-"), !host.unicodeScalars.contains(where: \.isSpaceOrControl) else {
            throw invalid(path, Self.hostExpected, value)
        }
        return host
    }

    func readUser(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String? {
        let expected = "a user name (not starting with \"-\", without spaces) or null"
        guard let user = try optionalString(value, path, expected) else { return nil }
        guard !user.isEmpty, !user.hasPrefix("-"), !user.unicodeScalars.contains(where: \.isSpaceOrControl) else {
            throw invalid(path, expected, value)
        }
        return user
    }

    func readCiphers(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String? {
        let expected = "a comma-separated list of ssh ciphers (without spaces) or null"
        guard let ciphers = try optionalString(value, path, expected) else { return nil }
        guard !ciphers.isEmpty, !ciphers.unicodeScalars.contains(where: \.isSpaceOrControl) else {
            throw invalid(path, expected, value)
        }
        return ciphers
    }

    /// "Key=Value" where Key is an ssh_config keyword that neither is one of the options
    /// dji-media-sync fixes nor has a key of its own in the destination.
    func readSSHOption(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let expected = "\"Key=Value\" (an ssh_config option such as \"ProxyJump=admin@bastion\")"
        let option = try string(value, path, expected)
        guard let equals = option.firstIndex(of: "=") else { throw invalid(path, expected, value) }
        let key = option[..<equals], optionValue = option[option.index(after: equals)...]
        guard let first = key.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic,
            key.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }),
            !optionValue.isEmpty,
            !option.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw invalid(path, expected, value)
        }
        if ConfigLoader.reservedSSHOptions.contains(where: { $0.lowercased() == key.lowercased() }) {
            let list = ConfigLoader.reservedSSHOptions.joined(separator: ", ")
            throw invalid(path, "an option dji-media-sync does not set itself (not one of \(list))", value)
        }
        if let own = ConfigLoader.sshOptionsWithKeys.first(where: { $0.option.lowercased() == key.lowercased() }) {
            throw invalid(
                path, "an option without a key of its own (use \(path.dropLast(2).appending(own.key)) instead)",
                value)
        }
        return option
    }

    func readSSHCommand(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let expected = "a command name (looked up in PATH) or an absolute path, not starting with \"-\""
        let command = try string(value, path, expected)
        guard !command.isEmpty, !command.hasPrefix("-"), !command.hasSuffix("/"),
            command.hasPrefix("/") || !command.contains("/"),
            !command.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw invalid(path, expected, value)
        }
        return command
    }

    func readSSHConfigFile(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String? {
        let expected = "\"none\", an absolute file path or null"
        guard let file = try optionalString(value, path, expected) else { return nil }
        guard file == "none" || (file.hasPrefix("/") && !file.hasSuffix("/") && !file.unicodeScalars.contains("\0")) else {
            throw invalid(path, expected, value)
        }
        return file
    }

    // MARK: - integrity_checks, delete_policy, concurrency_control, schedule, state, logging

    func readIntegrityChecks(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.IntegrityChecks {
        let object = try section(value, path, "integrity_checks")
        var checks = Config.IntegrityChecks()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "checksum_algorithm": checks.checksumAlgorithm = try choice(value, path, ["sha256"])
            case "temp_prefix":
                // Hidden (a leading "."), so that listings and other tools pass temp files by.
                let expected = "\".\" followed by letters, digits, \".\", \"_\" or \"-\" (such as \".dms-\")"
                let prefix = try string(value, path, expected)
                guard prefix.hasPrefix("."), Self.isTempNamePart(prefix) else { throw invalid(path, expected, value) }
                checks.tempPrefix = prefix
            case "temp_suffix":
                let expected = "letters, digits, \".\", \"_\" or \"-\" (or \"\"), such as \".part\""
                let suffix = try string(value, path, expected)
                guard Self.isTempNamePart(suffix) else { throw invalid(path, expected, value) }
                checks.tempSuffix = suffix
            case "transfer_timeout_seconds": checks.transferTimeoutSeconds = try seconds(value, path, zeroAllowed: false)
            case "verify_before_delete": checks.verifyBeforeDelete = try choice(value, path, ConfigLoader.verifyMethods)
            case "hash_while_writing": checks.hashWhileWriting = try bool(value, path)
            default: unhandled(key)
            }
        }
        return checks
    }

    /// Temp names reach the NAS's shell (quoted there too) and its tools' output lines: only
    /// characters that mean nothing to either, and at most 32 of them.
    static func isTempNamePart(_ text: String) -> Bool {
        text.utf8.count <= 32
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
            }
    }

    func readState(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.State {
        let object = try section(value, path, "state")
        var state = Config.State()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "directory": state.directory = try absoluteFolder(value, path)
            case "runtime_directory":
                let folder = try absoluteFolder(value, path)
                let limit = ConfigLoader.maxRuntimeDirectoryBytes
                if folder.utf8.count > limit {
                    throw error(
                        .outOfRange, path,
                        expected: "an absolute path of at most \(limit) bytes (ssh control sockets "
                            + "\"<runtime_directory>/cm-\" plus \(ConfigLoader.controlSocketNameBytes) characters "
                            + "must fit the \(ConfigLoader.maxSocketPathBytes)-byte unix socket path limit)",
                        found: "\(JSONText.quoted(folder, limit: 80)) (\(folder.utf8.count) bytes)")
                }
                state.runtimeDirectory = folder
            default: unhandled(key)
            }
        }
        return state
    }

    func readLogging(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.Logging {
        let object = try section(value, path, "logging")
        var logging = Config.Logging()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "level": logging.level = try choice(value, path, ConfigLoader.logLevels)
            default: unhandled(key)
            }
        }
        return logging
    }
}

extension ConfigKeyPath {
    /// The path without its last `count` components.
    func dropLast(_ count: Int) -> ConfigKeyPath {
        ConfigKeyPath(components: Array(components.dropLast(count)))
    }
}
