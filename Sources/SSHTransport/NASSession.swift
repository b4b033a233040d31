import Configuration
import Foundation
import Glibc
import Hashing
import LocalFS
import Logging
import MediaSync
import Synchronization
import SystemPackage

/// One connection's worth of work against the NAS.
final class NASSession: DestinationSession {
    let destination: NASDestination
    let channel: ControlChannel
    let controlPath: String
    let hashTool: String
    let perlPublisher: Bool
    let journal: any TempJournal
    let logger: Logger
    /// GNU tar on the NAS: read 1 MiB records (-b 2048 -B) instead of 10 KiB ones.
    let gnuTar: Bool
    /// GNU tail on the NAS: a large file is read back and hashed while it is being written.
    let gnuTail: Bool
    /// Files at least this large, alone in their batch, are hashed while written (with GNU tail).
    static let overlappedHashMinimum: Int64 = 64 << 20
    let tempCounter = Atomic<Int>(0)
    /// Data sessions in flight, so that cancellation can stop them at once.
    let live = Mutex<[Int: SSHProcess]>([:])

    init(destination: NASDestination, channel: ControlChannel, controlPath: String, hashTool: String, perlPublisher: Bool,
         journal: any TempJournal, logger: Logger, gnuTar: Bool = false, gnuTail: Bool = false) {
        self.gnuTar = gnuTar
        self.gnuTail = gnuTail
        self.destination = destination
        self.channel = channel
        self.controlPath = controlPath
        self.hashTool = hashTool
        self.perlPublisher = perlPublisher
        self.journal = journal
        self.logger = logger
    }

    var base: [UInt8] { Array(destination.config.basePath.utf8) }
    var stall: Double { destination.integrity.transferTimeoutSeconds }

    func absolute(_ relative: [UInt8]) -> FilePath {
        var b = base
        if b.last != UInt8(ascii: "/") { b.append(UInt8(ascii: "/")) }
        return FilePath(bytes: b + relative)
    }

    func close() async { await channel.close() }

    // MARK: temp files

    func newTempName(directory: String) -> [UInt8] {
        Array("\(directory)/\(destination.integrity.tempPrefix)\(destination.instanceID)-\(uniqueName())\(destination.integrity.tempSuffix)".utf8)
    }

    func uniqueName() -> String {
        let n = tempCounter.add(1, ordering: .relaxed).newValue
        return String(n, radix: 36) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// Removes the temp files a crashed run left (exactly the journaled names, nothing else).
    func reclaimTemps() async throws(DestinationError) {
        let leftovers: [FilePath]
        do { leftovers = try journal.pending(destination: destination.name) } catch {
            throw DestinationError(.transient, "temp journal: \(error)")
        }
        guard !leftovers.isEmpty else { return }
        // Data sessions of an earlier run may still write (their master was stopped, but a tar
        // can still hold buffered stream): end them before their temps are removed.
        let sessionFiles = leftovers.filter(isSessionFile)
        if !sessionFiles.isEmpty {
            var script: [UInt8] = Array("es".utf8)
            for f in sessionFiles { script += [0x20] + ShellQuote.quote(f.bytes) }
            _ = try await channel.request(script, stall: stall, what: "ending the data sessions of an interrupted run")
        }
        try await removeRemote(leftovers)
        logger.notice("removed \(leftovers.count) temp files left by an interrupted run",
                      metadata: SyncEvent.tempReclaimed.metadata(["count": "\(leftovers.count)", "destination": "\(destination.name)"]))
    }

    /// rm -f of absolute remote paths, then forgets them in the journal.
    func removeRemote(_ paths: [FilePath]) async throws(DestinationError) {
        for chunk in paths.chunked(by: 500) {
            var script: [UInt8] = Array("rm -f --".utf8)
            for p in chunk { script += [0x20] + ShellQuote.quote(p.bytes) }
            _ = try await channel.request(script, stall: stall, what: "removing temp files")
            do { try journal.forget(destination: destination.name, paths: Array(chunk)) } catch {
                throw DestinationError(.transient, "temp journal: \(error)")
            }
        }
    }

    // MARK: verify

    func verify(_ copies: [RemoteCopy], mode: VerifyMode) async throws(DestinationError) -> [VerifyResult] {
        var results: [VerifyResult] = []
        for (chunkIndex, chunk) in copies.chunked(by: 200).enumerated() {
            var script: [UInt8] = []
            for (i, copy) in chunk.enumerated() {
                script += Array("ver \(i) ".utf8) + ShellQuote.quote(copy.remotePath.bytes) + Array(" \(mode.rawValue)\n".utf8)
            }
            let lines = try await channel.request(script, stall: stall, what: "verifying copies")
            var byIndex: [Int: [String]] = [:]
            for line in lines {
                let f = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
                if let i = f.first.flatMap(Int.init) { byIndex[i] = Array(f.dropFirst()) }
            }
            for (i, copy) in chunk.enumerated() {
                guard let f = byIndex[i], let code = f.first else {
                    results.append(.unknown("no answer for \(copy.remotePath.displayString) (batch \(chunkIndex))"))
                    continue
                }
                switch code {
                case "M": results.append(.missing)
                case "Z":
                    let size = f.count > 1 ? Int64(f[1]) : nil
                    results.append(size == copy.size ? .verified : .sizeMismatch(found: size ?? -1))
                case "H":
                    let size = f.count > 1 ? Int64(f[1]) : nil
                    let hash = f.count > 2 ? f[2] : ""
                    if size != copy.size { results.append(.sizeMismatch(found: size ?? -1)) }
                    else if hash != copy.sha256.hex { results.append(.hashMismatch(found: hash)) }
                    else { results.append(.verified) }
                default: results.append(.unknown(f.joined(separator: " ")))
                }
            }
        }
        return results
    }

    // MARK: space and retention

    func space() async throws(DestinationError) -> DestinationSpace? {
        let lines = try await channel.request(Array("spc\n".utf8), stall: stall, what: "reading free space")
        guard let space = RemoteReplies.freeSpace(lines.last ?? []) else { return nil }
        return DestinationSpace(freeBytes: space.freeBytes, totalBytes: space.totalBytes)
    }

    func removeCopies(_ copies: [RemoteCopy]) async throws(DestinationError) -> [RemovalResult] {
        var results: [RemovalResult] = []
        for chunk in copies.chunked(by: 200) {
            var script: [UInt8] = []
            for (i, copy) in chunk.enumerated() {
                script += Array("rmv \(i) ".utf8) + ShellQuote.quote(copy.remotePath.bytes) + Array(" \(copy.size)\n".utf8)
            }
            var byIndex: [Int: [String]] = [:]
            for line in try await channel.request(script, stall: stall, what: "removing old copies") {
                let f = String(decoding: line, as: UTF8.self).split(separator: " ").map(String.init)
                if let i = f.first.flatMap(Int.init) { byIndex[i] = Array(f.dropFirst()) }
            }
            for i in chunk.indices.map({ $0 - chunk.startIndex }) {
                switch byIndex[i]?.first {
                case "D": results.append(.removed)
                case "M": results.append(.missing)
                case "N": results.append(.notOurs(foundSize: Int64(byIndex[i]?.dropFirst().first ?? "") ?? -1))
                default: results.append(.failed(byIndex[i]?.joined(separator: " ") ?? "no answer"))
                }
            }
        }
        return results
    }

}
