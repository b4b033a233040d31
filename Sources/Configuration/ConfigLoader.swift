import Foundation

/// Reads `media_sync_config.json` into a `MediaSyncConfig`, validating everything on the way.
/// The first problem (in document order) is thrown as a `ConfigError` naming the key.
public enum ConfigLoader {
    /// The keys of one section of the file: an object at the top level, or (for "destinations")
    /// each element of the array.
    public struct Section: Sendable, Equatable {
        public let name: String
        public let keys: [String]
        /// Keys without a default.
        public let requiredKeys: [String]
    }

    /// Every key the loader knows, by section, in the order docs/configuration.md lists them.
    /// The loader rejects any other key.
    public static let sections: [Section] = [
        Section(
            name: "local",
            keys: ["media_roots", "extensions", "min_file_age_seconds", "skip_hidden", "temporary_suffixes"],
            requiredKeys: ["media_roots"]),
        Section(
            name: "destinations",
            keys: [
                "type", "name", "host", "port", "user", "identity_file", "known_hosts_file", "base_path",
                "connect_timeout_seconds", "server_alive_interval_seconds", "server_alive_count_max",
                "ciphers", "extra_ssh_options", "ssh_command", "ssh_config_file", "remote_hash_command", "receiver",
                "bandwidth_schedule", "resume_min_bytes"
            ],
            requiredKeys: ["type", "host", "base_path"]),
        Section(
            name: "integrity_checks",
            keys: [
                "checksum_algorithm", "temp_prefix", "temp_suffix", "transfer_timeout_seconds",
                "hash_while_writing", "verify_before_delete"
            ],
            requiredKeys: []),
        Section(
            name: "delete_policy",
            keys: ["delete_sources", "delay_minutes", "enable_soft_delete", "trash_retention_days", "min_local_free_gb"],
            requiredKeys: []),
        Section(
            name: "concurrency_control",
            keys: [
                "lock_file", "max_sync_duration_seconds", "stop_timeout_seconds", "parallel_transfers",
                "bandwidth_limit_bytes_per_second", "bandwidth_schedule", "batch_max_files", "batch_max_megabytes"
            ],
            requiredKeys: []),
        Section(
            name: "schedule",
            keys: ["interval_minutes", "watch"],
            requiredKeys: []),
        Section(
            name: "state",
            keys: ["directory", "runtime_directory"],
            requiredKeys: []),
        Section(
            name: "logging",
            keys: ["level"],
            requiredKeys: []),
        Section(
            name: "retry_policy",
            keys: ["base_delay_seconds", "max_delay_seconds", "max_attempts", "jitter_fraction"],
            requiredKeys: []),
        Section(
            name: "consistency_check",
            keys: ["enable", "interval_hours", "lookback_hours", "mode"],
            requiredKeys: []),
        Section(
            name: "health",
            keys: [
                "max_minutes_without_success", "min_success_rate", "destination_usage_warning",
                "destination_usage_critical", "alert_suppression_minutes", "webhook_url", "webhook_timeout_seconds",
                "prometheus_textfile"
            ],
            requiredKeys: []),
        Section(
            name: "layout",
            keys: ["dock_id", "remote_layout"],
            requiredKeys: []),
        Section(
            name: "storage_management",
            keys: [
                "enable_space_check", "min_free_space_gb", "enable_retention", "cleanup_strategy",
                "preserve_recent_days", "extensions"
            ],
            requiredKeys: [])
    ]

    /// The keys of a destination of `"type": "s3"` (`destinations` above are those of `"nas"`).
    public static let s3Destination = Section(
        name: "destinations",
        keys: [
            "type", "name", "provider", "bucket", "region", "endpoint", "account_id", "path_style", "prefix",
            "credentials_file", "credentials_profile", "multipart_threshold_mib", "part_size_mib",
            "parallel_files", "parallel_parts", "part_retries", "connect_timeout_seconds", "proxy", "ca_file",
            "abort_stale_uploads_after_hours", "cleanup_interval_hours", "cleanup_on_shutdown", "bandwidth_schedule"
        ],
        requiredKeys: ["type", "provider", "bucket"])

    /// The keys of the top-level object: the section names.
    public static var topLevelKeys: [String] { sections.map(\.name) }
    public static let requiredTopLevelKeys = ["local", "destinations"]

    public static func section(_ name: String) -> Section {
        guard let section = sections.first(where: { $0.name == name }) else {
            preconditionFailure("no configuration section \(name)")
        }
        return section
    }

    /// Files larger than this are rejected unread (a configuration is a few KiB).
    public static let maxFileBytes = 1 << 20

    /// Allowed values of `logging.level`, most verbose first.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    /// Allowed values of `receiver` (NAS): see docs/nas-receiver.md.
    public static let receiverModes = ["inline", "installed"]
    /// Allowed values of `remote_hash_command`.
    public static let remoteHashCommands = ["auto", "openssl", "sha256sum", "shasum", "sha256"]
    /// Allowed values of `verify_before_delete`.
    public static let verifyMethods = ["sha256", "size"]
    /// Allowed values of `type` in a destination.
    public static let destinationTypes = ["nas", "s3"]
    /// Allowed values of `provider` in an s3 destination.
    public static let s3Providers = ["aws", "minio", "aliyun_oss", "volcengine_tos", "cloudflare_r2", "generic"]
    /// ssh options dji-media-sync sets itself; `extra_ssh_options` may not name them.
    public static let reservedSSHOptions = [
        "BatchMode", "StrictHostKeyChecking", "UserKnownHostsFile",
        "ControlMaster", "ControlPath", "ControlPersist"
    ]
    /// ssh options that have a key of their own in a destination; `extra_ssh_options` may not name
    /// them either (ssh uses the first value given, so they would be silently ignored).
    public static let sshOptionsWithKeys: [(option: String, key: String)] = [
        ("Port", "port"), ("User", "user"), ("ConnectTimeout", "connect_timeout_seconds"),
        ("ServerAliveInterval", "server_alive_interval_seconds"),
        ("ServerAliveCountMax", "server_alive_count_max"), ("Ciphers", "ciphers")
    ]

    /// The longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL).
    public static let maxSocketPathBytes = 107
    /// ssh control sockets are `<runtime_directory>/cm-` followed by this many characters.
    public static let controlSocketNameBytes = 40
    /// So `runtime_directory` may be at most 107 - 4 - 40 = 63 bytes long.
    public static var maxRuntimeDirectoryBytes: Int {
        maxSocketPathBytes - "/cm-".utf8.count - controlSocketNameBytes
    }

    /// Reads and validates the file at `path`; errors name the file as `path` was given.
    public static func load(path: String) throws(ConfigError) -> MediaSyncConfig {
        try parse(readFile(path), source: path)
    }

    public static func parse(_ data: Data, source: String) throws(ConfigError) -> MediaSyncConfig {
        try parse([UInt8](data), source: source)
    }

    /// Validates the JSON text `bytes`; `source` names it in errors (usually the file's path).
    public static func parse(_ bytes: [UInt8], source: String) throws(ConfigError) -> MediaSyncConfig {
        func invalid(_ why: String) -> ConfigError {
            ConfigError(kind: .invalidJSON, file: source, keyPath: "", message: "not valid JSON: \(why)")
        }
        var text = bytes
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text.removeFirst(3) } // a UTF-8 byte order mark
        if let nul = text.firstIndex(of: 0) {
            let at = DocumentIndex.lineAndColumn(of: nul, in: text)
            throw invalid("NUL byte at line \(at.line), column \(at.column) (the file must be UTF-8 text)")
        }
        if String(validating: text, as: UTF8.self) == nil {
            throw invalid("the file is not UTF-8 text")
        }
        if text.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            throw invalid("the file is empty")
        }

        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed])
        } catch {
            throw invalid(describeParseError(error, in: text))
        }

        let index = DocumentIndex(bytes: text)
        if let comma = index.firstTrailingComma {
            let at = DocumentIndex.lineAndColumn(of: comma, in: text)
            throw invalid("comma before a closing bracket at line \(at.line), column \(at.column)")
        }
        if let duplicate = index.firstDuplicate {
            throw ConfigError(
                kind: .duplicateKey, file: source, keyPath: duplicate.path.description,
                message: "duplicate key at line \(duplicate.line), column \(duplicate.column) "
                    + "(first at line \(duplicate.firstLine), column \(duplicate.firstColumn)); expected each key once",
                expected: "each key once",
                found: "a second one at line \(duplicate.line), column \(duplicate.column)")
        }

        let reader = ConfigReader(source: source, index: index)
        return try reader.readConfig(JSONValue(foundation: root))
    }

    /// JSONSerialization says "around character 17" (a byte offset); operators want line and column.
    private static func describeParseError(_ error: any Error, in text: [UInt8]) -> String {
        let nsError = error as NSError
        var description = (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
        if let range = description.range(of: "character ") {
            let digits = description[range.upperBound...].prefix(while: \.isNumber)
            if let offset = Int(digits) {
                let at = DocumentIndex.lineAndColumn(of: min(offset, text.count), in: text)
                let end = description.index(range.upperBound, offsetBy: digits.count)
                description.replaceSubrange(range.lowerBound..<end, with: "line \(at.line), column \(at.column)")
            }
        }
        if description.hasSuffix(".") { description.removeLast() }
        return description
    }

    private static func readFile(_ path: String) throws(ConfigError) -> [UInt8] {
        func unreadable(_ error: any Error) -> ConfigError {
            let nsError = error as NSError
            let posix =
                (nsError.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap {
                    $0.domain == NSPOSIXErrorDomain ? $0 : nil
                } ?? (nsError.domain == NSPOSIXErrorDomain ? nsError : nil)
            let why: String
            var code: Int32?
            if let posix {
                code = Int32(posix.code)
                // Foundation says "The operation could not be completed. No such file or directory";
                // the strerror text after the boilerplate is what operators know.
                var text = posix.localizedDescription
                for boilerplate in ["The operation could not be completed. ", "The operation couldn’t be completed. "]
                where text.hasPrefix(boilerplate) {
                    text.removeFirst(boilerplate.count)
                }
                why = "\(text) (errno \(posix.code))"
            } else {
                why = nsError.localizedDescription
            }
            return ConfigError(
                kind: .unreadable, file: path, keyPath: "",
                message: "cannot read the configuration file: \(why)", errno: code)
        }
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
            if data.count > maxFileBytes {
                throw ConfigError(
                    kind: .unreadable, file: path, keyPath: "",
                    message: "cannot read the configuration file: larger than \(maxFileBytes) bytes")
            }
            return [UInt8](data)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw unreadable(error)
        }
    }
}
