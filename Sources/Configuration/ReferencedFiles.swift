import Glibc

extension ConfigLoader {
    /// Checks that the files a configuration names for the NAS destinations (identity_file,
    /// known_hosts_file, ssh_config_file) exist as readable files now. Not part of `parse`: a
    /// configuration may be written before its key is installed (the shipped one names
    /// /etc/dji-media-sync/id_ed25519), so this runs where the files must be there: `config
    /// check`, the daemon's start and reload, `sync`. The error names the key and the file.
    public static func checkReferencedFiles(_ config: MediaSyncConfig, source: String) throws(ConfigError) {
        for (index, destination) in config.destinations.enumerated() {
            guard case let .nas(nas) = destination else { continue }
            var files: [(key: String, path: String)] = []
            if let identity = nas.identityFile { files.append(("identity_file", identity)) }
            files.append(("known_hosts_file", nas.knownHostsFile))
            if let sshConfig = nas.sshConfigFile, sshConfig != "none" { files.append(("ssh_config_file", sshConfig)) }
            for file in files {
                if let problem = unreadableFile(file.path) {
                    throw ConfigError(
                        kind: .missingFile, file: source, keyPath: "destinations[\(index)].\(file.key)",
                        message: "expected a readable file, found \(JSONText.quoted(file.path)) (\(problem.text))",
                        expected: "a readable file", found: "\(JSONText.quoted(file.path)) (\(problem.text))",
                        errno: problem.errno)
                }
            }
        }
    }

    /// Loads `path` (see `load(path:)`) and, when `requireReferencedFiles`, checks the files it names.
    public static func load(path: String, requireReferencedFiles: Bool) throws(ConfigError) -> MediaSyncConfig {
        let config = try load(path: path)
        if requireReferencedFiles { try checkReferencedFiles(config, source: path) }
        return config
    }

    /// Why `path` is not a readable regular file, or nil.
    static func unreadableFile(_ path: String) -> (text: String, errno: Int32?)? {
        var st = stat()
        if stat(path, &st) != 0 {
            let code = errno
            return (String(cString: strerror(code)) + " (errno \(code))", code)
        }
        if (st.st_mode & S_IFMT) != S_IFREG { return ("not a regular file", nil) }
        if access(path, R_OK) != 0 {
            let code = errno
            return (String(cString: strerror(code)) + " (errno \(code))", code)
        }
        return nil
    }
}
