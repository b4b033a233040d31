import Foundation
import Logging
import MediaSync
import Synchronization

/// The pause as the daemon knows it: re-read from the state database on the daemon's dispatch
/// queue (each tick, timer and signal — never on the cooperative pool), answered from memory to
/// the engine, which asks between files. A timed pause ends on its own: `current` compares with
/// the clock, so it ends on time even between two reads.
final class PauseWatch: Sendable {
    let store: StateStore
    let log: Logger
    private let stored = Mutex<StateStore.Pause?>(nil)
    private let failing = Atomic<Bool>(false)

    init(store: StateStore, log: Logger) {
        self.store = store
        self.log = log
    }

    /// One primary-key read. On failure the last known pause stays in force (logged once).
    func refresh() {
        do {
            let pause = try store.storedPause()
            stored.withLock { $0 = pause }
            failing.store(false, ordering: .relaxed)
        } catch {
            if !failing.exchange(true, ordering: .relaxed) {
                log.error("cannot read the pause state from the state database: \(error); keeping the last one known")
            }
        }
    }

    func current(now: Double = Date().timeIntervalSince1970) -> StateStore.Pause? {
        stored.withLock { $0 }.flatMap { $0.isActive(now: now) ? $0 : nil }
    }

    var isPaused: Bool { current() != nil }

    /// For STATUS: "paused until 14:30", "paused until 2026-12-24 14:30", "paused until resumed".
    static func statusText(_ pause: StateStore.Pause, now: Date = Date()) -> String {
        guard let until = pause.until else { return "paused until resumed (dji-media-sync resume)" }
        let date = Date(timeIntervalSince1970: until)
        let f = DateFormatter()
        f.dateFormat = date.timeIntervalSince(now) < 20 * 3600 ? "HH:mm" : "yyyy-MM-dd HH:mm"
        return "paused until \(f.string(from: date))"
    }
}
