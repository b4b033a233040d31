import Foundation
import LocalFS
import MediaSync
import Synchronization
import SystemPackage

/// One status line on a terminal's stderr: "syncing 12/42 DJI_0012.JPG 45 MB/s". Silent otherwise.
final class ConsoleProgress: CycleObserver {
    private struct State {
        var phase = ""
        var totalFiles = 0
        var totalBytes: Int64 = 0
        var filesDone = 0
        var bytes: Int64 = 0
        var current = ""
        var started = ContinuousClock.now
        var lastDraw = ContinuousClock.now - .seconds(1)
    }

    private let enabled: Bool
    private let state = Mutex(State())

    init(enabled: Bool) { self.enabled = enabled }

    func phase(_ text: String) { state.withLock { $0.phase = text }; draw(force: true) }

    func planned(files: Int, bytes: Int64) {
        state.withLock { $0.totalFiles = files; $0.totalBytes = bytes; $0.started = .now }
    }

    func fileStarted(_ item: TransferItem) { state.withLock { $0.current = FilePath.display(item.remoteName) }; draw() }

    func bytesMoved(_ count: Int) { state.withLock { $0.bytes += Int64(count) }; draw() }

    func filesFinished(_ results: [TransferResult]) { state.withLock { $0.filesDone += results.count }; draw() }

    private func draw(force: Bool = false) {
        guard enabled else { return }
        let line: String? = state.withLock { s in
            let now = ContinuousClock.now
            guard force || now - s.lastDraw > .milliseconds(200) else { return nil }
            s.lastDraw = now
            let elapsed = (now - s.started).inSeconds
            let rate = elapsed > 0 ? Double(s.bytes) / elapsed : 0
            let pct = s.totalBytes > 0 ? Int(Double(s.bytes) * 100 / Double(s.totalBytes)) : 0
            return s.totalFiles == 0 ? s.phase
                : "\(s.phase) \(s.filesDone)/\(s.totalFiles) \(pct)% \(Format.bytes(s.bytes))/\(Format.bytes(s.totalBytes)) \(Format.rate(rate)) \(s.current.prefix(40))"
        }
        if let line { FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8)) }
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}
