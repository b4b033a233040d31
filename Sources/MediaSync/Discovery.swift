import Configuration
import LocalFS
import SystemPackage

/// Finds media files that are complete: the right extension, not hidden or temporary, and
/// untouched for `minFileAgeSeconds`. (The second observation is taken when the transfer opens
/// the file: size, mtime and inode must still match, and again after the last byte is read.)
public struct Discovery: Sendable {
    public struct Candidate: Sendable {
        public let path: FilePath
        public let name: [UInt8]
        public let identity: FileIdentity
    }

    public struct Report: Sendable {
        public var eligible: [Candidate] = []
        /// Matching files too young to be trusted complete.
        public var tooYoung = 0
        public var errors: [LocalFSError] = []
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

    /// Scans every root. Blocking (readdir/lstat): call from `runBlocking`.
    public func scan(now: Int64 = LocalFS.currentTimeNanoseconds()) -> Report {
        var report = Report()
        for root in roots {
            // The trash is never rescanned, even with skip_hidden off.
            DirectoryWalker.walk(root, descend: { !(skipHidden && isHidden($0)) && $0 != Self.trashName },
                                 onError: { report.errors.append($0) }) { entry in
                guard isMedia(entry.name) else { return }
                if now - entry.status.identity.mtimeNanoseconds < minimumAgeNanoseconds {
                    report.tooYoung += 1
                    return
                }
                report.eligible.append(Candidate(path: entry.path, name: entry.name, identity: entry.status.identity))
            }
        }
        // Oldest first: the flight that landed first is freed first.
        report.eligible.sort {
            $0.identity.mtimeNanoseconds != $1.identity.mtimeNanoseconds
                ? $0.identity.mtimeNanoseconds < $1.identity.mtimeNanoseconds
                : $0.path.bytes.lexicographicallyPrecedes($1.path.bytes)
        }
        return report
    }

    static let trashName = Array(SafeDeleter.Trash.folderName.utf8)

    func isHidden(_ name: [UInt8]) -> Bool { name.first == UInt8(ascii: ".") }

    func isMedia(_ name: [UInt8]) -> Bool {
        if skipHidden && isHidden(name) { return false }
        let lower = name.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }
        if temporarySuffixes.contains(where: { !$0.isEmpty && lower.count > $0.count && lower.suffix($0.count).elementsEqual($0) }) {
            return false
        }
        guard let dot = lower.lastIndex(of: UInt8(ascii: ".")), dot > 0 else { return false }
        return extensions.contains(Array(lower[(dot + 1)...]))
    }
}
