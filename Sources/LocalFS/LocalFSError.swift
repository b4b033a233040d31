import Glibc
import SystemPackage

/// A failed system call on a local path, with the call, the path and errno's text.
public struct LocalFSError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public init(_ operation: String, path: FilePath, errno: Int32) {
        self.init(operation, path: path.displayString, errno: errno)
    }

    public var isNotFound: Bool { errno == ENOENT }
    public var message: String { String(cString: strerror(errno)) }
    public var description: String { "\(operation) \(path): \(message) (errno \(errno))" }
}
