/// Walks the parsed document section by section, key by key in document order, turning JSON
/// values into `MediaSyncConfig` fields. Every check throws at once, so the first problem in the
/// file is the one reported.
struct ConfigReader {
    let source: String
    let index: DocumentIndex

    // MARK: - Errors

    func error(_ kind: ConfigError.Kind, _ path: ConfigKeyPath, expected: String, found: String) -> ConfigError {
        ConfigError(
            kind: kind, file: source, keyPath: path.description,
            message: "expected \(expected), found \(found)", expected: expected, found: found)
    }

    func wrongType(_ path: ConfigKeyPath, _ expected: String, _ value: JSONValue) -> ConfigError {
        error(.wrongType, path, expected: expected, found: value.found)
    }

    func invalid(_ path: ConfigKeyPath, _ expected: String, _ value: JSONValue) -> ConfigError {
        error(.invalidValue, path, expected: expected, found: value.found)
    }

    func missing(_ path: ConfigKeyPath, _ expected: String) -> ConfigError {
        ConfigError(
            kind: .missingKey, file: source, keyPath: path.description,
            message: "missing required key; expected \(expected)", expected: expected)
    }

    // MARK: - Objects

    /// An object whose keys are checked against `known` as they are visited.
    struct Object {
        let path: ConfigKeyPath
        let fields: [String: JSONValue]
        let known: [String]
        /// Document order (from the index); sorted when the index has none.
        let orderedKeys: [String]

        func contains(_ key: String) -> Bool { fields[key] != nil }
    }

    func object(_ value: JSONValue, _ path: ConfigKeyPath, known: [String], expected: String) throws(ConfigError) -> Object {
        guard case .object(let fields) = value else { throw wrongType(path, expected, value) }
        let order = index.keyOrder[path.description]?.filter { fields[$0] != nil } ?? []
        let orderedKeys = order.count == fields.count ? order : fields.keys.sorted()
        return Object(path: path, fields: fields, known: known, orderedKeys: orderedKeys)
    }

    /// The value and path of `key` in `object`; throws if `key` is not one of `object.known`.
    /// Callers visit `object.orderedKeys`, so problems are found in document order.
    func entry(_ object: Object, _ key: String) throws(ConfigError) -> (value: JSONValue, path: ConfigKeyPath) {
        let path = object.path.appending(key)
        guard object.known.contains(key), let value = object.fields[key] else {
            throw unknownKey(key, at: path, known: object.known)
        }
        return (value, path)
    }

    /// The first key of `object` that is not known, as an error.
    func firstUnknownKey(_ object: Object) -> ConfigError? {
        object.orderedKeys.first { !object.known.contains($0) }.map {
            unknownKey($0, at: object.path.appending($0), known: object.known)
        }
    }

    func unhandled(_ key: String) -> Never {
        preconditionFailure("ConfigLoader.sections lists \(key) but ConfigReader does not read it")
    }

    func unknownKey(_ key: String, at path: ConfigKeyPath, known: [String]) -> ConfigError {
        let found = JSONText.quoted(key)
        func didYouMean(_ suggestion: String) -> ConfigError {
            ConfigError(
                kind: .unknownKey, file: source, keyPath: path.description,
                message: "unknown key; did you mean \(JSONText.quoted(suggestion))?",
                expected: "one of the known keys", found: found, suggestion: suggestion)
        }
        // A near-miss spelling here, then a key of another section, then a key of this object
        // that contains (or is contained in) the unknown one.
        // A key of the other destination type: say so rather than suggest a look-alike.
        let types = [("nas", ConfigLoader.section("destinations").keys), ("s3", ConfigLoader.s3Destination.keys)]
        if let mine = types.first(where: { $0.1 == known }), let other = types.first(where: { $0.1 != known && $0.1.contains(key) }) {
            return ConfigError(
                kind: .unknownKey, file: source, keyPath: path.description,
                message: "unknown key in a \"type\": \"\(mine.0)\" destination; \(found) is a key of \"type\": \"\(other.0)\" destinations",
                expected: "a key of \"type\": \"\(mine.0)\" destinations", found: found)
        }
        if let suggestion = KeySuggestion.closest(to: key, among: known) { return didYouMean(suggestion) }
        let parent = path.components.dropLast()
        let here = parent.isEmpty ? "at the top level" : "in \(ConfigKeyPath(components: Array(parent)))"
        if let home = ConfigLoader.sections.first(where: { $0.keys.contains(key) && $0.keys != known }) {
            let place = home.name == "destinations" ? "each element of \"destinations\"" : "\"\(home.name)\""
            return ConfigError(
                kind: .unknownKey, file: source, keyPath: path.description,
                message: "unknown key \(here); \(found) belongs in \(place)",
                expected: "a key of \(place)", found: found)
        }
        if let suggestion = KeySuggestion.containing(key, among: known) { return didYouMean(suggestion) }
        let list = known.joined(separator: ", ")
        return ConfigError(
            kind: .unknownKey, file: source, keyPath: path.description,
            message: "unknown key; expected one of: \(list)",
            expected: "one of: \(list)", found: found)
    }

    // MARK: - Scalars

    func string(_ value: JSONValue, _ path: ConfigKeyPath, _ expected: String) throws(ConfigError) -> String {
        guard case .string(let string) = value else { throw wrongType(path, expected, value) }
        return string
    }

    /// A string, or nil for JSON null.
    func optionalString(_ value: JSONValue, _ path: ConfigKeyPath, _ expected: String) throws(ConfigError) -> String? {
        if case .null = value { return nil }
        return try string(value, path, expected)
    }

    func bool(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Bool {
        guard case .bool(let bool) = value else { throw wrongType(path, "a boolean (true or false)", value) }
        return bool
    }

    /// A whole number in `range` (22.0 counts as 22; 22.5 does not).
    func integer(_ value: JSONValue, _ path: ConfigKeyPath, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound)"
        switch value {
        case .integer(let integer):
            guard range.contains(integer) else { throw error(.outOfRange, path, expected: expected, found: value.found) }
            return integer
        case .number(let number) where number.isFinite && number.rounded() == number:
            guard Double(range.lowerBound) <= number, number <= Double(range.upperBound) else {
                throw error(.outOfRange, path, expected: expected, found: value.found)
            }
            return Int(number)
        default:
            throw wrongType(path, expected, value)
        }
    }

    /// A duration (or other quantity) in `unit`: at least `minimum` (or more than it, when
    /// `minimumAllowed` is false) and at most `maximum`.
    func number(
        _ value: JSONValue, _ path: ConfigKeyPath, unit: String, minimum: Double,
        minimumAllowed: Bool, maximum: Double
    ) throws(ConfigError) -> Double {
        let low = JSONText.number(minimum), high = JSONText.number(maximum)
        let expected =
            minimumAllowed
            ? "a number of \(unit) from \(low) to \(high)"
            : "a number of \(unit) greater than \(low) and at most \(high)"
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .number(let double): number = double
        default: throw wrongType(path, expected, value)
        }
        let aboveMinimum = minimumAllowed ? number >= minimum : number > minimum
        guard number.isFinite, aboveMinimum, number <= maximum else {
            throw error(.outOfRange, path, expected: expected, found: value.found)
        }
        return number
    }

    func seconds(_ value: JSONValue, _ path: ConfigKeyPath, zeroAllowed: Bool) throws(ConfigError) -> Double {
        try number(value, path, unit: "seconds", minimum: 0, minimumAllowed: zeroAllowed, maximum: Limits.yearInSeconds)
    }

    func minutes(_ value: JSONValue, _ path: ConfigKeyPath, zeroAllowed: Bool) throws(ConfigError) -> Double {
        try number(value, path, unit: "minutes", minimum: 0, minimumAllowed: zeroAllowed, maximum: Limits.yearInMinutes)
    }

    /// One of `choices`, exactly.
    func choice(_ value: JSONValue, _ path: ConfigKeyPath, _ choices: [String]) throws(ConfigError) -> String {
        let expected =
            choices.count == 1
            ? JSONText.quoted(choices[0])
            : "one of " + choices.map { JSONText.quoted($0) }.joined(separator: ", ")
        let string = try string(value, path, expected)
        guard choices.contains(string) else { throw invalid(path, expected, value) }
        return string
    }

    // MARK: - Paths and names

    static let absolutePath = "an absolute path (starting with \"/\")"
    static let absoluteFilePath = "an absolute file path (starting with \"/\", not ending with \"/\")"

    /// An absolute folder path, without trailing slashes ("/" stays "/").
    func absoluteFolder(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let string = try string(value, path, Self.absolutePath)
        guard string.hasPrefix("/"), !string.unicodeScalars.contains("\0") else {
            throw invalid(path, Self.absolutePath, value)
        }
        var folder = Substring(string)
        while folder.count > 1, folder.hasSuffix("/") { folder.removeLast() }
        return String(folder)
    }

    func absoluteFile(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String {
        let string = try string(value, path, Self.absoluteFilePath)
        guard string.hasPrefix("/"), !string.hasSuffix("/"), !string.unicodeScalars.contains("\0") else {
            throw invalid(path, Self.absoluteFilePath, value)
        }
        return string
    }

    /// An absolute file path, or nil for JSON null.
    func optionalAbsoluteFile(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> String? {
        if case .null = value { return nil }
        let expected = Self.absoluteFilePath + " or null"
        let string = try string(value, path, expected)
        guard string.hasPrefix("/"), !string.hasSuffix("/"), !string.unicodeScalars.contains("\0") else {
            throw invalid(path, expected, value)
        }
        return string
    }

    /// An array whose elements are read by `element` (with their own paths).
    func array<T>(
        _ value: JSONValue, _ path: ConfigKeyPath, _ expected: String, nonEmpty: Bool,
        _ element: (JSONValue, ConfigKeyPath) throws(ConfigError) -> T
    ) throws(ConfigError) -> [T] {
        guard case .array(let values) = value else { throw wrongType(path, expected, value) }
        if nonEmpty, values.isEmpty { throw invalid(path, expected, value) }
        var result: [T] = []
        for (offset, value) in values.enumerated() {
            result.append(try element(value, path.appending(index: offset)))
        }
        return result
    }

    enum Limits {
        static let yearInSeconds: Double = 365 * 24 * 3600
        static let yearInMinutes: Double = 365 * 24 * 60
    }
}

extension Unicode.Scalar {
    /// Spaces, tabs, line breaks and other control characters: never wanted in a name or option.
    var isSpaceOrControl: Bool {
        properties.isWhitespace || properties.generalCategory == .control
    }
}
