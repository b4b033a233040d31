import Foundation
import Hashing
import Logging

extension SyncEngine {
    /// Re-verifies ledger copies on one destination and returns each verdict keyed by its ledger
    /// row's id, so a verdict can never land on another row. A row whose recorded SHA-256 cannot be
    /// decoded gets `.unknown`: it is logged and never counts as verified.
    public static func reverify(
        _ copies: [StateStore.LedgerEntry], session: any DestinationSession, mode: VerifyMode,
        log: Logger
    ) async throws(DestinationError) -> [Int64: VerifyResult] {
        var verdicts: [Int64: VerifyResult] = [:]
        var asked: [StateStore.LedgerEntry] = []
        var remote: [RemoteCopy] = []
        for copy in copies {
            guard let digest = copy.sha256 else {
                log.error("ledger row \(copy.id) (\(copy.remotePath.displayString) on \(copy.destination)) has a damaged SHA-256; it is not taken as verified")
                verdicts[copy.id] = .unknown("the ledger's SHA-256 for this copy is damaged")
                continue
            }
            asked.append(copy)
            remote.append(RemoteCopy(remotePath: copy.remotePath, size: copy.identity.size, sha256: digest))
        }
        guard !remote.isEmpty else { return verdicts }
        let results = try await session.verify(remote, mode: mode)
        guard results.count == asked.count else {
            throw DestinationError(.transient, "verification answered \(results.count) verdicts for \(asked.count) copies")
        }
        for (copy, result) in zip(asked, results) { verdicts[copy.id] = result }
        return verdicts
    }
}
