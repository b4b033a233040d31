import Foundation

/// Runs blocking work (pipe and file I/O, waiting on a child) on a thread of its own, so that it
/// never occupies one of the cooperative pool's few threads (two, on a two-core machine).
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
