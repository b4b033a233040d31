import Dispatch
import MediaSync
import Synchronization

/// A progress observer that counts the bytes a transfer sends and, with `holdAt`, holds the sender
/// (a blocking thread) once that many have gone out, until ``release()``. A test then acts at a
/// known point of the stream (cuts the link, freezes the receiver), however loaded the machine:
/// no pace to race.
public final class HeldStream: CycleObserver {
    private let moved = Mutex<Int64>(0)
    public let holdAt: Int64?
    private let gate = DispatchSemaphore(value: 0)

    public init(holdAt: Int64? = nil) { self.holdAt = holdAt }

    public func fileStarted(_ item: TransferItem) {}

    public func bytesMoved(_ count: Int) {
        let (before, after) = moved.withLock { total in
            defer { total += Int64(count) }
            return (total, total + Int64(count))
        }
        // Bounded, so that a test that fails before releasing cannot hang the run.
        if let holdAt, before < holdAt, after >= holdAt { _ = gate.wait(timeout: .now() + 60) }
    }

    /// The bytes sent so far.
    public var bytes: Int64 { moved.withLock { $0 } }
    /// The sender reached `holdAt` (and waits, until released).
    public var held: Bool { holdAt.map { bytes >= $0 } ?? false }
    public func release() { gate.signal() }
}
