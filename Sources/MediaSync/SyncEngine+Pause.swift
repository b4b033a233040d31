import Logging

extension SyncEngine {
    /// True once `shouldPause` says so; the first time, notes it in the summary and the log. The
    /// cycle then starts nothing new: no further phase, destination or chunk (transports stop
    /// between files through `PausingObserver`).
    func pauseRequested(_ summary: inout CycleSummary, log: Logger) -> Bool {
        if summary.paused { return true }
        guard shouldPause() else { return false }
        summary.paused = true
        summary.messages.append("paused: what is left waits for `dji-media-sync resume` (or the end of a timed pause)")
        log.notice(
            "paused: finishing the files in flight, starting no more this cycle",
            metadata: SyncEvent.paused.metadata([:]))
        return true
    }
}

/// The cycle's observer, answering `stopRequested` from the engine's `shouldPause` (a cheap read
/// of what the daemon keeps in memory, asked between files).
struct PausingObserver: CycleObserver {
    let base: any CycleObserver
    let shouldPause: @Sendable () -> Bool

    func phase(_ text: String) { base.phase(text) }
    func planned(files: Int, bytes: Int64) { base.planned(files: files, bytes: bytes) }
    func filesFinished(_ results: [TransferResult]) { base.filesFinished(results) }
    func fileStarted(_ item: TransferItem) { base.fileStarted(item) }
    func bytesMoved(_ count: Int) { base.bytesMoved(count) }
    func heartbeat() { base.heartbeat() }
    var stopRequested: Bool { base.stopRequested || shouldPause() }
}
