import Glibc
import LocalFS
import MediaSync
import Synchronization
import SystemPackage
import SystemdSupport

/// The terminal view of a cycle, rclone `-P` style: a block redrawn in place under the log lines
/// (TerminalConsole keeps them apart) —
///
///     Transferred: 12/42 files, 120 MB/372 MB (32%), 45 MB/s, ETA 7s
///      * 2025/01/01/DJI_20250101120000_0012_V.MP4  45% of 210 MB
///
/// Silent off a terminal and with `-q`.
final class ConsoleProgress: CycleObserver {
    private struct InFlight {
        let name: String
        let size: Int64
        var done: Int64 = 0
        let order: Int
    }
    private struct State {
        var phase = ""
        var totalFiles = 0
        var totalBytes: Int64 = 0
        var filesDone = 0
        var bytes: Int64 = 0
        var started = ContinuousClock.now
        var lastDraw = ContinuousClock.now - .seconds(1)
        var inFlight: [Int: InFlight] = [:]
        /// The file each transfer thread is sending (a transport reports bytes on the thread
        /// that reads the file); bytes from other threads count for the newest file.
        var threadFile: [pthread_t: Int] = [:]
        var startedCount = 0
    }

    static let shownFiles = 4
    private let console: TerminalConsole
    private let enabled: Bool
    private let state = Mutex(State())

    init(enabled: Bool, console: TerminalConsole = .shared) {
        self.console = console
        self.enabled = enabled && console.isTerminal
    }

    func phase(_ text: String) {
        state.withLock { $0.phase = text }
        draw(force: true)
    }

    func planned(files: Int, bytes: Int64) {
        state.withLock {
            $0.totalFiles = files
            $0.totalBytes = bytes
            $0.started = .now
        }
        draw(force: true)
    }

    func fileStarted(_ item: TransferItem) {
        state.withLock { s in
            s.startedCount += 1
            s.inFlight[item.id] = InFlight(name: "\(item.remoteDirectory)/\(FilePath.display(item.remoteName))", size: item.identity.size, order: s.startedCount)
            s.threadFile[pthread_self()] = item.id
        }
        draw()
    }

    func bytesMoved(_ count: Int) {
        state.withLock { s in
            s.bytes += Int64(count)
            let id =
                s.threadFile[pthread_self()].flatMap { s.inFlight[$0] != nil ? $0 : nil }
                ?? s.inFlight.max { $0.value.order < $1.value.order }?.key
            if let id { s.inFlight[id]?.done += Int64(count) }
        }
        draw()
    }

    func filesFinished(_ results: [TransferResult]) {
        state.withLock { s in
            s.filesDone += results.count
            for r in results { s.inFlight[r.item.id] = nil }
            s.threadFile = s.threadFile.filter { s.inFlight[$0.value] != nil }
        }
        draw(force: true)
    }

    private func draw(force: Bool = false) {
        guard enabled else { return }
        let lines: [String]? = state.withLock { s in
            let now = ContinuousClock.now
            guard force || now - s.lastDraw > .milliseconds(100) else { return nil }
            s.lastDraw = now
            return Self.block(s, elapsed: (now - s.started).inSeconds)
        }
        if let lines { console.show(lines) }
    }

    /// The average rate since the start (none in the first half second) and the time left at it.
    static func rateAndETA(bytesDone: Int64, bytesTotal: Int64, elapsed: Double) -> (rate: Double, text: String) {
        let rate = elapsed > 0.5 ? Double(bytesDone) / elapsed : 0
        let eta = rate > 0 ? Format.duration(Double(max(0, bytesTotal - bytesDone)) / rate) : "-"
        return (rate, "\(Format.rate(rate)), ETA \(eta)")
    }

    private static func block(_ s: State, elapsed: Double) -> [String] {
        guard s.totalFiles > 0 else { return s.phase.isEmpty ? [] : [s.phase] }
        let pct = s.totalBytes > 0 ? min(100, Int(Double(s.bytes) * 100 / Double(s.totalBytes))) : 100
        let speed = rateAndETA(bytesDone: s.bytes, bytesTotal: s.totalBytes, elapsed: elapsed).text
        var lines = ["Transferred: \(s.filesDone)/\(s.totalFiles) files, \(Format.bytes(s.bytes))/\(Format.bytes(s.totalBytes)) (\(pct)%), \(speed)"]
        let files = s.inFlight.values.sorted { $0.order < $1.order }
        for f in files.prefix(shownFiles) {
            let filePct = f.size > 0 ? min(100, Int(Double(f.done) * 100 / Double(f.size))) : 100
            lines.append(" * \(f.name)  \(filePct)% of \(Format.bytes(f.size))")
        }
        if files.count > shownFiles { lines.append("   and \(files.count - shownFiles) more") }
        return lines
    }

    /// Clears the block (before the summary is printed).
    func finish() { if enabled { console.show([]) } }
}
