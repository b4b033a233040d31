import Logging
import Synchronization

/// Connections opened while the cycle scans and plans, for a cycle asked for by someone who
/// expects work (`sync --once`, SIGUSR1, new media seen by the watch): the ssh handshake and the
/// receiver's greeting, some round trips on a field link, overlap the local work instead of
/// following it. The cycle takes them where it would connect; what it does not take (nothing to
/// do, a pause, a stop) is closed unused, and a failure is reported only for a destination the
/// cycle needed: the same outcome as connecting late, sooner. A timer tick connects late, so an
/// idle dock never logs in to the NAS for nothing.
final class EarlyConnections: Sendable {
    typealias Outcome = Result<any DestinationSession, DestinationError>
    private let task: Task<[Int: Outcome], Never>
    private let taken = Mutex(false)

    init(_ engine: SyncEngine, observer: any TransferProgress, log: Logger) {
        task = Task {
            var outcomes: [Int: Outcome] = [:]
            for (index, destination) in engine.destinations.enumerated() {
                guard !Task.isCancelled else { break }
                do throws(DestinationError) {
                    outcomes[index] = .success(try await destination.connect(journal: engine.store, progress: observer, logger: log))
                } catch {
                    outcomes[index] = .failure(error)
                }
            }
            return outcomes
        }
    }

    /// The outcomes, once: to the cycle that connects now.
    func take() async -> [Int: Outcome] {
        guard taken.withLock({ t in defer { t = true }; return !t }) else { return [:] }
        return await task.value
    }

    /// Closes what nobody took (stopping a connect still under way).
    func closeUnused() async {
        guard taken.withLock({ t in defer { t = true }; return !t }) else { return }
        task.cancel()
        for case let .success(session) in await task.value.values { await session.close() }
    }
}

extension SyncEngine {
    /// Connects every destination `wanted` says is needed, taking the early connections where
    /// there are any (and closing those not needed).
    func connect(
        early: EarlyConnections?, where wanted: (Int) -> Bool, observer: any TransferProgress,
        summary: inout CycleSummary, log: Logger
    ) async -> [(destination: any Destination, session: any DestinationSession)] {
        guard let early else { return await connect(where: wanted, observer: observer, summary: &summary, log: log) }
        let outcomes = await early.take()
        var sessions: [(destination: any Destination, session: any DestinationSession)] = []
        for (index, destination) in destinations.enumerated() {
            let outcome = outcomes[index]
            guard wanted(index), !Task.isCancelled else {
                if case let .success(session)? = outcome { await session.close() }
                continue
            }
            do throws(DestinationError) {
                // (Cancelled before it was reached: connect now.)
                let session: any DestinationSession
                if let outcome { session = try outcome.get() } else { session = try await destination.connect(journal: store, progress: observer, logger: log) }
                sessions.append((destination, session))
                summary.connectedDestinations.append(destination.name)
            } catch {
                if Task.isCancelled || error.kind == .cancelled { continue }
                unavailable(destination, error, summary: &summary, log: log)
            }
        }
        return sessions
    }
}
