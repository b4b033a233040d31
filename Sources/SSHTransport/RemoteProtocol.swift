import SystemPackage

/// The NAS wire protocol in one place: every request line the daemon sends is built by an encoder
/// here, and every line it parses goes through a typed decoder here. The other end is dms-receive
/// (ReceiverScript), the same program whether it runs inline or as a forced command.
///
/// Requests are data, never code: one per line, `verb TAB field TAB field…`. A field's bytes are
/// sent as they are, except TAB, LF, CR and `%` (`%09 %0A %0D %25`); an empty field is a lone `%`
/// (sh's field splitting drops empty fields). The receiver decodes only fields that hold a `%`,
/// so the common case costs it no work. Paths are relative to the base folder.
/// Replies are the receiver's own ASCII lines, `<index> <code> [fields]`.
enum RemoteProtocol {
    // MARK: - Requests (control session)

    static func escape(_ field: [UInt8]) -> [UInt8] {
        if field.isEmpty { return [0x25] }
        // Most fields hold none of those bytes (nor a NUL): sent as they are, without a copy.
        if !field.contains(where: { $0 == 0x25 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0 }) { return field }
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        for byte in field {
            precondition(byte != 0, "NUL in a protocol field")
            switch byte {
            case 0x25: out += [0x25, 0x32, 0x35]
            case 0x09: out += [0x25, 0x30, 0x39]
            case 0x0A: out += [0x25, 0x30, 0x41]
            case 0x0D: out += [0x25, 0x30, 0x44]
            default: out.append(byte)
            }
        }
        return out
    }

    /// The inverse of `escape` (as the receiver decodes); nil for a malformed escape.
    static func unescape(_ field: [UInt8]) -> [UInt8]? {
        if field == [0x25] { return [] }
        var out: [UInt8] = []
        var i = 0
        while i < field.count {
            guard field[i] == 0x25 else {
                out.append(field[i])
                i += 1
                continue
            }
            guard i + 2 < field.count else { return nil }
            switch (field[i + 1], field[i + 2]) {
            case (0x32, 0x35): out.append(0x25)
            case (0x30, 0x39): out.append(0x09)
            case (0x30, 0x41), (0x30, 0x61): out.append(0x0A)
            case (0x30, 0x44), (0x30, 0x64): out.append(0x0D)
            default: return nil
            }
            i += 3
        }
        return out
    }

    static func line(_ verb: String, _ fields: [[UInt8]]) -> [UInt8] {
        var out = Array(verb.utf8)
        for f in fields {
            out.append(0x09)
            out += escape(f)
        }
        out.append(0x0A)
        return out
    }

    static func number<N: BinaryInteger>(_ n: N) -> [UInt8] { Array(String(n).utf8) }

    /// `pr`: the first free name among `name`, `stem_1ext`, …; same-size files met on the way.
    static func probe(id: Int, directory: [UInt8], name: [UInt8], stem: [UInt8], ext: [UInt8], size: Int64) -> [UInt8] {
        line("pr", [number(id), directory, name, stem, ext, number(size)])
    }

    /// `dx`: whether a folder exists ("<id> D" or "<id> N"); files bound for a new folder need no probe.
    static func folderCheck(id: Int, directory: [UInt8]) -> [UInt8] { line("dx", [number(id), directory]) }

    /// A `dx` answer: the id, and whether the folder exists.
    static func folderLine(_ line: [UInt8]) -> (id: Int, exists: Bool)? {
        let f = fields(line)
        guard f.count == 2, let id = Int(f[0]), f[1] == "D" || f[1] == "N" else { return nil }
        return (id, f[1] == "D")
    }

    /// `blk`: `pr` and `pb` request lines framed by their length, for a receiver with perl to read in
    /// one process (a POSIX sh reads a request line a byte at a time).
    static func bulk(_ requests: [UInt8]) -> [UInt8] { line("blk", [number(requests.count)]) + requests }
    /// `requests` in a `blk` where the receiver takes them so (`framed`), else as they are.
    static func bulk(_ requests: [UInt8], if framed: Bool) -> [UInt8] { framed ? bulk(requests) : requests }

    /// `pb`: no-clobber publish of temp → final, many on one line (one perl for all).
    static func publish(_ entries: some Collection<(id: Int, temp: [UInt8], final: [UInt8])>) -> [UInt8] {
        line("pb", entries.flatMap { [number($0.id), $0.temp, $0.final] })
    }

    static func verify(index: Int, path: [UInt8], mode: String) -> [UInt8] {
        line("ver", [number(index), path, Array(mode.utf8)])
    }

    /// A file's modification time as `put`, `app` and `rmv` carry it: the source's, in whole
    /// seconds (the receiver sets it on the temp, and retention checks it against the copy).
    static func seconds(nanoseconds: Int64) -> Int64 { nanoseconds / 1_000_000_000 }

    /// The optional modification-time field: none before 1970.
    static func mtimeField(_ seconds: Int64?) -> [[UInt8]] { seconds.map { [number(max(0, $0))] } ?? [] }

    /// `rmv`: retention's removal of a published copy (the receiver needs `--allow-remove`), only
    /// if it still has `size` bytes and, given `mtime`, the modification time the copy was given (as
    /// `put` sends it; receivers that say `rmvm`).
    static func removeCopy(index: Int, path: [UInt8], size: Int64, mtime: Int64? = nil) -> [UInt8] {
        line("rmv", [number(index), path, number(size)] + mtimeField(mtime))
    }

    /// `rsm`: what a temp kept from a cut transfer holds, for a file of `size` bytes. Answered
    /// like `ver`: "<i> M" missing, "<i> Z <length>" longer than `size` (not hashed),
    /// "<i> H <length> <sha256 of those bytes>".
    static func resumePoint(index: Int, temp: [UInt8], size: Int64) -> [UInt8] {
        line("rsm", [number(index), temp, number(size)])
    }

    /// `rmt`: removal of the daemon's own temp and session files (the receiver refuses others).
    static func removeTemps(_ paths: some Collection<[UInt8]>) -> [UInt8] { line("rmt", Array(paths)) }

    /// `es`: ends the data sessions whose session files these are (an interrupted run's).
    static func endSessions(_ sessionFiles: some Collection<[UInt8]>) -> [UInt8] { line("es", Array(sessionFiles)) }

    static let space = line("spc", [])

    /// Ends a request: the receiver answers `@@END <sequence>` after the request's own lines.
    static func end(_ sequence: Int) -> [UInt8] { line("end", [number(sequence)]) }
    static func endMarker(_ sequence: Int) -> [UInt8] { Array("@@END \(sequence)".utf8) }

    // MARK: - Requests (data session: its standard input)

    static func dataTool(_ tool: String) -> [UInt8] { line("tool", [Array(tool.utf8)]) }
    /// The session file (in the base) that holds the receiver's pid, for `es` after a crash.
    static func dataSessionFile(_ name: [UInt8]) -> [UInt8] { line("pid", [name]) }
    /// A session cut short removes its temps, except those of files of `keepFrom` bytes or more (0: none kept).
    static func dataTidy(keepFrom: Int64) -> [UInt8] { line("tidy", [Array(String(keepFrom).utf8)]) }
    static func dataDirectory(_ directory: [UInt8]) -> [UInt8] { line("dir", [directory]) }
    /// Followed by exactly `size` bytes; the file gets `mtime` (seconds, the source's) as its
    /// modification time. `hashWhileWriting`: the receiver hashes the file from disk while it is
    /// written (GNU tail), instead of with the others at the end.
    static func put(temp: [UInt8], size: Int64, mtime: Int64? = nil, hashWhileWriting: Bool = false) -> [UInt8] {
        line(hashWhileWriting ? "putw" : "put", [temp, number(size)] + mtimeField(mtime))
    }
    /// `app`: the rest of a temp that holds the file's first `offset` bytes (checked by the
    /// receiver): followed by exactly `size - offset` bytes.
    static func append(temp: [UInt8], size: Int64, offset: Int64, mtime: Int64? = nil) -> [UInt8] {
        line("app", [temp, number(size), number(offset)] + mtimeField(mtime))
    }
    static let dataEnd = line("end", [])

    /// `fin`: after the files, one a file: the receiver publishes `temp` as `final` (no clobber) if
    /// its own SHA-256 of the temp is `sha256`, and says so with a `@@PB` line after the hashes.
    static func finish(id: Int, temp: [UInt8], final: [UInt8], sha256: String) -> [UInt8] {
        line("fin", [number(id), temp, final, Array(sha256.utf8)])
    }

    /// A data session's `@@PB <id> P|E|X why|D` (D: the hash differs, not published).
    static func sessionPublishLine(_ line: [UInt8]) -> (id: Int, reply: Publish?)? {
        let prefix = Array("@@PB ".utf8)
        guard line.starts(with: prefix) else { return nil }
        let rest = Array(line.dropFirst(prefix.count))
        if rest.count > 2, rest.suffix(2) == [0x20, UInt8(ascii: "D")], let id = Int(String(decoding: rest.dropLast(2), as: UTF8.self)) {
            return (id, nil)
        }
        return publishLine(rest).map { ($0.id, $0.reply) }
    }

    // MARK: - Requests (read session, restore)

    /// `get`: answered `@@F <size>` and exactly that many bytes, or `@@M` (missing, or not a
    /// regular file). The session ends after `dataEnd`.
    static func get(_ path: [UInt8]) -> [UInt8] { line("get", [path]) }

    enum ReadReply: Equatable {
        case file(size: Int64)
        case missing
    }

    static func readReply(_ line: [UInt8]) -> ReadReply? {
        let f = fields(line)
        switch (f.first, f.count) {
        case ("@@M", 1): return .missing
        case ("@@F", 2): if let n = Int64(f[1]), n >= 0 { return .file(size: n) }
        default: break
        }
        return nil
    }

    // MARK: - Replies

    struct Ready: Equatable {
        var hashTool: String
        var perl: Bool
        var gnuTail: Bool
        /// The receiver knows `rsm` and `app`: a dms-receive installed before them does not say
        /// "resume", and with it cut temps are not kept (the file starts over, as it did then).
        var resume = false
        /// The receiver knows `tidy`: a data session cut short removes its own temps.
        var tidy = false
        /// The receiver takes `blk` (probes and publishes of a batch read by one perl process).
        var bulk = false
        /// The data session takes `fin` (it publishes what it verified itself).
        var finishes = false
        /// `blk` takes `ver` too (a blk of them hashed by one run of the hash tool).
        var bulkVerify = false
        /// The receiver answers `dx` (does a folder exist).
        var folderCheck = false
        /// `rmv` takes the copy's modification time and leaves a same-size file written since alone.
        var removalChecksTime = false
    }

    enum Startup: Equatable {
        case ready(Ready)
        case baseMissing, baseNotWritable, noHashTool
        case refused(String)
        case unexpected(String)
    }

    static let hashTools: Set<String> = ["openssl", "sha256sum", "shasum", "sha256"]

    /// The receiver's first answer: `@@READY <tool> <perl|sh> <gnutail 0|1> [resume] [tidy] [dx]
    /// [rmvm] [blk] [fin] [ver]`.
    static func startup(_ lines: [[UInt8]]) -> Startup {
        guard let last = lines.last else { return .unexpected("no answer") }
        let text = String(decoding: last, as: UTF8.self)
        switch text {
        case "@@ERR base": return .baseMissing
        case "@@ERR basewrite": return .baseNotWritable
        case "@@ERR nohash": return .noHashTool
        default: break
        }
        if text.hasPrefix("@@REFUSED ") { return .refused(String(text.dropFirst(10).prefix(200))) }
        let f = fields(last)
        let features = Set(f.dropFirst(4))
        guard (4...11).contains(f.count), features.isSubset(of: ["resume", "tidy", "dx", "rmvm", "blk", "fin", "ver"]), features.count == f.count - 4,
            f[0] == "@@READY",
            hashTools.contains(f[1]), ["perl", "sh"].contains(f[2]), ["0", "1"].contains(f[3])
        else { return .unexpected(String(text.prefix(200))) }
        return .ready(
            Ready(
                hashTool: f[1], perl: f[2] == "perl", gnuTail: f[3] == "1",
                resume: features.contains("resume"), tidy: features.contains("tidy"), bulk: features.contains("blk"),
                finishes: features.contains("fin"), bulkVerify: features.contains("blk") && features.contains("ver"),
                folderCheck: features.contains("dx"), removalChecksTime: features.contains("rmvm")))
    }

    enum Probe: Equatable {
        case free(Int)
        case sameSize(index: Int, sha256: String)
        case tooMany
    }

    /// `pr`: "<id> F <n>" free at index n, "<id> S <n> <sha256>" same size, "<id> X" no free name.
    static func probeLine(_ line: [UInt8]) -> (id: Int, reply: Probe)? {
        let f = fields(line)
        guard f.count >= 2, let id = Int(f[0]) else { return nil }
        switch (f[1], f.count) {
        case ("F", 3): if let n = Int(f[2]), n >= 0 { return (id, .free(n)) }
        case ("S", 4): if let n = Int(f[2]), n >= 0, isSHA256(f[3]) { return (id, .sameSize(index: n, sha256: f[3])) }
        case ("X", 2): return (id, .tooMany)
        default: break
        }
        return nil
    }

    enum Publish: Equatable {
        case published
        case exists
        case failed(String)
    }

    /// `pb`: "<id> P" published, "<id> E" the final name exists (not overwritten), "<id> X why".
    static func publishLine(_ line: [UInt8]) -> (id: Int, reply: Publish)? {
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count >= 2, let id = Int(parts[0]) else { return nil }
        switch (parts[1], parts.count) {
        case ("P", 2): return (id, .published)
        case ("E", 2): return (id, .exists)
        case ("X", _): return (id, .failed(parts.count > 2 ? parts[2] : "unknown"))
        default: return nil
        }
    }

    /// `ver`: "<i> M" missing, "<i> Z <size>", "<i> H <size> <sha256>", "<i> U ..." unknown.
    enum Verify: Equatable {
        case missing
        case size(Int64)
        case sizeAndHash(Int64, String)
        case unknown(String)
    }

    static func verifyLine(_ line: [UInt8]) -> (index: Int?, reply: Verify) {
        let f = fields(line)
        let index = f.first.flatMap { Int($0) }
        guard index != nil, f.count >= 2 else { return (index, .unknown(f.joined(separator: " "))) }
        switch (f[1], f.count) {
        case ("M", 2): return (index, .missing)
        case ("Z", 3): if let n = Int64(f[2]), n >= 0 { return (index, .size(n)) }
        case ("H", 4): if let n = Int64(f[2]), n >= 0, isSHA256(f[3]) { return (index, .sizeAndHash(n, f[3])) }
        default: break
        }
        return (index, .unknown(f.dropFirst().joined(separator: " ")))
    }

    enum Removal: Equatable {
        case removed, missing
        case notOurs(foundSize: Int64)
        case replaced(foundModified: Int64)
        case failed(String)
    }

    /// `rmv`: "<i> D" removed, "<i> M" missing, "<i> N <size>" a different file, "<i> T <mtime>" a
    /// file of the same size modified at another time, "<i> F why".
    static func removalLine(_ line: [UInt8]) -> (index: Int, reply: Removal)? {
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count >= 2, let i = Int(parts[0]) else { return nil }
        switch (parts[1], parts.count) {
        case ("D", 2): return (i, .removed)
        case ("M", 2): return (i, .missing)
        case ("N", 3): if let n = Int64(parts[2]) { return (i, .notOurs(foundSize: n)) }
        case ("T", 3): if let t = Int64(parts[2]) { return (i, .replaced(foundModified: t)) }
        case ("F", _): return (i, .failed(parts.count > 2 ? parts[2] : "failed"))
        default: break
        }
        return nil
    }

    /// `spc`: the last line of POSIX `df -P -k .` (filesystem, 1024-blocks, used, available,
    /// capacity, mount point).
    /// The free space the receiver sends with its greeting (`@@SPC <df line>`, before `@@READY`);
    /// nil from a receiver older than that.
    static func startupSpace(_ lines: [[UInt8]]) -> (freeBytes: Int64, totalBytes: Int64)? {
        let prefix = Array("@@SPC ".utf8)
        guard let line = lines.last(where: { $0.starts(with: prefix) }) else { return nil }
        return freeSpace(Array(line.dropFirst(prefix.count)))
    }

    static func freeSpace(_ line: [UInt8]) -> (freeBytes: Int64, totalBytes: Int64)? {
        let f = fields(line, whitespace: true)
        guard f.count >= 4, let total = Int64(f[1]), let available = Int64(f[3]), total >= 0, available >= 0 else { return nil }
        return (available * 1024, total * 1024)
    }

    /// A data session's hash line: 64 hex digits, separator characters (" ", "*"), "./", the temp
    /// path as sent. (Temp paths are the daemon's own ASCII names, which hash tools print as they are.)
    static func hashLine(_ line: [UInt8]) -> (temp: [UInt8], sha256: String)? {
        guard line.count > 64 else { return nil }
        let hex = String(decoding: line[..<64], as: UTF8.self).lowercased()
        guard isSHA256(hex) else { return nil }
        var rest = line[64...]
        guard rest.first == UInt8(ascii: " ") else { return nil }
        while let first = rest.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "*") { rest = rest.dropFirst() }
        guard rest.starts(with: [UInt8(ascii: "."), UInt8(ascii: "/")]), rest.count > 2 else { return nil }
        return (Array(rest.dropFirst(2)), hex)
    }

    /// A path below `base` as the protocol names it (relative); nil for one outside it.
    static func relative(_ path: FilePath, base: String) -> [UInt8]? {
        var b = Array(base.utf8)
        while b.count > 1, b.last == UInt8(ascii: "/") { b.removeLast() }
        if b != [UInt8(ascii: "/")] { b.append(UInt8(ascii: "/")) }
        guard path.bytes.count > b.count, path.bytes.starts(with: b) else { return nil }
        return Array(path.bytes.dropFirst(b.count))
    }

    static func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func fields(_ line: [UInt8], whitespace: Bool = false) -> [String] {
        let text = String(decoding: line, as: UTF8.self)
        return whitespace ? text.split(whereSeparator: \.isWhitespace).map(String.init) : text.split(separator: " ").map(String.init)
    }
}
