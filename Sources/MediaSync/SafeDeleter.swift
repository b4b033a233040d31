import Foundation
import LocalFS
import Logging
import SystemPackage

/// The only code that deletes a local media file. It re-checks every condition itself, whatever
/// the caller believed: the queue entry is due, every destination that holds the file verified its
/// copy just now with the recorded SHA-256, and the local file is still exactly the version that
/// was copied (size, mtime, inode). On any doubt it deletes nothing.
public enum SafeDeleter {
    /// Purges a trashed file: only if it is still the file that was trashed (a rename keeps size,
    /// mtime and inode). The other local deletion, and it too checks before it deletes.
    public static func purge(_ entry: StateStore.TrashedEntry, mediaRoots: [FilePath]) -> Decision {
        guard let anchored = AnchoredPath.find(entry.trashPath, in: mediaRoots) else {
            return .refused("\(entry.trashPath.displayString) is under no media root")
        }
        do {
            guard let status = try anchored.status() else { return .gone }
            guard status.kind == .regular, status.identity.size == entry.identity.size,
                status.identity.mtimeNanoseconds == entry.identity.mtimeNanoseconds,
                status.identity.inode == entry.identity.inode
            else {
                return .changed("\(entry.trashPath.displayString) is not the file that was trashed")
            }
            return try anchored.unlink(ifStill: status.identity) ? .deleted : .gone
        } catch {
            return .refused("\(error)")
        }
    }

    public enum Decision: Sendable, Equatable {
        case deleted
        /// Soft delete: moved into the trash, purged later.
        case trashed(FilePath)
        /// Deletion is off in the config: verified, but kept.
        case kept
        /// Already gone (someone removed it); nothing to do.
        case gone
        /// The local file is another version now; its own copy will be queued when synced.
        case changed(String)
        /// Not safe now; try again later.
        case refused(String)
    }

    public struct Check: Sendable {
        public var copy: StateStore.LedgerEntry
        public var result: VerifyResult
        public init(copy: StateStore.LedgerEntry, result: VerifyResult) {
            self.copy = copy
            self.result = result
        }
    }

    /// Where a soft-deleted file goes: `<its media root>/.dms-trash/<its path below the root>`,
    /// on the same file system, so moving it is one rename (`deleteSource` builds it with
    /// `AnchoredPath`).
    public struct Trash: Sendable {
        public static let folderName = ".dms-trash"
        public let mediaRoots: [FilePath]
        public init(mediaRoots: [FilePath]) { self.mediaRoots = mediaRoots }
    }

    /// Every local path is reached below its media root with `O_NOFOLLOW` folders (`AnchoredPath`):
    /// a folder replaced by a symlink is never passed through, so nothing outside the media roots
    /// is ever deleted or moved.
    public static func deleteSource(
        _ entry: StateStore.DeleteEntry, checks: [Check], requiredDestinations: [String],
        deleteEnabled: Bool, mediaRoots: [FilePath], trash: Trash? = nil,
        syncFolder: Bool = true, now: Double = Date().timeIntervalSince1970
    ) -> Decision {
        guard now >= entry.dueAt else { return .refused("not due until \(entry.dueAt)") }
        guard let source = AnchoredPath.find(entry.localPath, in: mediaRoots) else {
            return .refused("\(entry.localPath.displayString) is under no media root (local.media_roots); it is never deleted")
        }
        // The local version first: an entry whose version is gone or changed ends here, whatever
        // its copies (its ledger row may have been lost since; it must not wait for ever).
        let status: FileStatus
        do {
            guard let s = try source.status() else { return .gone }
            status = s
        } catch {
            return .refused("cannot check the local file: \(error)")
        }
        guard status.kind == .regular, status.identity == entry.identity else {
            return .changed("local file is not the version that was copied (expected \(entry.identity), found \(status.identity))")
        }
        let verified = Set(
            checks.filter { $0.result.isVerified && $0.copy.sha256 != nil && $0.copy.sha256 == entry.sha256 && $0.copy.state == .present }
                .map(\.copy.destination))
        let missing = requiredDestinations.filter { !verified.contains($0) }
        guard !requiredDestinations.isEmpty, missing.isEmpty else {
            return .refused("copy not verified on \(missing.joined(separator: ", "))")
        }
        guard deleteEnabled else { return .kept }
        if trash != nil {
            let target = AnchoredPath(root: source.root, components: [Array(Trash.folderName.utf8)] + source.components)
            do {
                return .trashed(try source.move(to: target))
            } catch {
                return .refused("moving to the trash: \(error)")
            }
        }
        do {
            return try source.unlink(ifStill: entry.identity, syncFolder: syncFolder) ? .deleted : .gone
        } catch {
            return .refused("\(error)")
        }
    }
}
