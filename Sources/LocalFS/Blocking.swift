import Foundation
import Synchronization

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

/// Runs blocking work (a scan, a long ledger read, a wait) on a thread of its own; the flag it gets
/// turns true when the calling task is cancelled, for the work to stop at its next check.
public func cancellableBlocking<T: Sendable>(_ body: @escaping @Sendable (StopFlag) throws -> T) async throws -> T {
    let stop = StopFlag()
    return try await withTaskCancellationHandler {
        try await runBlocking { try body(stop) }
    } onCancel: {
        stop.set()
    }
}

/// A flag that one task sets (a cancellation, a stop) and blocking work checks.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .relaxed) }
    public func set() { flag.store(true, ordering: .relaxed) }
}
