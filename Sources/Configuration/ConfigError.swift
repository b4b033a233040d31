/// Why a configuration file was rejected. The description names the file, the key path, what
/// was expected and what was found:
///
///     media_sync_config.json: destinations[0].port: expected an integer from 1 to 65535, found "22a" (a string)
///     media_sync_config.json: delete_policy.delay_minuts: unknown key; did you mean "delay_minutes"?
///
/// Only the first problem in the file is reported (in document order).
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file could not be opened or read (`errno` says why), or is too large.
        case unreadable
        /// Not JSON, or not UTF-8.
        case invalidJSON
        /// A key appears twice in one object.
        case duplicateKey
        /// A value of the wrong JSON type (a string where an integer belongs, ...).
        case wrongType
        /// A number outside its allowed range (also a path too long for a socket).
        case outOfRange
        /// A value of the right type that is not allowed (relative path, unknown name, ...).
        case invalidValue
        /// A required key is absent.
        case missingKey
        /// A key the configuration does not have (typos must not pass silently).
        case unknownKey
        /// A file the configuration names (identity_file, known_hosts_file, ...) is missing or
        /// unreadable (`ConfigLoader.checkReferencedFiles`).
        case missingFile
    }

    public var kind: Kind
    /// The file as it was named when loading (or the `source` given to `parse`).
    public var file: String
    /// E.g. `destinations[0].port`; empty when the problem concerns the whole file.
    public var keyPath: String
    /// What would have been accepted (nil for unreadable files and invalid JSON).
    public var expected: String?
    /// What the file holds instead, e.g. `"22a" (a string)` (nil when nothing was found).
    public var found: String?
    /// For unknown keys: the known key the operator probably meant.
    public var suggestion: String?
    /// For unreadable files: the errno of the failed call, when there was one.
    public var errno: Int32?
    /// Everything after `file: keyPath: ` in the description.
    public var message: String

    public init(
        kind: Kind, file: String, keyPath: String, message: String, expected: String? = nil,
        found: String? = nil, suggestion: String? = nil, errno: Int32? = nil
    ) {
        self.kind = kind
        self.file = file
        self.keyPath = keyPath
        self.message = message
        self.expected = expected
        self.found = found
        self.suggestion = suggestion
        self.errno = errno
    }

    /// EX_CONFIG from sysexits.h: what `dji-media-sync config check` and the daemon exit with.
    public var exitCode: Int32 { 78 }

    public var description: String {
        keyPath.isEmpty ? "\(file): \(message)" : "\(file): \(keyPath): \(message)"
    }
}
