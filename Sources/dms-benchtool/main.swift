import Foundation
import Hashing
import LocalFS
import MediaSync
import SystemPackage

// Benchmarks only (bench/bench_scale.sh): fills a state database with the history of a dock that
// has run for years — ledger rows of sources that were copied, verified and deleted — through the
// store's own code, so the benchmark's history looks exactly like a real one.
//
//   dms-benchtool fill-history STATE_DIR ROWS MEDIA_ROOT REMOTE_BASE [DESTINATION]

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dms-benchtool: \(message)\n".utf8))
    exit(2)
}

let args = CommandLine.arguments
guard args.count >= 6, args[1] == "fill-history", let rows = Int(args[3]), rows > 0 else {
    fail("usage: dms-benchtool fill-history STATE_DIR ROWS MEDIA_ROOT REMOTE_BASE [DESTINATION]")
}
let store = try StateStore(directory: FilePath(args[2]))
let mediaRoot = args[4], remoteBase = args[5]
let destination = args.count > 6 ? args[6] : "nas"
let batch = 10_000
let day: Int64 = 86_400_000_000_000
let start = LocalFS.currentTimeNanoseconds() - 3 * 365 * day // three years ago, 1000 a day
var done = 0
while done < rows {
    let n = min(batch, rows - done)
    var placements: [StateStore.Placement] = []
    placements.reserveCapacity(n)
    for k in done..<(done + n) {
        let mtime = start + Int64(k) * (day / 1000)
        let name = "DJI_H\(String(format: "%08d", k))_D.JPG"
        let folder = String(format: "dir_%03d", k % 100)
        let item = TransferItem(
            id: k, localPath: FilePath("\(mediaRoot)/\(folder)/\(name)"),
            identity: FileIdentity(size: 1024, mtimeNanoseconds: mtime, inode: UInt64(10_000_000 + k), device: 1),
            remoteDirectory: "2023/01/01", remoteName: Array(name.utf8))
        let digest = SHA256Hasher.hash(Array(name.utf8))
        placements.append(.init(item: item, remotePath: FilePath("\(remoteBase)/2023/01/01/\(name)"), sha256: digest, alreadyPresent: false))
    }
    // Recorded when they were made (a batch spans ten days of this history), not now: a history
    // stamped "now" would all be "recent" to the consistency check.
    let syncedAt = Double(start + Int64(done + n) * (day / 1000)) / 1e9
    try store.recordPlacements(
        placements, destination: destination, allDestinations: [destination], cycleID: nil,
        deleteDelaySeconds: 0, now: syncedAt)
    // The sources were deleted after verification, as the daemon does.
    let due = try store.dueDeletes(now: syncedAt + 1, limit: n)
    try store.finishDeletes(due.map(\.id), state: .deleted, now: syncedAt + 60)
    done += n
}
print("dms-benchtool: \(rows) history rows in \(store.path.string)")
