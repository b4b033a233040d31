import Foundation

/// Where a value sits in the document, rendered as operators read it: `destinations[0].port`.
struct ConfigKeyPath: Hashable, Sendable, CustomStringConvertible {
    enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    var components: [Component] = []

    static let root = ConfigKeyPath()

    func appending(_ key: String) -> ConfigKeyPath {
        ConfigKeyPath(components: components + [.key(key)])
    }

    func appending(index: Int) -> ConfigKeyPath {
        ConfigKeyPath(components: components + [.index(index)])
    }

    var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key) where Self.isPlainKey(key):
                if !text.isEmpty { text += "." }
                text += key
            case .key(let key):
                text += "[" + JSONText.quoted(key) + "]"
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// Keys that read unambiguously after a dot; anything else is shown as `["odd key"]`.
    private static func isPlainKey(_ key: String) -> Bool {
        !key.isEmpty
            && key.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (scalar == "_" || scalar == "-"
                        || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
            }
    }
}

/// A parsed JSON value with booleans, integers and other numbers kept apart.
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Converts what JSONSerialization returns.
    init(foundation value: Any) {
        switch value {
        case is NSNull:
            self = .null
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            // JSONSerialization produces booleans as NSNumber with objCType "c", integers that fit
            // as "q"/"i"/"l", larger unsigned ones as "Q" and everything else as "d".
            switch String(cString: number.objCType) {
            case "c", "B": self = .bool(number.boolValue)
            case "d", "f", "Q": self = .number(number.doubleValue)
            default: self = .integer(number.intValue)
            }
        case let array as [Any]:
            self = .array(array.map(JSONValue.init(foundation:)))
        case let object as [String: Any]:
            self = .object(object.mapValues(JSONValue.init(foundation:)))
        default:
            self = .string(String(describing: value))
        }
    }

    /// What the value is, for "found ..." in error messages: `"22a" (a string)`, `true (a boolean)`.
    var found: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value) (a boolean)"
        case .integer(let value): "\(value) (a number)"
        case .number(let value): "\(JSONText.number(value)) (a number)"
        case .string(let value): "\(JSONText.quoted(value, limit: 80)) (a string)"
        case .array(let values) where values.isEmpty: "an empty array"
        case .array(let values): values.count == 1 ? "an array of 1 element" : "an array of \(values.count) elements"
        case .object(let fields) where fields.isEmpty: "an empty object"
        case .object: "an object"
        }
    }
}

enum JSONText {
    /// `value` as a JSON string literal, shortened to `limit` characters (with "…") when given.
    static func quoted(_ value: String, limit: Int? = nil) -> String {
        var text = "\""
        var count = 0
        for scalar in value.unicodeScalars {
            if let limit, count >= limit {
                text += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }

    /// 30 rather than 30.0 for whole numbers; Swift's shortest round-trip form otherwise.
    static func number(_ value: Double) -> String {
        if value.isFinite, value.rounded() == value, abs(value) < 1e15 {
            return String(Int64(value))
        }
        return "\(value)"
    }
}

/// What JSONSerialization does not keep: the order of keys in each object, duplicates (it
/// silently keeps the last) and trailing commas (it accepts them; JSON and other tools do not).
/// Built by a structural scan of text JSONSerialization has already accepted, so the scan can
/// stay simple.
struct DocumentIndex {
    /// Keys of every object in document order, by the object's key path description.
    var keyOrder: [String: [String]] = [:]

    struct Duplicate {
        var path: ConfigKeyPath
        var line: Int, column: Int
        var firstLine: Int, firstColumn: Int
    }

    /// The first key that appears twice in one object, in document order.
    var firstDuplicate: Duplicate?

    /// Byte offset of the first comma directly followed by "}" or "]".
    var firstTrailingComma: Int?

    init(bytes: [UInt8]) {
        enum Frame {
            case object(path: ConfigKeyPath, keys: [String], seen: [String: Int], currentKey: String?, expectingKey: Bool)
            case array(path: ConfigKeyPath, index: Int)
        }
        var stack: [Frame] = []

        func childPath() -> ConfigKeyPath {
            switch stack.last {
            case nil: .root
            case .object(let path, _, _, let key, _)?: path.appending(key ?? "")
            case .array(let path, let index)?: path.appending(index: index)
            }
        }

        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                let end = min(i, bytes.count)
                if case .object(let path, var keys, var seen, _, true)? = stack.last {
                    let key = Self.decodeKey(bytes[start...min(end, bytes.count - 1)])
                    if let first = seen[key] {
                        if firstDuplicate == nil {
                            let here = Self.lineAndColumn(of: start, in: bytes)
                            let there = Self.lineAndColumn(of: first, in: bytes)
                            firstDuplicate = Duplicate(
                                path: path.appending(key), line: here.line, column: here.column,
                                firstLine: there.line, firstColumn: there.column)
                        }
                    } else {
                        seen[key] = start
                        keys.append(key)
                    }
                    stack[stack.count - 1] = .object(path: path, keys: keys, seen: seen, currentKey: key, expectingKey: false)
                }
            case UInt8(ascii: "{"):
                stack.append(.object(path: childPath(), keys: [], seen: [:], currentKey: nil, expectingKey: true))
            case UInt8(ascii: "["):
                stack.append(.array(path: childPath(), index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if case .object(let path, let keys, _, _, _)? = stack.popLast() {
                    keyOrder[path.description] = keys
                }
            case UInt8(ascii: ","):
                if firstTrailingComma == nil,
                    let next = bytes[(i + 1)...].first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
                    next == UInt8(ascii: "}") || next == UInt8(ascii: "]")
                {
                    firstTrailingComma = i
                }
                switch stack.last {
                case .object(let path, let keys, let seen, let key, _)?:
                    stack[stack.count - 1] = .object(path: path, keys: keys, seen: seen, currentKey: key, expectingKey: true)
                case .array(let path, let index)?:
                    stack[stack.count - 1] = .array(path: path, index: index + 1)
                case nil:
                    break
                }
            default:
                break
            }
            i += 1
        }
    }

    /// A key's JSON string literal (quotes included) as the String JSONSerialization produced.
    private static func decodeKey(_ literal: ArraySlice<UInt8>) -> String {
        let inner = literal.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        let decoded = try? JSONSerialization.jsonObject(with: Data(literal), options: [.fragmentsAllowed])
        return decoded as? String ?? String(decoding: inner, as: UTF8.self)
    }

    /// 1-based line and column (in characters, not bytes) of a byte offset.
    static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}
