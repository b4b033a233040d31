import Glibc
import Hashing
import SystemPackage

/// A local media file opened for one transfer. It is read exactly once: every byte that is sent
/// is also hashed, and the identity is checked before and after so that a file that changed while
/// it was being copied is never recorded as synced.
///
/// Not Sendable: one blocking thread owns it from open to close.
public final class SourceFile {
    public let path: FilePath
    public let identityAtOpen: FileIdentity
    private let fd: Int32

    /// Opens `path` and checks that it is still the file that was discovered (`expected`).
    public init(path: FilePath, expected: FileIdentity) throws {
        self.path = path
        let fd = path.withPlatformString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY) }
        guard fd >= 0 else { throw LocalFSError("open", path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let err = errno
            close(fd)
            throw LocalFSError("fstat", path: path, errno: err)
        }
        identityAtOpen = FileIdentity(st)
        self.fd = fd
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        guard identityAtOpen == expected else {
            throw SourceChanged(path: path, expected: expected, found: identityAtOpen)
        }
    }

    deinit { close(fd) }

    public struct Result: Sendable {
        public var sha256: SHA256Digest
        /// Bytes actually read from the file (short when it shrank; the rest was zero padding).
        public var bytesRead: Int64
        /// nil when the file is unchanged after the read; else what was found.
        public var change: SourceChanged?
    }

    /// Sends exactly `identityAtOpen.size` bytes to `sink` in chunks of `buffer`'s size, hashing
    /// them. A file that shrank is padded with zeros (the framing promised that many bytes) and
    /// reported as changed; so is one whose size, mtime or inode differ afterwards.
    public func stream(
        buffer: UnsafeMutableRawBufferPointer, progress: (Int) -> Void = { _ in },
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Result {
        let hasher = SHA256Hasher()
        var shrank = false
        let bytesRead = try pump(identityAtOpen.size, into: hasher, shrank: &shrank, buffer: buffer, progress: progress, sink: sink)
        return Result(sha256: hasher.finalize(), bytesRead: bytesRead, change: try checkUnchanged(shrank: shrank))
    }

    /// Like `stream`, for a copy that may continue a partial one: the first `prefix` bytes are read
    /// and hashed, not sent; `resume` gets their SHA-256 (nil if the file is shorter now) and says
    /// whether the copy continues after them: then only the rest goes to `sink`. Otherwise the
    /// whole file is sent, read again from its start. The result's hash is the whole file's
    /// either way. `prefixProgress` is called per chunk of the prefix (nothing is sent then).
    public func stream(
        buffer: UnsafeMutableRawBufferPointer, resumingAfter prefix: Int64,
        resume: (SHA256Digest?) throws -> Bool, prefixProgress: () -> Void = {},
        progress: (Int) -> Void = { _ in },
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (result: Result, resumed: Bool) {
        precondition(prefix >= 0 && prefix <= identityAtOpen.size, "resume point outside the file")
        let hasher = SHA256Hasher()
        var shrank = false
        var bytesRead = try pump(prefix, into: hasher, shrank: &shrank, buffer: buffer, progress: { _ in prefixProgress() }, sink: { _ in })
        if try resume(shrank ? nil : hasher.digestSoFar()) {
            bytesRead += try pump(identityAtOpen.size - prefix, into: hasher, shrank: &shrank, buffer: buffer, progress: progress, sink: sink)
            return (Result(sha256: hasher.finalize(), bytesRead: bytesRead, change: try checkUnchanged(shrank: shrank)), true)
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw LocalFSError("lseek", path: path, errno: errno) }
        return (try stream(buffer: buffer, progress: progress, sink: sink), false)
    }

    /// Reads `count` bytes (zeros once the file ended early: `shrank`) into `hasher` and `sink`.
    private func pump(
        _ count: Int64, into hasher: SHA256Hasher, shrank: inout Bool, buffer: UnsafeMutableRawBufferPointer,
        progress: (Int) -> Void, sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Int64 {
        var remaining = count
        var bytesRead: Int64 = 0
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[..<want])
            var n = shrank ? 0 : try FileIO.read(fd, into: chunk, path: path)
            if n == 0 {
                shrank = true
                chunk.initializeMemory(as: UInt8.self, repeating: 0)
                n = want
            } else {
                bytesRead += Int64(n)
            }
            let filled = UnsafeRawBufferPointer(rebasing: chunk[..<n])
            hasher.update(filled)
            try sink(filled)
            remaining -= Int64(n)
            progress(n)
        }
        return bytesRead
    }

    /// Reads the whole file only to hash it (used when a same-size copy already exists remotely).
    public func hashOnly(buffer: UnsafeMutableRawBufferPointer) throws -> Result {
        try stream(buffer: buffer) { _ in }
    }

    private func checkUnchanged(shrank: Bool) throws -> SourceChanged? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LocalFSError("fstat", path: path, errno: errno) }
        var now = FileIdentity(st)
        // Still the same inode under the same name? (A writer may have replaced it.)
        if let byName = try LocalFS.statusIfExists(path) {
            if byName.identity.inode != now.inode || byName.identity.device != now.device { now = byName.identity }
        } else {
            now.inode = 0
        }
        if shrank || now != identityAtOpen {
            return SourceChanged(path: path, expected: identityAtOpen, found: now)
        }
        return nil
    }
}

/// The local file is not the one that was discovered, or changed while it was read.
public struct SourceChanged: Error, Sendable, CustomStringConvertible {
    public let path: FilePath
    public let expected: FileIdentity
    public let found: FileIdentity
    public init(path: FilePath, expected: FileIdentity, found: FileIdentity) {
        self.path = path
        self.expected = expected
        self.found = found
    }
    public var description: String {
        "\(path.displayString) changed (expected \(expected), found \(found)); it is still being written or was replaced"
    }
}
