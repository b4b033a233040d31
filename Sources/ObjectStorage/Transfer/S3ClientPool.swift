import Synchronization

/// Idle ``S3Client``s kept for reuse. A client is one connection, so a part sent with a pooled
/// client reuses its connection (and TLS session) instead of opening one per part; a pool shared by
/// the uploads of a destination keeps about as many connections as parts run in parallel.
public final class S3ClientPool: Sendable {
    private let make: @Sendable () throws(S3Error) -> S3Client
    private let maximumIdle: Int
    private let idle = Mutex<[S3Client]>([])

    /// - Parameters:
    ///   - maximumIdle: clients kept beyond that are dropped when returned.
    ///   - make: makes a client when none is idle (e.g. `{ try S3Client(configuration:credentials:) }`).
    public init(maximumIdle: Int, make: @escaping @Sendable () throws(S3Error) -> S3Client) {
        self.maximumIdle = maximumIdle
        self.make = make
    }

    /// An idle client, or a new one. Give it back with ``put(_:)`` when done.
    public func take() throws(S3Error) -> S3Client {
        if let client = idle.withLock({ $0.popLast() }) { return client }
        return try make()
    }

    public func put(_ client: S3Client) {
        idle.withLock { if $0.count < maximumIdle { $0.append(client) } }
    }

    /// Clients waiting for reuse (tests check reuse with it).
    public var idleCount: Int { idle.withLock { $0.count } }
}
