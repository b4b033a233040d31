import Configuration
import LocalFS
import SystemPackage

/// Finds media files that are complete: the right extension, not hidden or temporary, and
/// untouched for `minFileAgeSeconds`. (The second observation is taken when the transfer opens
/// the file: size, mtime and inode must still match, and again after the last byte is read.)
///
/// A scan of 100k files must fit a small edge computer: names are filtered before any stat, and
/// the result is one compact list (`Candidates`), not an object per file.
public struct Discovery: Sendable {
    public struct Candidate: Sendable {
        public let path: FilePath
        public let name: [UInt8]
        public let identity: FileIdentity
    }

    public struct Report: Sendable {
        /// Oldest first.
        public var eligible = Candidates()
        /// Matching files too young to be trusted complete.
        public var tooYoung = 0
        /// Hidden entries (dot names) passed over because `skip_hidden` is on.
        public var hidden = 0
        /// Files passed over by name: not one of `extensions`, or a `temporary_suffixes` name.
        public var ignored = 0
        /// Files whose mtime lies outside what can be represented (before 1677 or after 2262): they
        /// are still synced, with the date clamped; `oddDates` names a few for the log.
        public var oddDates: [String] = []
        public var oddDateCount = 0
        public var errors: [LocalFSError] = []
        /// False when the scan was stopped (cancelled) before it covered every root.
        public var complete = true
    }

    let roots: [FilePath]
    let extensions: Set<[UInt8]>
    let minimumAgeNanoseconds: Int64
    let skipHidden: Bool
    let temporarySuffixes: [[UInt8]]

    public init(_ local: MediaSyncConfig.Local) {
        roots = local.mediaRoots.map { FilePath($0) }
        extensions = Set(local.extensions.map { Array($0.lowercased().utf8) })
        minimumAgeNanoseconds = Int64(local.minFileAgeSeconds * 1e9)
        skipHidden = local.skipHidden
        temporarySuffixes = local.temporarySuffixes.map { Array($0.lowercased().utf8) }
    }

    /// Scans every root. Blocking (readdir/fstatat): call from `runBlocking`. `shouldStop` is asked
    /// between folders; a stopped scan returns what it found with `complete` false.
    /// A file dated in the future (its age says nothing) goes to `settled`, which says whether it
    /// has been seen unchanged long enough; without one, such a file waits like a young one.
    public func scan(
        now: Int64 = LocalFS.currentTimeNanoseconds(), shouldStop: () -> Bool = { false },
        onHidden: ([UInt8]) -> Void = { _ in },
        settled: (_ path: [UInt8], _ identity: FileIdentity) -> Bool = { _, _ in false }
    ) -> Report {
        var report = Report()
        var list = Candidates.Builder()
        for root in roots {
            let finished = DirectoryWalker.walkBytes(
                root.bytes,
                // The trash is never rescanned, even with skip_hidden off.
                descend: { name in
                    if name == Self.trashName { return false }
                    if skipHidden && isHidden(name) {
                        report.hidden += 1
                        onHidden(name)
                        return false
                    }
                    return true
                },
                wants: { name in
                    if skipHidden && isHidden(name) {
                        if isMedia(name, ignoringHidden: true) {
                            report.hidden += 1
                            onHidden(name)
                        }
                        return false
                    }
                    if isMedia(name) { return true }
                    report.ignored += 1
                    return false
                },
                shouldStop: shouldStop,
                onError: { report.errors.append($0) }
            ) { directory, name, status in
                let mtime = status.identity.mtimeNanoseconds
                if status.mtimeClamped {
                    report.oddDateCount += 1
                    if report.oddDates.count < 5 { report.oddDates.append(FilePath.display(DirectoryWalker.join(directory, name))) }
                }
                // Saturating: a clamped mtime must not overflow the age arithmetic.
                let (age, overflow) = now.subtractingReportingOverflow(mtime)
                if !overflow, age >= 0, age < minimumAgeNanoseconds {
                    report.tooYoung += 1
                    return
                }
                if overflow ? mtime > now : age < 0 {
                    guard settled(DirectoryWalker.join(directory, name), status.identity) else {
                        report.tooYoung += 1
                        return
                    }
                }
                list.append(directory: directory, name: name, identity: status.identity)
            }
            if !finished {
                report.complete = false
                break
            }
        }
        report.eligible = list.build()
        return report
    }

    static let trashName = Array(SafeDeleter.Trash.folderName.utf8)

    func isHidden(_ name: [UInt8]) -> Bool { name.first == UInt8(ascii: ".") }

    func isMedia(_ name: [UInt8], ignoringHidden: Bool = false) -> Bool {
        if !ignoringHidden && skipHidden && isHidden(name) { return false }
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0 else { return false }
        let lower = name.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
        if temporarySuffixes.contains(where: { !$0.isEmpty && lower.count > $0.count && lower.suffix($0.count).elementsEqual($0) }) {
            return false
        }
        return extensions.contains(Array(lower[(dot + 1)...]))
    }
}

/// The files a scan found, in one byte arena: a path and an identity per file, oldest first
/// (mtime, then path), plus a permutation in path byte order for merging with the ledger.
public struct Candidates: Sendable, RandomAccessCollection {
    private var arena: [UInt8] = []
    /// Path i is arena[ends[i-1] ..< ends[i]]; its name starts at nameStarts[i].
    private var ends: [Int] = []
    private var nameStarts: [Int] = []
    public private(set) var identities: [FileIdentity] = []
    /// Indices in path byte order (memcmp order, the order of the ledger's BLOB index).
    public private(set) var byPath: [Int32] = []

    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    public subscript(i: Int) -> Discovery.Candidate {
        Discovery.Candidate(path: FilePath(bytes: Array(pathBytes(i))), name: Array(nameBytes(i)), identity: identities[i])
    }

    public func pathBytes(_ i: Int) -> ArraySlice<UInt8> { arena[(i == 0 ? 0 : ends[i - 1])..<ends[i]] }
    public func nameBytes(_ i: Int) -> ArraySlice<UInt8> { arena[nameStarts[i]..<ends[i]] }

    public var totalBytes: Int64 { identities.reduce(0) { $0 + $1.size } }

    struct Builder {
        var list = Candidates()
        mutating func append(directory: [UInt8], name: [UInt8], identity: FileIdentity) {
            list.arena += directory
            if directory.last != 47 { list.arena.append(47) }
            list.nameStarts.append(list.arena.count)
            list.arena += name
            list.ends.append(list.arena.count)
            list.identities.append(identity)
        }

        /// Sorts oldest first (the flight that landed first is freed first), then builds the
        /// path-order permutation.
        mutating func build() -> Candidates {
            var c = list
            let n = c.ends.count
            let order = (0..<n).sorted { a, b in
                let ma = c.identities[a].mtimeNanoseconds, mb = c.identities[b].mtimeNanoseconds
                return ma != mb ? ma < mb : ByteOrder.less(c.pathBytes(a), c.pathBytes(b))
            }
            var arena: [UInt8] = []
            arena.reserveCapacity(c.arena.count)
            var ends: [Int] = [], nameStarts: [Int] = [], identities: [FileIdentity] = []
            ends.reserveCapacity(n)
            nameStarts.reserveCapacity(n)
            identities.reserveCapacity(n)
            for i in order {
                let start = arena.count
                arena += c.pathBytes(i)
                nameStarts.append(start + (c.nameStarts[i] - (i == 0 ? 0 : c.ends[i - 1])))
                ends.append(arena.count)
                identities.append(c.identities[i])
            }
            c.arena = arena
            c.ends = ends
            c.nameStarts = nameStarts
            c.identities = identities
            c.byPath = (0..<Int32(n)).sorted { ByteOrder.less(c.pathBytes(Int($0)), c.pathBytes(Int($1))) }
            list = Candidates()
            return c
        }
    }
}
