import Configuration
import Foundation
import Testing

/// Issue 11, 4: the files a NAS destination names are checked where they must exist.
@Suite struct ReferencedFilesTests {
    @Test func aMissingIdentityOrKnownHostsFileIsNamedByItsKey() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let hosts = folder.appendingPathComponent("known_hosts").path
        let key = folder.appendingPathComponent("id").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: hosts))
        try Data("x".utf8).write(to: URL(fileURLWithPath: key))

        let good = try parse(Doc.nas(#""identity_file": "\#(key)", "known_hosts_file": "\#(hosts)""#))
        try ConfigLoader.checkReferencedFiles(good, source: "test.json")

        let missingKey = try parse(Doc.nas(#""identity_file": "\#(key)-gone", "known_hosts_file": "\#(hosts)""#))
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.checkReferencedFiles(missingKey, source: "test.json") }
        #expect(error.kind == .missingFile)
        #expect(error.keyPath == "destinations[0].identity_file")
        #expect(error.errno == ENOENT)
        #expect(error.description.hasPrefix("test.json: destinations[0].identity_file: expected a readable file, found \"\(key)-gone\""), "\(error)")
        #expect(error.exitCode == 78)

        // The default known_hosts_file is checked too, under its key; a second destination by its index.
        let second = try parse(
            Doc.make(nas: [
                Doc.nas + #", "name": "a", "known_hosts_file": "\#(hosts)""#,
                Doc.nas + #", "name": "b", "known_hosts_file": "\#(hosts)-gone""#
            ]))
        let hostsError = try #require(throws: ConfigError.self) { try ConfigLoader.checkReferencedFiles(second, source: "test.json") }
        #expect(hostsError.keyPath == "destinations[1].known_hosts_file")

        // A folder is not a key file.
        let folderKey = try parse(Doc.nas(#""identity_file": "\#(folder.path)", "known_hosts_file": "\#(hosts)""#))
        let folderError = try #require(throws: ConfigError.self) { try ConfigLoader.checkReferencedFiles(folderKey, source: "test.json") }
        #expect(folderError.description.contains("not a regular file"))
    }

    @Test func parsingAloneDoesNotNeedTheFiles() throws {
        // The shipped config names /etc/dji-media-sync/id_ed25519, installed after it: it parses.
        let path = repositoryRoot().appendingPathComponent("media_sync_config.json").path
        _ = try ConfigLoader.load(path: path)
        let config = try parse(Doc.nas(#""identity_file": "/nonexistent/id""#))
        #expect(config.destinations.count == 1)
        #expect(throws: ConfigError.self) { try ConfigLoader.checkReferencedFiles(config, source: "test.json") }
    }
}
