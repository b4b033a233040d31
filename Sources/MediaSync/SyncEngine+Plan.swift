import Foundation
import LocalFS
import Logging
import SystemPackage

/// What a cycle will copy where: for each destination, which of the scan's candidates it still
/// needs. Flags, not items: a `TransferItem` is made only for the chunk being sent.
struct CyclePlan: Sendable {
    /// [destination index][candidate index]
    var needs: [[Bool]]
    /// (file, destination) pairs held back: waiting for a retry, or quarantined.
    var deferred = 0
    /// The same by destination, and of those, the quarantined ones.
    var deferredOn: [Int] = []
    var quarantinedOn: [Int] = []
    var counts: [Int]
    var byteCounts: [Int64]

    var files: Int { counts.reduce(0, +) }
    var bytes: Int64 { byteCounts.reduce(0, +) }
    func count(for destination: Int) -> Int { counts[destination] }
    func bytes(for destination: Int) -> Int64 { byteCounts[destination] }

    func item(_ i: Int, of candidates: Candidates, layout: RemoteLayout) -> TransferItem {
        let c = candidates[i]
        let place = layout.place(name: c.name, mtimeNanoseconds: c.identity.mtimeNanoseconds)
        return TransferItem(id: i, localPath: c.path, identity: c.identity, remoteDirectory: place.directory, remoteName: place.name)
    }
}

extension SyncEngine {
    /// A version the scan did not see is gone only if the file system says so: a folder that could
    /// not be read, or a file skipped by a setting, keeps its rows.
    static func isGone(_ version: StateStore.FileVersion) -> Bool {
        let found: FileStatus?
        do { found = try LocalFS.statusIfExists(FilePath(bytes: version.path)) } catch { return false }
        guard let status = found else { return true }
        let id = status.identity
        return status.kind != .regular || id.size != version.size || id.mtimeNanoseconds != version.mtimeNanoseconds || id.inode != version.inode
    }

    /// At most this many ledger rows that matched no scanned file are checked (lstat) per cycle.
    static let staleChecksPerCycle = 20_000

    /// Merges the scan (in path byte order) with the live ledger (the same order, from its partial
    /// index), so planning costs one pass over what is in the media root, however long the
    /// history. Ledger rows of versions that are no longer here leave the live index. Runs on a
    /// thread of its own and stops at cancellation. A dry run (`readOnly`) leaves the ledger as it is.
    func makePlan(_ candidates: Candidates, log: Logger, readOnly: Bool = false) async throws -> CyclePlan {
        let store = store
        let names = destinationNames
        let fingerprints = destinations.map(\.configurationFingerprint)
        let now = clock()
        let (plan, stale) = try await cancellableBlocking { stop -> (CyclePlan, [StateStore.FileVersion]) in
            let n = candidates.count
            var held = Array(repeating: Array(repeating: false, count: n), count: names.count)
            let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            var unmatched: [StateStore.FileVersion] = []
            var cursor = 0
            var rows = 0
            var lastUnmatched: StateStore.FileVersion?
            try store.forEachLiveCopy { copy in
                rows += 1
                if rows % 4096 == 0, stop.isSet { throw CancellationError() }
                while cursor < n, ByteOrder.compare(candidates.pathBytes(Int(candidates.byPath[cursor])), copy.path) < 0 { cursor += 1 }
                if cursor < n {
                    let i = Int(candidates.byPath[cursor])
                    let id = candidates.identities[i]
                    if id.size == copy.size, id.mtimeNanoseconds == copy.mtimeNanoseconds, id.inode == copy.inode,
                        ByteOrder.compare(candidates.pathBytes(i), copy.path) == 0
                    {
                        if let d = index[copy.destination] { held[d][i] = true }
                        return true
                    }
                }
                let version = copy.version
                if version != lastUnmatched, unmatched.count < Self.staleChecksPerCycle { unmatched.append(version) }
                lastUnmatched = version
                return true
            }
            var plan = CyclePlan(
                needs: held, counts: Array(repeating: 0, count: names.count),
                byteCounts: Array(repeating: 0, count: names.count))
            plan.quarantinedOn = Array(repeating: 0, count: names.count)
            plan.deferredOn = plan.quarantinedOn
            for d in names.indices {
                let deferred = try store.deferredVersions(destination: names[d], fingerprint: fingerprints[d], now: now)
                for i in 0..<n {
                    if held[d][i] {
                        plan.needs[d][i] = false
                        continue
                    }
                    if !deferred.isEmpty,
                        let quarantined = deferred[StateStore.FileVersion(path: Array(candidates.pathBytes(i)), identity: candidates.identities[i])]
                    {
                        plan.needs[d][i] = false
                        plan.deferred += 1
                        plan.deferredOn[d] += 1
                        if quarantined { plan.quarantinedOn[d] += 1 }
                        continue
                    }
                    plan.needs[d][i] = true
                    plan.counts[d] += 1
                    plan.byteCounts[d] += candidates.identities[i].size
                }
            }
            // Failures of versions no longer here are forgotten, so the table stays as small as
            // the set of files that are here and failing.
            for d in names.indices where !readOnly {
                let gone = try store.failureVersions(destination: names[d]).prefix(Self.staleChecksPerCycle).filter(Self.isGone)
                try store.forgetFailures(Array(gone), destination: names[d])
            }
            return (plan, unmatched.filter(Self.isGone))
        }
        if !stale.isEmpty, !readOnly {
            do {
                try store.markSourcesGone(stale)
                log.debug("\(stale.count) ledger entries of sources no longer here left the planning index")
            } catch {
                log.warning("cannot update the ledger's planning index: \(error)")
            }
        }
        return plan
    }
}
