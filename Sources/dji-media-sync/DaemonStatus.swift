import Configuration
import Dispatch
import Foundation
import Glibc
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage
import SystemdSupport

/// Counts what a running cycle does, for STATUS and the watchdog gate. Called from any thread.
final class DaemonObserver: CycleObserver {
    struct Snapshot: Sendable {
        var phase = "starting"
        var totalFiles = 0
        var totalBytes: Int64 = 0
        var filesDone = 0
        var bytes: Int64 = 0
        var current = ""
        var started = ContinuousClock.now
    }

    let gate: WatchdogGate
    private let state = Mutex(Snapshot())

    init(gate: WatchdogGate) { self.gate = gate }

    func reset() { state.withLock { $0 = Snapshot() } }
    func snapshot() -> Snapshot { state.withLock { $0 } }

    func phase(_ text: String) {
        gate.progress()
        state.withLock { $0.phase = text }
    }
    func planned(files: Int, bytes: Int64) {
        gate.progress()
        state.withLock {
            $0.totalFiles = files
            $0.totalBytes = bytes
        }
    }
    func fileStarted(_ item: TransferItem) {
        gate.progress()
        state.withLock { $0.current = FilePath.display(item.remoteName) }
    }
    func bytesMoved(_ count: Int) {
        gate.progress()
        state.withLock { $0.bytes += Int64(count) }
    }
    func heartbeat() { gate.progress() }
    func filesFinished(_ results: [TransferResult]) {
        gate.progress()
        state.withLock { $0.filesDone += results.count }
    }
}

/// The one line `systemctl status` shows.
struct StatusLine {
    var last: CycleSummary?
    var unreachableSince: Date?
    var configProblem: String?
    var withheldLogged = false
    /// The live progress file could not be written (said once).
    var progressFileFailed = false

    mutating func record(_ summary: CycleSummary) {
        last = summary
        if summary.unavailableDestinations.isEmpty { unreachableSince = nil } else if unreachableSince == nil { unreachableSince = Date(timeIntervalSince1970: summary.startedAt) }
    }

    func line(running: DaemonObserver.Snapshot?, nextDue: Date, paused: StateStore.Pause? = nil) -> String {
        var text: String
        if let paused, running == nil {
            text = PauseWatch.statusText(paused)
            if let last { text += " — last: \(last.shortLine)" }
        } else if let r = running {
            let elapsed = ContinuousClock.now - r.started
            let seconds = elapsed.inSeconds
            let rate = seconds > 0 ? Double(r.bytes) / seconds : 0
            text =
                r.totalFiles > 0
                ? "syncing \(r.filesDone)/\(r.totalFiles) \(r.current) \(Format.rate(rate))"
                : r.phase
            if let paused { text = "\(PauseWatch.statusText(paused)) — finishing the files in flight: " + text }
        } else {
            text = "idle — next cycle \(Self.clock(nextDue))"
            if let last {
                text += " — last: \(last.shortLine)"
                if let health = last.health, health.level != .healthy { text += " — \(health.shortLine)" }
            }
        }
        if let last, last.waitingForSpace > 0 {
            let names = last.waitingForSpaceOn.keys.sorted().joined(separator: ", ")
            text += " — \(names.isEmpty ? "" : names + " ")low on space: \(Format.count(last.waitingForSpace, "file")) \(last.waitingForSpace == 1 ? "waits" : "wait")"
        }
        if let since = unreachableSince, let last {
            let names = last.unavailableDestinations.joined(separator: ", ")
            let why = last.unavailableDestinations.contains { last.unavailableKinds[$0] == .authentication } ? "authentication failing" : "unreachable"
            text += " — \(names) \(why) since \(Self.clock(since)), retrying"
        }
        if let configProblem { text += " — \(configProblem.prefix(200)); running with the previous config" }
        return text
    }

    static func clock(_ date: Date) -> String {
        let f = DateFormatter()
        f.dateFormat = "HH:mm"
        return f.string(from: date)
    }
}
