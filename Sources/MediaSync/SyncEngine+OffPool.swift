import Foundation
import LocalFS

extension SyncEngine {
    /// Blocking work (SQLite writes and their fsync, unlink, fsync of folders) on a thread of its
    /// own, never on the cooperative pool: it has one thread per core, two on a dock, and one
    /// stalled fsync there would stall every transfer's pipe pumping with it.
    func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// The same for work that updates the cycle's summary.
    func offPool<T: Sendable>(_ summary: inout CycleSummary, _ body: @escaping @Sendable (inout CycleSummary) -> T) async -> T {
        let before = summary
        let (after, value) = await offPool { () -> (CycleSummary, T) in
            var s = before
            let value = body(&s)
            return (s, value)
        }
        summary = after
        return value
    }
}
