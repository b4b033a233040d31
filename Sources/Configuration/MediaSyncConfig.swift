/// The whole of `media_sync_config.json`. Every key is documented in docs/configuration.md.
/// Durations and sizes carry their unit in the key name.
public struct MediaSyncConfig: Sendable, Equatable {
    /// Where the daemon and `dji-media-sync config check` look when no `--config` is given.
    public static let defaultPath = "/etc/dji-media-sync/media_sync_config.json"

    public var local: Local
    public var destinations: [Destination]
    public var integrity: IntegrityChecks // "integrity_checks"
    public var deletePolicy: DeletePolicy // "delete_policy"
    public var concurrency: ConcurrencyControl // "concurrency_control"
    public var schedule: Schedule // "schedule"
    public var state: State // "state"
    public var logging: Logging // "logging"
    public var retryPolicy: RetryPolicy = .init() // "retry_policy"
    public var storageManagement: StorageManagement = .init() // "storage_management"
    public var consistencyCheck: ConsistencyCheck = .init() // "consistency_check"
    public var health: Health = .init() // "health"
    public var layout: Layout = .init() // "layout"

    /// "layout"
    public struct Layout: Sendable, Equatable {
        /// `{dock}` in remote paths; nil: the host name (made a safe folder name).
        public var dockID: String? = nil // "dock_id"
        public var remoteLayout: LayoutTemplate = .standard // "remote_layout"
        public init() {}
    }

    public init(
        local: Local, destinations: [Destination], integrity: IntegrityChecks = .init(),
        deletePolicy: DeletePolicy = .init(), concurrency: ConcurrencyControl = .init(),
        schedule: Schedule = .init(), state: State = .init(), logging: Logging = .init()
    ) {
        self.local = local
        self.destinations = destinations
        self.integrity = integrity
        self.deletePolicy = deletePolicy
        self.concurrency = concurrency
        self.schedule = schedule
        self.state = state
        self.logging = logging
    }

    /// "local"
    public struct Local: Sendable, Equatable {
        /// Absolute folders scanned recursively. Required, non-empty.
        public var mediaRoots: [String] // "media_roots"
        /// Lower-case, without the dot; matched case-insensitively.
        public var extensions: [String] = ["jpg", "jpeg", "dng", "mp4", "mov", "srt", "lrf"]
        /// A file is eligible only when its mtime is at least this old.
        public var minFileAgeSeconds: Double = 30 // "min_file_age_seconds"
        /// Skip names starting with "." (and everything below a hidden folder).
        public var skipHidden: Bool = true // "skip_hidden"
        /// Names ending with one of these are being written by someone and are skipped.
        public var temporarySuffixes: [String] = [".tmp", ".part", ".partial", ".crdownload", "~"] // "temporary_suffixes"
        public init(mediaRoots: [String]) { self.mediaRoots = mediaRoots }
    }

    /// One element of "destinations"; `type` selects the case.
    public enum Destination: Sendable, Equatable {
        case nas(NAS)
        case s3(S3)
        public var name: String {
            switch self {
            case .nas(let n): n.name
            case .s3(let s): s.name
            }
        }
    }

    /// A destination with "type": "s3": a bucket of an S3-compatible object store.
    public struct S3: Sendable, Equatable {
        public var name: String = "s3"
        /// One of ConfigLoader.s3Providers: decides host names and addressing style.
        public var provider: String
        public var bucket: String
        /// Required for aws, aliyun_oss and volcengine_tos; nil: the provider's default.
        public var region: String? = nil
        /// `https://host[:port]`; required for minio and generic, replaces the preset host otherwise.
        public var endpoint: String? = nil
        /// Cloudflare R2's account id (the host is `<account_id>.r2.cloudflarestorage.com`).
        public var accountID: String? = nil // "account_id"
        /// generic only: `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint host>/<key>`.
        public var pathStyle: Bool = false // "path_style"
        /// Keys are `<prefix>YYYY/MM/DD/<name>`; "" or ending with "/".
        public var prefix: String = ""
        /// An AWS shared-credentials file readable by its owner only; nil: the environment
        /// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
        public var credentialsFile: String? = nil // "credentials_file"
        public var credentialsProfile: String = "default" // "credentials_profile"
        /// Files of at least this many MiB go up in parts (resumable); smaller ones in one PUT.
        public var multipartThresholdMiB: Int = 16 // "multipart_threshold_mib"
        public var partSizeMiB: Int = 5 // "part_size_mib"
        /// Files below the multipart threshold in flight at once (each one request); larger files
        /// go one at a time with `parallel_parts` parts in flight.
        public var parallelFiles: Int = 4 // "parallel_files"
        /// Parts of one file in flight at once.
        public var parallelParts: Int = 4 // "parallel_parts"
        /// Tries of a failed part after the first, before the file fails for this cycle.
        public var partRetries: Int = 3 // "part_retries"
        public var connectTimeoutSeconds: Int = 10 // "connect_timeout_seconds"
        /// nil: the environment's http_proxy/https_proxy/no_proxy; "none": no proxy; or a URL.
        public var proxy: String? = nil
        /// A PEM bundle of CAs to trust instead of the system's (private endpoints).
        public var caFile: String? = nil // "ca_file"
        /// Incomplete multipart uploads under the prefix older than this are aborted by cleanup.
        public var abortStaleUploadsAfterHours: Double = 24 // "abort_stale_uploads_after_hours"
        /// How often the daemon runs that cleanup; 0: never (the `cleanup` command still works).
        public var cleanupIntervalHours: Double = 6 // "cleanup_interval_hours"
        /// Also run it when the daemon stops.
        public var cleanupOnShutdown: Bool = true // "cleanup_on_shutdown"
        /// This destination's own limit by time of day (the global one applies too).
        public var bandwidthSchedule: BandwidthSchedule? = nil // "bandwidth_schedule"
        public init(provider: String, bucket: String) {
            self.provider = provider
            self.bucket = bucket
        }
    }

    /// A destination with "type": "nas": a NAS reached with the OpenSSH client.
    public struct NAS: Sendable, Equatable {
        /// Stable name; the ledger records copies per destination name. Unique among destinations.
        public var name: String = "nas"
        public var host: String // required; must not start with "-"
        public var port: Int = 22
        /// nil: ssh's default (the current user, or ~/.ssh/config).
        public var user: String? = nil
        public var identityFile: String? = nil // "identity_file"
        /// Host keys are checked strictly against this file only.
        public var knownHostsFile: String = "/etc/dji-media-sync/known_hosts" // "known_hosts_file"
        /// Absolute folder on the NAS under which YYYY/MM/DD/<name> is laid out. Required.
        public var basePath: String // "base_path"
        public var connectTimeoutSeconds: Int = 10 // "connect_timeout_seconds"
        public var serverAliveIntervalSeconds: Int = 15 // "server_alive_interval_seconds"
        public var serverAliveCountMax: Int = 4 // "server_alive_count_max"
        /// Passed as `-c`; AES-GCM first: with AES-NI it is ~1.5x faster than chacha20 here.
        public var ciphers: String? = "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com"
        /// Each "Key=Value", passed as `-o Key=Value` after ours (ssh takes the first value given,
        /// so these cannot override the safety options).
        public var extraSSHOptions: [String] = [] // "extra_ssh_options"
        /// The ssh client executable.
        public var sshCommand: String = "ssh" // "ssh_command"
        /// nil: ssh's default config files; "none" ignores them.
        public var sshConfigFile: String? = nil // "ssh_config_file"
        /// "auto" picks the first of openssl, sha256sum, shasum, sha256 that the NAS has;
        /// or one of those names to force it.
        public var remoteHashCommand: String = "auto" // "remote_hash_command"
        /// How the NAS side runs: "inline" (the daemon sends dms-receive with each session; the
        /// key may run anything) or "installed" (authorized_keys runs dms-receive as a forced
        /// command; see docs/nas-receiver.md). One protocol either way.
        public var receiver: String = "inline" // "receiver"
        /// This destination's own limit by time of day (the global one applies too).
        public var bandwidthSchedule: BandwidthSchedule? = nil // "bandwidth_schedule"
        /// Files of at least this many bytes keep their temp file on the NAS after a lost
        /// connection, and the next attempt sends only the rest; 0: never.
        public var resumeMinBytes: Int = 64 << 20 // "resume_min_bytes"
        public init(host: String, basePath: String) {
            self.host = host
            self.basePath = basePath
        }
    }

    /// "integrity_checks"
    public struct IntegrityChecks: Sendable, Equatable {
        /// Only "sha256".
        public var checksumAlgorithm: String = "sha256" // "checksum_algorithm"
        /// Temporary names are <prefix><instance>-<random><suffix> in the destination folder.
        public var tempPrefix: String = ".dms-" // "temp_prefix"
        public var tempSuffix: String = ".part" // "temp_suffix"
        /// A transfer with no progress for this long is aborted (temp removed, retried later).
        public var transferTimeoutSeconds: Double = 300 // "transfer_timeout_seconds"
        /// A large file travelling alone is read back and hashed on the NAS while it is being
        /// written (needs GNU tail there), instead of in a second pass afterwards.
        public var hashWhileWriting: Bool = true // "hash_while_writing"
        /// How a copy is re-checked before its source is deleted: "sha256" or "size".
        public var verifyBeforeDelete: String = "sha256" // "verify_before_delete"
        public init() {}
    }

    /// "delete_policy"
    public struct DeletePolicy: Sendable, Equatable {
        /// false: sources are never deleted (queue entries end as "kept").
        public var deleteSources: Bool = true // "delete_sources"
        /// A verified source is deleted no sooner than this after it was verified.
        public var delayMinutes: Double = 60 // "delay_minutes"
        /// Move deleted sources into `<media root>/.dms-trash/` instead of unlinking them.
        public var enableSoftDelete: Bool = false // "enable_soft_delete"
        /// Trashed files are purged after this many days ...
        public var trashRetentionDays: Double = 7 // "trash_retention_days"
        /// ... or earlier, oldest first, while the edge disk has less than this many GB free.
        public var minLocalFreeGB: Double = 5 // "min_local_free_gb"
        public init() {}
    }

    /// "concurrency_control"
    public struct ConcurrencyControl: Sendable, Equatable {
        /// flock(2)ed for the length of every cycle; never unlinked.
        public var lockFile: String = "/run/dji-media-sync/sync.lock" // "lock_file"
        /// A cycle running longer than this is stopped cleanly and reported.
        public var maxSyncDurationSeconds: Double = 7200 // "max_sync_duration_seconds"
        /// On SIGTERM the transfer in flight is aborted and cleaned up within this bound; keep it
        /// below the unit's TimeoutStopSec (60).
        public var stopTimeoutSeconds: Double = 30 // "stop_timeout_seconds"
        /// Data sessions in flight at once (per destination).
        public var parallelTransfers: Int = 2 // "parallel_transfers"
        /// All transfers together send at most this many bytes per second; 0: no limit.
        public var bandwidthLimitBytesPerSecond: Double = 0 // "bandwidth_limit_bytes_per_second"
        /// The limit of all transfers together by time of day; nil: `bandwidthLimitBytesPerSecond`.
        public var bandwidthSchedule: BandwidthSchedule? = nil // "bandwidth_schedule"
        /// A batch (one data session) carries at most this many files ...
        public var batchMaxFiles: Int = 1000 // "batch_max_files"
        /// ... and at most this many MiB (a larger file travels alone).
        public var batchMaxMegabytes: Int = 256 // "batch_max_megabytes"
        public init() {}
    }

    /// "schedule"
    public struct Schedule: Sendable, Equatable {
        public var intervalMinutes: Double = 10 // "interval_minutes"
        /// Start a cycle soon after new media is closed in a media root (inotify), besides the timer.
        public var watch = true // "watch"
        public init() {}
    }

    /// "state"
    public struct State: Sendable, Equatable {
        /// Holds state.sqlite (ledger, delete queue, cycle history).
        public var directory: String = "/var/lib/dji-media-sync"
        /// Holds the ssh control sockets; keep the path short (unix sockets: 108 bytes).
        public var runtimeDirectory: String = "/run/dji-media-sync" // "runtime_directory"
        public init() {}
    }

    /// "retry_policy": per file, exponential backoff with jitter; persisted across restarts.
    public struct RetryPolicy: Sendable, Equatable {
        /// Wait after the first failure; doubles with each further failure ...
        public var baseDelaySeconds: Double = 60 // "base_delay_seconds"
        /// ... up to this.
        public var maxDelaySeconds: Double = 3600 // "max_delay_seconds"
        /// After this many failed attempts a file is quarantined (permanent errors at once).
        public var maxAttempts: Int = 10 // "max_attempts"
        /// Each wait is randomly shortened or lengthened by up to this fraction.
        public var jitterFraction: Double = 0.2 // "jitter_fraction"
        public init() {}
    }

    /// "storage_management": free space on the destination, and retention of old copies.
    public struct StorageManagement: Sendable, Equatable {
        /// Check the destination's free space before each cycle's transfers.
        public var enableSpaceCheck: Bool = true // "enable_space_check"
        /// Keep at least this much free on the destination (decimal GB).
        public var minFreeSpaceGB: Double = 10 // "min_free_space_gb"
        /// When short of space, delete the oldest copies this daemon placed (never anything else).
        public var enableRetention: Bool = false // "enable_retention"
        /// Only "oldest_first".
        public var cleanupStrategy: String = "oldest_first" // "cleanup_strategy"
        /// Copies younger than this are never deleted by retention.
        public var preserveRecentDays: Double = 30 // "preserve_recent_days"
        /// Retention deletes only these extensions (lower-case, no dot); empty: all media.
        public var extensions: [String] = []
        public init() {}
    }

    /// "consistency_check": re-verify recent copies on the destinations now and then.
    public struct ConsistencyCheck: Sendable, Equatable {
        public var enable: Bool = true
        /// How often (at most) a cycle runs the check.
        public var intervalHours: Double = 24 // "interval_hours"
        /// Copies made within this many hours are checked.
        public var lookbackHours: Double = 48 // "lookback_hours"
        /// "sha256" (read every byte on the destination) or "size".
        public var mode: String = "sha256"
        public init() {}
    }

    /// "health": when the daemon calls itself unhealthy, and where alerts go.
    public struct Health: Sendable, Equatable {
        /// Critical when no cycle succeeded for this long.
        public var maxMinutesWithoutSuccess: Double = 60 // "max_minutes_without_success"
        /// Warning when fewer cycles than this fraction succeeded in the last 24 h.
        public var minSuccessRate: Double = 0.8 // "min_success_rate"
        /// Warning / critical above these fractions of a destination's space in use.
        public var destinationUsageWarning: Double = 0.85 // "destination_usage_warning"
        public var destinationUsageCritical: Double = 0.95 // "destination_usage_critical"
        /// An alert that is still true is repeated at most this often.
        public var alertSuppressionMinutes: Double = 60 // "alert_suppression_minutes"
        /// JSON POST of every alert and resolution; nil: journald only.
        public var webhookURL: String? = nil // "webhook_url"
        public var webhookTimeoutSeconds: Double = 10 // "webhook_timeout_seconds"
        /// Prometheus text-format file for node_exporter's textfile collector; nil: none.
        public var prometheusTextfile: String? = nil // "prometheus_textfile"
        public init() {}
    }

    /// "logging"
    public struct Logging: Sendable, Equatable {
        /// trace, debug, info, notice, warning, error, critical
        public var level: String = "info"
        public init() {}
    }
}
