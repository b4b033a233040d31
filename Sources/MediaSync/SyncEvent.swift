import Logging

/// Fixed MESSAGE_IDs, so that `journalctl -u dji-media-sync MESSAGE_ID=<id>` finds each kind of
/// event. Never change an id once released: operators' alerting depends on them.
/// Documented in docs/operations.md.
public enum SyncEvent: String, CaseIterable, Sendable {
    case cycleStarted = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c01"
    case cycleFinished = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c02"
    case fileSynced = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c03"
    case verificationFailed = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c04"
    case sourceDeleted = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c05"
    case deleteVerificationFailed = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c06"
    case configReloaded = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c07"
    case configRejected = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c08"
    case fileFailed = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c09"
    case destinationUnavailable = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c0a"
    case nameConflict = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c0b"
    case tempReclaimed = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c0c"
    case fileQuarantined = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c0d"
    case destinationLowSpace = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c0e"
    case retentionDeleted = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c0f"
    case consistencyMismatch = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c10"
    case alertRaised = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c11"
    case alertResolved = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c12"
    case uploadResumed = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c13"
    case staleUploadsCleaned = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c14"
    case paused = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c15"
    case resumed = "7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c16"

    /// Metadata to attach to a log line: `logger.info("...", metadata: SyncEvent.fileSynced.metadata(...))`.
    public func metadata(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var m = extra
        m["message_id"] = .string(rawValue)
        return m
    }
}
