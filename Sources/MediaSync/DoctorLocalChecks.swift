import Configuration
import Foundation
import LocalFS
import SystemPackage

/// The checks of `doctor` that need no network: the config, the media roots, the state, runtime
/// and metrics folders, the webhook's address. Permissions are judged for the effective user of
/// this process: run `doctor` as the user the service runs as.
public enum DoctorLocalChecks {
    /// The config file parses and validates (the daemon would exit 78 otherwise).
    public static func config(path: String) -> (DoctorCheck, MediaSyncConfig?) {
        do {
            let config = try ConfigLoader.load(path: path)
            let nas = config.destinations.filter { if case .nas = $0 { true } else { false } }.count
            return (.ok("config", path, "valid: \(config.local.mediaRoots.count) media root(s), \(nas) NAS and \(config.destinations.count - nas) S3 destination(s)"), config)
        } catch {
            return (
                .fail(
                    "config", path, "\(error)",
                    fix: "edit \(path) at the key named above (docs/configuration.md); `dji-media-sync config check --config \(path)` re-checks it"), nil
            )
        }
    }

    /// Each media root: a readable folder, and (when sources are deleted) one where the effective
    /// user may unlink files: write and search permission on the root and on a sample sub-folder,
    /// not on a read-only mount.
    public static func mediaRoots(_ config: MediaSyncConfig, configPath: String) -> [DoctorCheck] {
        let user = LocalFS.effectiveUserDescription()
        var checks: [DoctorCheck] = []
        for root in config.local.mediaRoots {
            let path = FilePath(root)
            let readable = readableFolder(path, user: user, configPath: configPath)
            checks.append(readable)
            guard readable.status == .ok else {
                checks += DoctorCheck.skipped(["media_root.deletable"], root, because: "media_root.readable")
                continue
            }
            checks.append(deletable(path, user: user, deleteSources: config.deletePolicy.deleteSources, configPath: configPath))
        }
        return checks
    }

    static func readableFolder(_ path: FilePath, user: String, configPath: String) -> DoctorCheck {
        let root = path.string
        let st: FileStatus
        do { st = try LocalFS.status(path) } catch let error as LocalFSError where error.isNotFound {
            return .fail(
                "media_root.readable", root, "does not exist",
                fix: "create it (`sudo mkdir -p \(root)`) or correct local.media_roots in \(configPath); if it is a card or disk, mount it")
        } catch {
            return .fail("media_root.readable", root, "\(error)", fix: "check the path and its parent folders' permissions")
        }
        // A root that is a symlink to a folder is walked: judge its target.
        var isFolder: ObjCBool = false
        guard st.kind == .directory || (st.kind == .symlink && FileManager.default.fileExists(atPath: root, isDirectory: &isFolder) && isFolder.boolValue) else {
            return .fail("media_root.readable", root, "is not a folder", fix: "point local.media_roots in \(configPath) at the folder the media are written to")
        }
        do { try LocalFS.checkAccess(path, [.read, .execute]) } catch {
            return .fail(
                "media_root.readable", root, "\(user) cannot list it: \(error)",
                fix: "give \(user) read and search access (e.g. `sudo chmod u+rx,g+rx \(root)` with the service in the folder's group), or run the service as the folder's owner")
        }
        return .ok("media_root.readable", root, "a folder \(user) can list")
    }

    static func deletable(_ path: FilePath, user: String, deleteSources: Bool, configPath: String) -> DoctorCheck {
        let root = path.string
        guard deleteSources else {
            return .ok("media_root.deletable", root, "not needed: sources are kept (delete_policy.delete_sources is false)")
        }
        if (try? LocalFS.isOnReadOnlyMount(path)) == true {
            return .fail(
                "media_root.deletable", root, "on a read-only mount: sources would never be deleted and the disk fills up",
                fix: "remount it read-write (`sudo mount -o remount,rw <mount point>`), or set delete_policy.delete_sources to false in \(configPath)")
        }
        // Deleting a file needs write and search permission on the folder that holds it.
        var folders = [path]
        if let sample = LocalFS.sampleSubdirectory(of: path) { folders.append(sample) }
        for folder in folders {
            do { try LocalFS.checkAccess(folder, [.write, .execute]) } catch {
                return .fail(
                    "media_root.deletable", root, "\(user) cannot delete files in \(folder.displayString): \(error)",
                    fix:
                        "give \(user) write access to the media folders (e.g. `sudo chown -R <service user> \(root)`, or a shared group with `chmod -R g+rwX`); or set delete_policy.delete_sources to false"
                )
            }
        }
        let sample = folders.count > 1 ? " and in \(folders[1].displayString)" : ""
        return .ok("media_root.deletable", root, "\(user) may delete files here\(sample)")
    }

    /// The state, runtime and lock folders: writable (a probe file is created and removed), or,
    /// when missing, creatable (the daemon and systemd create them at start).
    public static func stateFolders(_ config: MediaSyncConfig, configPath: String) -> [DoctorCheck] {
        var checks = [
            writableFolder("state.directory", config.state.directory, key: "state.directory", configPath: configPath),
            writableFolder("state.runtime_directory", config.state.runtimeDirectory, key: "state.runtime_directory", configPath: configPath)
        ]
        let lockFolder = FilePath(config.concurrency.lockFile).removingLastComponent().string
        if lockFolder != config.state.runtimeDirectory {
            checks.append(writableFolder("state.lock_folder", lockFolder, key: "concurrency_control.lock_file", configPath: configPath))
        }
        let database = FilePath(config.state.directory).appending("state.sqlite")
        if LocalFS.exists(database) {
            do {
                try LocalFS.checkAccess(database, [.read, .write])
                checks.append(.ok("state.database", database.string, "readable and writable"))
            } catch {
                checks.append(
                    .fail(
                        "state.database", database.string, "\(error)",
                        fix: "the database must belong to the service's user: `sudo chown <service user> \(database.string)*`"))
            }
        }
        return checks
    }

    static func writableFolder(_ check: String, _ folder: String, key: String, configPath: String) -> DoctorCheck {
        let path = FilePath(folder)
        let user = LocalFS.effectiveUserDescription()
        guard let st = try? LocalFS.statusIfExists(path) else {
            // Missing: fine if it can be created (the nearest existing parent is writable).
            var parent = path.removingLastComponent()
            while !parent.isEmpty, parent.string != "/", !LocalFS.exists(parent) { parent = parent.removingLastComponent() }
            if (try? LocalFS.checkAccess(parent, [.write, .execute])) != nil {
                return .ok(check, folder, "does not exist yet; created at start (\(parent.string) is writable)")
            }
            return .fail(
                check, folder, "does not exist, and \(user) cannot create it in \(parent.string)",
                fix: "`sudo install -d -o <service user> -m 0750 \(folder)`, or change \(key) in \(configPath)")
        }
        guard st.kind == .directory else {
            return .fail(check, folder, "is not a folder", fix: "remove it or change \(key) in \(configPath)")
        }
        do { try LocalFS.probeWritable(path, name: ".dms-doctor-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))") } catch {
            return .fail(
                check, folder, "\(user) cannot create a file in it: \(error)",
                fix: "`sudo chown <service user> \(folder)` (or change \(key) in \(configPath))")
        }
        return .ok(check, folder, "writable by \(user)")
    }

    /// The folder of `health.prometheus_textfile` (node_exporter's textfile collector) is writable.
    public static func metrics(_ config: MediaSyncConfig, configPath: String) -> DoctorCheck {
        guard let file = config.health.prometheusTextfile else {
            return .ok("metrics.folder", "-", "not configured (health.prometheus_textfile)")
        }
        let folder = FilePath(file).removingLastComponent().string
        guard LocalFS.exists(FilePath(folder)) else {
            return .fail(
                "metrics.folder", folder, "does not exist",
                fix: "create it (`sudo install -d \(folder)`), or point health.prometheus_textfile in \(configPath) into node_exporter's --collector.textfile.directory")
        }
        return writableFolder("metrics.folder", folder, key: "health.prometheus_textfile", configPath: configPath)
    }

    /// `health.webhook_url` is an http(s) URL with a host. Only the scheme and host are shown:
    /// webhook URLs often carry a token in their path.
    public static func webhookURL(_ config: MediaSyncConfig, configPath: String) -> DoctorCheck {
        guard let text = config.health.webhookURL else {
            return .ok("webhook.url", "-", "not configured (health.webhook_url): alerts go to the journal only")
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty
        else {
            return .fail(
                "webhook.url", "health.webhook_url", "not a valid http(s) URL",
                fix: "set health.webhook_url in \(configPath) to the full https:// address of the alert receiver")
        }
        let shown = "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/…"
        if scheme == "http", !["127.0.0.1", "localhost", "::1"].contains(host) {
            return .warn(
                "webhook.url", shown, "plain http: alerts cross the network unencrypted",
                fix: "use an https:// URL in health.webhook_url")
        }
        return .ok("webhook.url", shown, "a valid \(scheme) URL")
    }
}
