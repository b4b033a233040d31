import Foundation
import LocalFS
import Logging
import MediaSync
import SystemPackage

/// Resumable transfers (`resume_min_bytes`): a large file cut by a lost connection keeps its temp
/// file on the NAS, journaled with the source version it holds a prefix of. The next attempt for
/// that version asks the NAS for the temp's length and SHA-256 (`rsm`), compares it with the same
/// prefix of the local file while streaming, and sends only the rest (`app`). On any doubt it
/// starts over. The published copy is checked by its full SHA-256 on both ends, as any other.
extension NASSession {
    /// Where a file's copy continues: `temp` holds `offset` bytes whose SHA-256 is `sha256` (as
    /// the NAS said); `fallback` is the fresh temp name used if the local prefix differs.
    struct ResumePoint: Sendable {
        var temp: [UInt8]
        var offset: Int64
        var sha256: String
        var fallback: [UInt8]
    }

    var resumeMinBytes: Int64 { receiver.resume ? Int64(destination.config.resumeMinBytes) : 0 }

    func resumable(_ item: TransferItem) -> Bool { resumeMinBytes > 0 && item.identity.size >= resumeMinBytes }

    /// The resume points of `items` (by index). Temps kept for these files that cannot be
    /// continued (the source changed, the temp is missing, longer than the file, or elsewhere) are
    /// removed here: the file starts over.
    func resumePoints(_ items: [TransferItem]) async throws(DestinationError) -> [Int: ResumePoint] {
        guard items.contains(where: resumable) else { return [:] }
        let kept: [ResumableTemp]
        do { kept = try journal.resumable(destination: destination.name) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        guard !kept.isEmpty else { return [:] }
        let bySource = Dictionary(kept.map { ($0.source, $0) }, uniquingKeysWith: { a, b in a.keptAt >= b.keptAt ? a : b })
        var discard: [FilePath] = []
        var asked: [Int: (temp: [UInt8], item: TransferItem)] = [:]
        var script: [UInt8] = []
        for (index, item) in items.enumerated() where resumable(item) {
            guard let temp = bySource[item.localPath] else { continue }
            let directory = Array(item.remoteDirectory.utf8) + [UInt8(ascii: "/")]
            guard temp.identity == item.identity, let name = relative(temp.path), name.starts(with: directory),
                !name.dropFirst(directory.count).contains(UInt8(ascii: "/"))
            else {
                logger.info("\(item.localPath.displayString): the partial copy on the NAS is of another version of the file or in another folder; starting over")
                discard.append(temp.path)
                continue
            }
            asked[index] = (name, item)
            script += RemoteProtocol.resumePoint(index: index, temp: name, size: item.identity.size)
        }
        var points: [Int: ResumePoint] = [:]
        if !script.isEmpty {
            var replies: [Int: RemoteProtocol.Verify] = [:]
            for line in try await channel.request(script, stall: stall, what: "checking partial copies to resume") {
                if case let (i?, reply) = RemoteProtocol.verifyLine(line), asked[i] != nil { replies[i] = reply }
            }
            for (index, (temp, item)) in asked.sorted(by: { $0.key < $1.key }) {
                if case let .sizeAndHash(length, sha256)? = replies[index], length > 0, length <= item.identity.size {
                    points[index] = ResumePoint(
                        temp: temp, offset: length, sha256: sha256,
                        fallback: newTempName(directory: item.remoteDirectory))
                    continue
                }
                let why =
                    switch replies[index] {
                    case .missing?: "it is gone"
                    case let .size(length)?: "it is longer (\(length) bytes) than the file"
                    case .sizeAndHash?: "it is empty"
                    default: "no usable answer"
                    }
                logger.info("\(item.localPath.displayString): cannot resume the partial copy \(FilePath.display(temp)) (\(why)); starting over")
                discard.append(absolute(temp))
            }
        }
        if !discard.isEmpty { try await removeRemote(discard) }
        return points
    }

    /// Marks `temp` (holding a prefix of `item`, cut by a lost connection) as resumable.
    func keepForResume(_ temp: [UInt8], of item: TransferItem) throws(DestinationError) {
        do { try journal.keepForResume(destination: destination.name, path: absolute(temp), source: item.localPath, identity: item.identity) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        logger.info("\(item.localPath.displayString): the connection was lost; its partial copy \(FilePath.display(temp)) is kept to be resumed")
    }

    /// The journaled temps the reclaiming at connect leaves alone: those kept for resuming, unless
    /// resuming is off now or they were not resumed within `resumeKeepSeconds` (a day: then they
    /// are reclaimed like any other).
    func keptForResume() throws(DestinationError) -> Set<FilePath> {
        guard resumeMinBytes > 0 else { return [] }
        let now = Date().timeIntervalSince1970
        do {
            return Set(
                try journal.resumable(destination: destination.name)
                    .filter { now - $0.keptAt < destination.resumeKeepSeconds }.map(\.path))
        } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
    }
}
