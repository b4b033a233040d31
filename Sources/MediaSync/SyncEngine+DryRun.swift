import Logging
import SystemPackage

/// What `sync --once --dry-run` found: the plan (ledger and local files), checked against what
/// each destination holds under the names the files would get.
public struct DryRunReport: Sendable {
    /// Complete media files found by the scan.
    public var eligible = 0
    /// Skipped locally: too recent or still being written (`min_file_age_seconds`, or dated in the
    /// future and not yet seen unchanged long enough), hidden (`skip_hidden`), and not a media
    /// file by name (`extensions`, `temporary_suffixes`).
    public var tooRecent = 0
    public var hidden = 0
    public var ignored = 0
    public var destinations: [PerDestination] = []

    public init() {}

    /// For the log: "nas: 3 to copy (56 MB; 1 under a _N name), 36 already there; s3: unavailable".
    public var shortLine: String {
        destinations.map { d in
            d.unavailable != nil
                ? "\(d.name): unavailable"
                : "\(d.name): \(d.wouldCopy + d.wouldRename) to copy (\(Format.bytes(d.bytesToCopy)); \(d.wouldRename) under a _N name), \(d.alreadyThere) already there"
        }.joined(separator: "; ")
    }

    public struct PerDestination: Sendable {
        public var name: String
        public var displayName: String
        /// Already recorded in the ledger as copied there (not asked again).
        public var inLedger = 0
        /// Would be copied under their own name, or under `<stem>_N<ext>` (a different file
        /// holds the name), with their bytes.
        public var wouldCopy = 0
        public var wouldCopyBytes: Int64 = 0
        public var wouldRename = 0
        public var wouldRenameBytes: Int64 = 0
        /// The same file is there already (see `compared`): would be recorded, not copied.
        public var alreadyThere = 0
        public var alreadyThereBytes: Int64 = 0
        /// Held back: waiting for their next attempt, or quarantined (`queue list`).
        public var waitingForRetry = 0
        public var quarantined = 0
        /// Would wait: the destination's free space minus `min_free_space_gb` is too small.
        public var waitingForSpace = 0
        /// Changed while they were read for comparison (still being written).
        public var changed = 0
        public var failed = 0
        /// What "already there" compared, as the destination says; nil if it was not asked.
        public var compared: String?
        /// Whether it was connected to: false when nothing was planned for it (like a real cycle,
        /// the dry run does not connect then), or when it could not be reached.
        public var asked = false
        /// Why the destination could not be asked (nil: it answered).
        public var unavailable: DestinationError?

        public var bytesToCopy: Int64 { wouldCopyBytes + wouldRenameBytes }
    }
}

extension SyncEngine {
    /// The dry run's second half: asks each destination, read-only, what it holds under the names
    /// the planned files would get (the transports' own probes: `lookUp`). Writes nothing, on a
    /// destination or in the state database; the space check reads free space only (no retention).
    func askDestinations(
        _ plan: CyclePlan, report: Discovery.Report, observer: any CycleObserver,
        summary: inout CycleSummary, log: Logger
    ) async {
        var dry = DryRunReport()
        (dry.eligible, dry.tooRecent, dry.hidden, dry.ignored) = (report.eligible.count, report.tooYoung, report.hidden, report.ignored)
        let candidates = report.eligible
        for (index, destination) in destinations.enumerated() {
            guard !Task.isCancelled else { break }
            var d = DryRunReport.PerDestination(name: destination.name, displayName: destination.displayName)
            d.quarantined = plan.quarantinedOn[index]
            d.waitingForRetry = plan.deferredOn[index] - d.quarantined
            d.inLedger = candidates.count - plan.count(for: index) - plan.deferredOn[index]
            defer { dry.destinations.append(d) }
            guard plan.count(for: index) > 0 else { continue }
            observer.phase("asking \(destination.name)")
            let session: any DestinationSession
            do { session = try await destination.connectReadOnly(progress: observer, logger: log) } catch {
                if Task.isCancelled || error.kind == .cancelled { break }
                d.unavailable = error
                unavailable(destination, error, summary: &summary, log: log)
                continue
            }
            summary.connectedDestinations.append(destination.name)
            d.asked = true
            var budget = await dryRunSpaceBudget(destination, session: session, log: log)
            // Names the dry run would fill: a later file of this run that wants one gets `_N`.
            var claimed = Set<FilePath>()
            let wanted = plan.needs[index].indices.filter { plan.needs[index][$0] }
            for chunk in wanted.chunked(by: chunkFiles) where !Task.isCancelled {
                var items: [TransferItem] = []
                for i in chunk {
                    let size = candidates.identities[i].size
                    if let b = budget {
                        guard size <= b else {
                            d.waitingForSpace += 1
                            continue
                        }
                        budget = b - size
                    }
                    items.append(plan.item(i, of: candidates, layout: layout))
                }
                guard !items.isEmpty else { continue }
                let lookUp: LookUp
                do { lookUp = try await session.lookUp(items, progress: observer) } catch {
                    if !(Task.isCancelled || error.kind == .cancelled) {
                        d.unavailable = error
                        unavailable(destination, error, summary: &summary, log: log)
                    }
                    break
                }
                d.compared = lookUp.compared
                for item in items {
                    var outcome = lookUp.outcomes[item.id]
                    if case let .wouldCopy(path, _)? = outcome, !claimed.insert(path).inserted {
                        outcome = .wouldCopy(remotePath: path, conflictIndex: Int.max) // the real run finds the next free _N
                    }
                    tally(outcome, item: item, into: &d, destination: destination, summary: &summary, log: log)
                }
            }
            await session.close()
        }
        summary.failed += dry.destinations.reduce(0) { $0 + $1.failed }
        summary.dryRun = dry
    }

    private func tally(
        _ outcome: LookUp.Outcome?, item: TransferItem, into d: inout DryRunReport.PerDestination,
        destination: any Destination, summary: inout CycleSummary, log: Logger
    ) {
        let file = item.localPath.displayString
        switch outcome {
        case let .wouldCopy(path, conflictIndex)?:
            if conflictIndex == 0 {
                d.wouldCopy += 1
                d.wouldCopyBytes += item.identity.size
            } else {
                d.wouldRename += 1
                d.wouldRenameBytes += item.identity.size
            }
            let name = conflictIndex == Int.max ? "\(path.displayString), as <stem>_N<ext> (another file of this run takes the name first)" : path.displayString
            log.notice("would copy \(file) → \(destination.name): \(name)\(conflictIndex > 0 && conflictIndex < Int.max ? " (a different file holds its name)" : "")")
        case let .alreadyPresent(path)?:
            d.alreadyThere += 1
            d.alreadyThereBytes += item.identity.size
            log.info("already there: \(file) = \(destination.name): \(path.displayString)")
        case .sourceChanged?:
            d.changed += 1
            log.info("\(file) changed while it was read (still being written?); it would wait for a later cycle")
        case let .failed(error)?:
            d.failed += 1
            summary.messages.append("\(destination.name): \(file): \(error)")
            log.warning("cannot tell whether \(destination.name) holds \(file): \(error)")
        case nil:
            d.failed += 1
            summary.messages.append("\(destination.name): \(file): no answer")
        }
    }

    /// A destination that could not be connected: recorded in the summary and logged (the real
    /// cycle and the dry run alike).
    func unavailable(_ destination: any Destination, _ error: DestinationError, summary: inout CycleSummary, log: Logger) {
        summary.unavailableDestinations.append(destination.name)
        summary.unavailableKinds[destination.name] = error.kind
        summary.messages.append("\(destination.name): \(error)")
        log.error(
            "destination \(destination.displayName) unavailable: \(error)",
            metadata: SyncEvent.destinationUnavailable.metadata(["destination": "\(destination.name)"]))
    }

    /// What the real cycle's space check would allow (free space minus the reserve), read only:
    /// nothing recorded, no retention run. Nil: no limit known, or the check is off.
    private func dryRunSpaceBudget(_ destination: any Destination, session: any DestinationSession, log: Logger) async -> Int64? {
        guard config.storageManagement.enableSpaceCheck else { return nil }
        do {
            guard let space = try await session.space() else { return nil }
            let budget = space.freeBytes - Int64(config.storageManagement.minFreeSpaceGB * 1e9)
            if config.storageManagement.enableRetention {
                log.info("\(destination.name): the dry run does not run retention; files beyond the free space are counted as waiting")
            }
            return budget
        } catch {
            log.warning("cannot read the free space of \(destination.displayName): \(error)")
            return nil
        }
    }
}
