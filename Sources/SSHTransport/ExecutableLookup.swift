import Foundation
import Glibc
import Subprocess
import Synchronization
import SystemPackage

/// `ssh` given by name is looked up in PATH once per process, not at every start: the spawn
/// would otherwise try an exec in each PATH entry before the one that holds it (on this
/// project's CI, 7 failed execs for every ssh started).
enum ExecutableLookup {
    private static let found = Mutex<[String: String]>([:])

    static func executable(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> Executable {
        if name.contains("/") { return .path(FilePath(name)) }
        if let hit = found.withLock({ $0[name] }) { return .path(FilePath(hit)) }
        for folder in (path ?? "/usr/bin:/bin").split(separator: ":") where folder.hasPrefix("/") {
            let candidate = "\(folder)/\(name)"
            var st = stat()
            if stat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                found.withLock { $0[name] = candidate }
                return .path(FilePath(candidate))
            }
        }
        // Not found: the spawn's own search gives the usual error.
        return .name(name)
    }
}
