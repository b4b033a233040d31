import Glibc

/// The repository's root folder: the nearest ancestor of this source file that holds Package.swift.
/// Found from the compile-time `#filePath`, so it works whatever directory the tests run in.
public func repositoryRoot(filePath: String = #filePath) throws -> String {
    var components = filePath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    while !components.isEmpty {
        components.removeLast()
        let folder = "/" + components.joined(separator: "/")
        let manifest = (folder == "/" ? "" : folder) + "/Package.swift"
        if access(manifest, F_OK) == 0 { return folder }
    }
    throw TestSupportError("no Package.swift in any folder above \(filePath)")
}
