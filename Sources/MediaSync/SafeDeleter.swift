import Foundation
import LocalFS
import Logging
import SystemPackage

/// The only code that deletes a local media file. It re-checks every condition itself, whatever
/// the caller believed: the queue entry is due, every destination that holds the file verified its
/// copy just now with the recorded SHA-256, and the local file is still exactly the version that
/// was copied (size, mtime, inode). On any doubt it deletes nothing.
public enum SafeDeleter {
    public enum Decision: Sendable, Equatable {
        case deleted
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
        public init(copy: StateStore.LedgerEntry, result: VerifyResult) { self.copy = copy; self.result = result }
    }

    public static func deleteSource(_ entry: StateStore.DeleteEntry, checks: [Check], requiredDestinations: [String],
                                    deleteEnabled: Bool, now: Double = Date().timeIntervalSince1970) -> Decision {
        guard now >= entry.dueAt else { return .refused("not due until \(entry.dueAt)") }
        let verified = Set(checks.filter { $0.result.isVerified && $0.copy.sha256 == entry.sha256 && $0.copy.state == "present" }
                            .map(\.copy.destination))
        let missing = requiredDestinations.filter { !verified.contains($0) }
        guard !requiredDestinations.isEmpty, missing.isEmpty else {
            return .refused("copy not verified on \(missing.joined(separator: ", "))")
        }
        let status: FileStatus
        do {
            guard let s = try LocalFS.statusIfExists(entry.localPath) else { return .gone }
            status = s
        } catch {
            return .refused("cannot check the local file: \(error)")
        }
        guard status.kind == .regular, status.identity == entry.identity else {
            return .changed("local file is not the version that was copied (expected \(entry.identity), found \(status.identity))")
        }
        guard deleteEnabled else { return .kept }
        do {
            try LocalFS.unlink(entry.localPath)
            // If this fsync fails, a power cut may bring the file back: harmless (it would be
            // re-verified and deleted again), so it does not turn a done deletion into a failure.
            _ = try? LocalFS.syncDirectory(entry.localPath.removingLastComponent())
            return .deleted
        } catch {
            return .refused("\(error)")
        }
    }
}
