/// The percent-encoding SigV4 prescribes (RFC 3986): every byte except the unreserved characters
/// `A-Z a-z 0-9 - . _ ~` becomes `%XY` with upper-case hex digits. The same spelling goes on the wire
/// and into the canonical request, so that what is signed is exactly what is sent.
public enum URIEncoding {
    /// Encodes every byte of `text`'s UTF-8 except the unreserved characters (and `/` when
    /// `keepingSlashes`).
    public static func encode(_ text: some StringProtocol, keepingSlashes: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical URI of an (unencoded) path: each segment encoded once, slashes kept.
    ///
    /// - Parameter normalizing: `true` for generic AWS services: dot segments are resolved
    ///   (RFC 3986 "remove_dot_segments") and empty segments (`//`) dropped, keeping a trailing
    ///   slash. `false` for S3, whose keys are names, not paths: `a//./b` is signed as it is.
    public static func canonicalPath(_ path: String, normalizing: Bool) -> String {
        let absolute = path.hasPrefix("/") ? path : "/" + path
        guard normalizing else { return encode(absolute, keepingSlashes: true) }
        let segments = absolute.split(separator: "/", omittingEmptySubsequences: false)
        var kept: [Substring] = []
        for segment in segments.dropFirst() {
            switch segment {
            case "", ".": continue
            case "..": _ = kept.popLast()
            default: kept.append(segment)
            }
        }
        var result = "/" + kept.map { encode($0) }.joined(separator: "/")
        // A trailing slash (or a trailing "." / "..", which name a folder) stays a folder.
        if let last = segments.last, last.isEmpty || last == "." || last == "..", !kept.isEmpty {
            result += "/"
        }
        return result
    }

    /// The canonical query string: names and values encoded, sorted by name then value (bytewise),
    /// `name=value` pairs joined by `&` (a valueless parameter gets `name=`).
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items
            .map { (name: encode($0.name), value: encode($0.value)) }
            .sorted { lhs, rhs in
                if lhs.name != rhs.name { return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8) }
                return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
            }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    /// The bytes `text` percent-encodes (`%XY`, either case), as UTF-8 text; `+` is a space only
    /// when `plusAsSpace` (form encoding, as in listings), never in a URL path.
    /// - Parameter strict: a `%` not followed by two hex digits, or bytes that are not UTF-8, give
    ///   nil (a URL naming an object); otherwise they are kept as they are.
    public static func decode(_ text: some StringProtocol, plusAsSpace: Bool = false, strict: Bool = true) -> String? {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                let hi = hexValue(bytes[index + 1]), let lo = hexValue(bytes[index + 2])
            {
                out.append(hi << 4 | lo)
                index += 3
            } else if byte == UInt8(ascii: "%"), strict {
                return nil
            } else {
                out.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        guard strict else { return String(decoding: out, as: UTF8.self) }
        return String(validating: out, as: UTF8.self)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
