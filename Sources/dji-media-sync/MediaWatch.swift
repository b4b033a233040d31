import Configuration
import Glibc
import LocalFS
import Logging
import MediaSync
import SystemPackage

/// The daemon's inotify watch of the media roots (`schedule.watch`). It only says "something
/// new"; what is copied is still decided by the cycle's own scan and stability rule, so a missed
/// or spurious event costs at most a cycle, never a file.
struct MediaWatch: Sendable {
    let roots: [String]
    let settle: Double
    private let watcher: DirectoryWatcher?

    /// Watches the config's media roots if `schedule.watch` is on; `changed` runs on the
    /// watcher's thread.
    init(_ config: MediaSyncConfig, log: Logger, changed: @escaping @Sendable () -> Void) {
        roots = config.schedule.watch ? config.local.mediaRoots : []
        // A file closed at t may be copied from t + min_file_age_seconds; one second of margin
        // for the clock granularity of mtimes.
        settle = config.local.minFileAgeSeconds + 1
        guard !roots.isEmpty else {
            watcher = nil
            return
        }
        do {
            watcher = try DirectoryWatcher(roots: roots.map { FilePath($0) }) { activity in
                switch activity {
                case .changed:
                    changed()
                case let .limitReached(folder):
                    log.warning("inotify watch limit reached at \(folder) (sysctl fs.inotify.max_user_watches): new media there and in the folders after it waits for the timer")
                case let .failed(folder, errno):
                    log.warning("cannot watch \(folder) for new media: \(String(cString: strerror(errno))); it is synced by the timer")
                }
            }
            log.info(
                "watching \(roots.count == 1 ? "the media root" : "\(roots.count) media roots") for new media: a cycle starts \(Format.duration(settle)) after a file is closed")
        } catch {
            log.warning("cannot watch the media roots for new media (\(error)); syncing by the timer only")
            watcher = nil
        }
    }

    /// The same watch, or a new one when a reloaded config changed what it depends on.
    func reloaded(_ config: MediaSyncConfig, log: Logger, changed: @escaping @Sendable () -> Void) -> MediaWatch {
        let wanted = config.schedule.watch ? config.local.mediaRoots : []
        guard wanted != roots || config.local.minFileAgeSeconds + 1 != settle else { return self }
        stop()
        return MediaWatch(config, log: log, changed: changed)
    }

    func stop() { watcher?.stop() }
}
