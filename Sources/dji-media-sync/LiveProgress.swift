import Configuration
import Foundation
import Glibc
import LocalFS
import MediaSync
import SystemPackage

/// The running cycle's progress, for `status`: `<runtime_directory>/progress.json`, written by
/// the daemon at each tick while a cycle runs and removed when it ends. Volatile on purpose
/// (/run is a tmpfs): a progress means nothing after its cycle or a reboot, and the SD card is not
/// written every second for it.
enum LiveProgress {
    static func path(_ config: MediaSyncConfig) -> FilePath {
        FilePath(config.state.runtimeDirectory).appending("progress.json")
    }

    static func write(_ s: DaemonObserver.Snapshot, config: MediaSyncConfig) throws {
        let elapsed = (ContinuousClock.now - s.started).inSeconds
        let object: [String: Any] = [
            "pid": Int(getpid()), "updated_at": Date().timeIntervalSince1970,
            "started_at": Date().timeIntervalSince1970 - elapsed, "phase": s.phase,
            "files_total": s.totalFiles, "files_done": s.filesDone, "bytes_total": s.totalBytes, "bytes_done": s.bytes,
            "current": s.current
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try AtomicFile.write([UInt8](data), to: path(config))
    }

    static func remove(_ config: MediaSyncConfig) {
        _ = path(config).withPlatformString { unlink($0) }
    }

    /// What `status` shows: the daemon's progress if its process is alive and wrote it lately.
    struct Running {
        var startedAt: Date, phase: String, current: String
        var filesTotal: Int, filesDone: Int, bytesTotal: Int64, bytesDone: Int64

        private var speed: (rate: Double, text: String) {
            ConsoleProgress.rateAndETA(bytesDone: bytesDone, bytesTotal: bytesTotal, elapsed: Date().timeIntervalSince(startedAt))
        }

        var line: String {
            guard filesTotal > 0 else { return "running: a cycle since \(JSONOutput.time(startedAt)): \(phase)" }
            return "running: a cycle since \(JSONOutput.time(startedAt)): \(filesDone)/\(filesTotal) files, "
                + "\(Format.bytes(bytesDone))/\(Format.bytes(bytesTotal)), \(speed.text)"
                + (current.isEmpty ? "" : ", now \(current)")
        }

        var json: [String: Any] {
            [
                "started_at": JSONOutput.time(startedAt), "phase": phase, "current_file": JSONOutput.nullable(current.isEmpty ? nil : current),
                "files_total": filesTotal, "files_done": filesDone, "bytes_total": bytesTotal, "bytes_done": bytesDone,
                "bytes_per_second": JSONOutput.finite(speed.rate)
            ]
        }
    }

    static func read(_ config: MediaSyncConfig) -> Running? {
        guard let bytes = try? FileIO.readWholeFile(path(config), limit: 1 << 16),
            let o = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let pid = o["pid"] as? Int, let updated = o["updated_at"] as? Double, let started = o["started_at"] as? Double
        else { return nil }
        // A file left by a daemon that died, or one that stopped updating it, says nothing.
        guard kill(pid_t(pid), 0) == 0 || errno == EPERM, Date().timeIntervalSince1970 - updated < 30 else { return nil }
        return Running(
            startedAt: Date(timeIntervalSince1970: started), phase: o["phase"] as? String ?? "",
            current: o["current"] as? String ?? "",
            filesTotal: o["files_total"] as? Int ?? 0, filesDone: o["files_done"] as? Int ?? 0,
            bytesTotal: (o["bytes_total"] as? NSNumber)?.int64Value ?? 0, bytesDone: (o["bytes_done"] as? NSNumber)?.int64Value ?? 0)
    }
}
