import Logging

/// The journald field name for a swift-log metadata key, or nil when nothing usable is left.
///
/// journald keeps only names made of `[A-Z0-9_]` that do not start with `_` (those are trusted
/// fields it sets itself) nor with a digit, at most 64 characters. So: upper-case, every other
/// character becomes `_`, leading `_` and digits are dropped, the rest is cut at 64 characters.
/// The key `message_id` (any case) maps to `MESSAGE_ID`, journald's catalogue id field.
public func journaldFieldName(_ key: String) -> String? {
    if key.lowercased() == "message_id" { return "MESSAGE_ID" }
    var out: [UInt8] = []
    out.reserveCapacity(min(key.utf8.count, 64))
    for b in key.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): out.append(b - 32)
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            out.append(b)
        default:
            // Every non-matching character, including each byte of a multi-byte one.
            // A UTF-8 continuation byte is not a character of its own: skip it.
            if b & 0xC0 != 0x80 { out.append(UInt8(ascii: "_")) }
        }
    }
    let first = out.firstIndex { b in !(b == UInt8(ascii: "_") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))) }
    guard let first else { return nil }
    let name = out[first...].prefix(64)
    return String(decoding: name, as: UTF8.self)
}

/// Metadata as flat `(key, value)` pairs sorted by key: a nested dictionary's entries become
/// `outer.inner`, an array is rendered as `[a, b]` (dictionaries inside it as `[k: v]`).
/// Values of secret-looking keys (``isSecretKey(_:)``) become `<redacted>`; every other value
/// goes through ``redactSecrets(_:)``.
public func flattenLogMetadata(_ metadata: Logger.Metadata) -> [(key: String, value: String)] {
    var out: [(key: String, value: String)] = []
    func visit(_ prefix: String, _ value: Logger.MetadataValue) {
        switch value {
        case .dictionary(let dict):
            if dict.isEmpty { out.append((prefix, "[:]")) }
            for (k, v) in dict { visit(prefix.isEmpty ? k : "\(prefix).\(k)", v) }
        default:
            out.append((prefix, render(value)))
        }
    }
    for (k, v) in metadata { visit(k, v) }
    out.sort { $0.key < $1.key }
    return out.map { pair in
        (pair.key, isSecretKey(pair.key) ? redactedPlaceholder : redactSecrets(pair.value))
    }
}

private func render(_ value: Logger.MetadataValue) -> String {
    switch value {
    case .string(let s): return s
    case .stringConvertible(let c): return c.description
    case .array(let items): return "[" + items.map(render).joined(separator: ", ") + "]"
    case .dictionary(let dict):
        let inner = dict.sorted { $0.key < $1.key }.map { "\($0.key): \(render($0.value))" }
        return inner.isEmpty ? "[:]" : "[" + inner.joined(separator: ", ") + "]"
    }
}

/// Handler metadata, then the metadata provider's, then the message's own: later wins.
func mergedMetadata(
    handler: Logger.Metadata, provider: Logger.MetadataProvider?,
    event: Logger.Metadata?, error: (any Error)?
) -> Logger.Metadata {
    var merged = handler
    if let provided = provider?.get(), !provided.isEmpty {
        merged.merge(provided) { _, new in new }
    }
    if let event, !event.isEmpty {
        merged.merge(event) { _, new in new }
    }
    if let error, merged["error"] == nil {
        merged["error"] = .string(String(describing: error))
    }
    return merged
}
