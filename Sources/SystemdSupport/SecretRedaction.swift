/// What a redacted value is replaced with.
public let redactedPlaceholder = "<redacted>"

/// Blanks the secrets that could end up in a log line.
///
/// Recognised, case-insensitively, wherever a key is followed by `=` or `:` (optionally with
/// spaces and JSON-style quotes around the key or the value):
/// - presigned-URL parameters and headers `X-Amz-Signature`, `X-Amz-Credential`,
///   `X-Amz-Security-Token` (value ends at `&`, white space, a quote or the end);
/// - `Authorization` and `Proxy-Authorization` (the value is the rest of the line);
/// - keys that look like secrets (see ``isSecretKey(_:)``): `secret_key`,
///   `aws_secret_access_key`, `password`, `api_key`, `session_token`, ...
///
/// Keys are the maximal runs of `[A-Za-z0-9_-]`, so `aws.secret_key=x` and `"secret_key": "x"`
/// are both found. Over-redacting an innocent `secretary=bob` is the accepted price.
/// - Returns: `text` with each secret value replaced by `<redacted>`; `text` itself (no copy)
///   when there is nothing to redact.
public func redactSecrets(_ text: String) -> String {
    // Fast path, without a copy: almost every log line has none of the trigger words.
    guard Redactor.mayContainSecret(text) else { return text }
    let bytes = Array(text.utf8)
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count)
    var changed = false
    var i = 0
    while i < bytes.count {
        guard Redactor.isKeyByte(bytes[i]), i == 0 || !Redactor.isKeyByte(bytes[i - 1]) else {
            output.append(bytes[i])
            i += 1
            continue
        }
        var end = i
        while end < bytes.count, Redactor.isKeyByte(bytes[end]) { end += 1 }
        let key = String(decoding: bytes[i..<end], as: UTF8.self)
        output.append(contentsOf: bytes[i..<end])
        i = end
        guard let kind = Redactor.kind(ofKey: key),
            let value = Redactor.valueRange(in: bytes, afterKeyEndingAt: end, kind: kind),
            !value.isEmpty
        else { continue }
        output.append(contentsOf: bytes[end..<value.lowerBound])
        output.append(contentsOf: redactedPlaceholder.utf8)
        i = value.upperBound
        changed = true
    }
    return changed ? String(decoding: output, as: UTF8.self) : text
}

/// Whether a metadata key (or the last component of a dotted one) names a secret, so that its
/// whole value is blanked: it contains `secret`, `password`, `passwd`, `private_key`,
/// `credential` or `signature`, or is `authorization`, `token`, `api_key`, `apikey` or ends in
/// `_token` / `-token`.
public func isSecretKey(_ key: String) -> Bool {
    guard Redactor.mayContainSecret(key) else { return false }
    let last = key.split(separator: ".").last.map(String.init) ?? key
    return Redactor.kind(ofKey: last) != nil
}

enum Redactor {
    enum Kind { case urlParameter, header, keyValue }

    static func isKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
    }

    static func kind(ofKey key: String) -> Kind? {
        // Every key below contains a trigger word: most keys (every field of every log line) are
        // dismissed by this byte scan, without lower-casing or Unicode substring searches.
        guard mayContainSecret(key) else { return nil }
        let k = key.lowercased()
        switch k {
        case "x-amz-signature", "x-amz-credential", "x-amz-security-token":
            return .urlParameter
        case "authorization", "proxy-authorization":
            return .header
        case "token", "api_key", "apikey", "api-key":
            return .keyValue
        default:
            break
        }
        let words = ["secret", "password", "passwd", "private_key", "private-key", "credential", "signature"]
        if words.contains(where: { k.contains($0) }) { return .keyValue }
        if k.hasSuffix("_token") || k.hasSuffix("-token") { return .keyValue }
        return nil
    }

    /// Lower-cased trigger words; a line containing none of them has nothing to redact.
    private static let triggers: [[UInt8]] = [
        "x-amz-", "authorization", "secret", "passw", "token", "api", "private", "credential", "signature"
    ].map { Array($0.utf8) }

    /// Whether `text` contains a trigger word (ASCII, any case). Called for every field of every
    /// log line (one per file synced), so it scans the string's own UTF-8 storage, and only bytes
    /// that can start a trigger word are looked at further.
    static func mayContainSecret(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { mayContainSecret($0) }
    }

    static func mayContainSecret(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 5 else { return false }
        let table = firstByteMask
        for start in 0..<bytes.count {
            let mask = table[Int(bytes[start])]
            guard mask != 0 else { continue }
            for (n, t) in triggers.enumerated() where mask & (1 << n) != 0 && start + t.count <= bytes.count {
                var match = true
                for j in 1..<t.count where lower(bytes[start + j]) != t[j] {
                    match = false
                    break
                }
                if match { return true }
            }
        }
        return false
    }

    /// For each byte, the triggers (bit n: `triggers[n]`) that start with it, in either case.
    private static let firstByteMask: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 256)
        for (n, t) in triggers.enumerated() {
            table[Int(t[0])] |= 1 << n
            table[Int(t[0]) - 32] |= 1 << n // the upper case (every trigger starts with a letter)
        }
        return table
    }()

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b + 32 : b }

    /// The bytes of the value that follows a key ending at `keyEnd`, if a `=` or `:` follows.
    static func valueRange(in b: [UInt8], afterKeyEndingAt keyEnd: Int, kind: Kind) -> Range<Int>? {
        var i = keyEnd
        // A closing quote around a JSON / Python key.
        if i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") { i += 1 }
        while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
        guard i < b.count, b[i] == UInt8(ascii: "=") || b[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") {
            let quote = b[i]
            let start = i + 1
            var j = start
            while j < b.count, b[j] != quote, b[j] != UInt8(ascii: "\n") {
                if b[j] == UInt8(ascii: "\\"), j + 1 < b.count { j += 2 } else { j += 1 }
            }
            return start..<min(j, b.count)
        }
        var j = i
        while j < b.count {
            let c = b[j]
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { break }
            if kind != .header {
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "&")
                    || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")
                {
                    break
                }
                if kind == .keyValue,
                    c == UInt8(ascii: ",") || c == UInt8(ascii: ";")
                        || c == UInt8(ascii: "}") || c == UInt8(ascii: ")")
                {
                    break
                }
            }
            j += 1
        }
        return i..<j
    }
}
