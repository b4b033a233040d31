/// `layout.remote_layout`: where a file goes below a destination's base (NAS folder or S3 prefix),
/// e.g. `{dock}/{yyyy}/{mm}/{dd}/{name}`. Parsed and checked once, when the configuration is read,
/// so a bad template is a `config check` error naming the key, never a surprise on the NAS.
public struct LayoutTemplate: Sendable, Equatable, CustomStringConvertible {
    public enum Placeholder: String, Sendable, CaseIterable {
        case dock, yyyy, mm, dd, name, stem, ext, kind
        /// Placeholders that come from the file name: bytes, not necessarily UTF-8, so only in
        /// the last component (the file name itself).
        var isFromFileName: Bool { self == .name || self == .stem || self == .ext }
    }

    public enum Piece: Sendable, Equatable {
        case text(String)
        case placeholder(Placeholder)
    }

    /// Folder components, then the file-name component.
    public let components: [[Piece]]
    public let description: String

    public static let standard = try! LayoutTemplate("{yyyy}/{mm}/{dd}/{name}")

    public var isStandard: Bool { self == Self.standard }
    public var usesDock: Bool { components.joined().contains(.placeholder(.dock)) }

    /// Throws a sentence saying what is wrong (the caller names the key).
    public init(_ text: String) throws(LayoutTemplateError) {
        description = text
        guard !text.isEmpty else { throw .init("is empty") }
        guard !text.hasPrefix("/") else { throw .init("must be relative to the destination's base (no leading \"/\")") }
        var components: [[Piece]] = []
        for raw in text.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
            guard !raw.isEmpty else { throw .init("has an empty folder (\"//\" or a trailing \"/\")") }
            guard raw != ".", raw != ".." else { throw .init("may not contain \".\" or \"..\" as a folder") }
            guard !raw.contains(where: { $0.isASCII && ($0.asciiValue! < 0x20 || $0.asciiValue! == 0x7f) }) else {
                throw .init("may not contain control characters")
            }
            var pieces: [Piece] = []
            var rest = Substring(raw)
            while let open = rest.firstIndex(of: "{") {
                if open > rest.startIndex { pieces.append(.text(String(rest[..<open]))) }
                guard let close = rest[open...].firstIndex(of: "}") else { throw .init("has a \"{\" without its \"}\"") }
                let name = String(rest[rest.index(after: open)..<close])
                guard let placeholder = Placeholder(rawValue: name) else {
                    throw .init("has an unknown placeholder {\(name)} (known: \(Placeholder.allCases.map { "{\($0.rawValue)}" }.joined(separator: " ")))")
                }
                pieces.append(.placeholder(placeholder))
                rest = rest[rest.index(after: close)...]
            }
            if !rest.isEmpty {
                guard !rest.contains("}") else { throw .init("has a \"}\" without its \"{\"") }
                pieces.append(.text(String(rest)))
            }
            components.append(pieces)
        }
        let last = components[components.count - 1]
        for folder in components.dropLast() {
            if folder.contains(where: { if case let .placeholder(p) = $0 { p.isFromFileName } else { false } }) {
                throw .init("may use {name}, {stem} and {ext} only in its last part, the file name")
            }
            if case let .text(t)? = folder.first, t.hasPrefix(".") {
                throw .init("may not make hidden folders (a part starting with \".\")")
            }
        }
        let names = last.filter { $0 == .placeholder(.name) || $0 == .placeholder(.stem) }.count
        guard names == 1 else { throw .init("must end in a file name with exactly one {name} or {stem}") }
        if case let .text(t)? = last.first, t.hasPrefix(".") { throw .init("may not make hidden file names (starting with \".\")") }
        self.components = components
    }
}

public struct LayoutTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// `layout.dock_id`: names this dock in remote paths (`{dock}`); a safe folder name.
public enum DockID {
    public static func isValid(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && !id.hasPrefix(".") && !id.hasPrefix("-")
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f
            }
    }

    /// The host name made safe: anything else becomes "-".
    public static func fromHostName(_ host: String) -> String {
        let mapped = String(host.split(separator: ".").first.map(String.init) ?? host).map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_") ? c : "-"
        }
        let id = String(mapped.prefix(64)).trimmingLeading("-")
        return isValid(id) ? id : "dock"
    }
}

private extension String {
    func trimmingLeading(_ c: Character) -> String { String(drop { $0 == c }) }
}
