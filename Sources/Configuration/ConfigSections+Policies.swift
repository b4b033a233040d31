/// The "delete_policy", "concurrency_control" and "schedule" sections.
extension ConfigReader {
    func readDeletePolicy(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.DeletePolicy {
        let object = try section(value, path, "delete_policy")
        var policy = Config.DeletePolicy()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "delete_sources": policy.deleteSources = try bool(value, path)
            case "delay_minutes": policy.delayMinutes = try minutes(value, path, zeroAllowed: true)
            case "enable_soft_delete": policy.enableSoftDelete = try bool(value, path)
            case "trash_retention_days": policy.trashRetentionDays = try number(value, path, unit: "days", minimum: 0, minimumAllowed: true, maximum: 36500)
            case "min_local_free_gb": policy.minLocalFreeGB = try number(value, path, unit: "GB", minimum: 0, minimumAllowed: true, maximum: 1_000_000)
            default: unhandled(key)
            }
        }
        return policy
    }

    func readConcurrencyControl(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.ConcurrencyControl {
        let object = try section(value, path, "concurrency_control")
        var control = Config.ConcurrencyControl()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "lock_file": control.lockFile = try absoluteFile(value, path)
            case "max_sync_duration_seconds": control.maxSyncDurationSeconds = try seconds(value, path, zeroAllowed: false)
            case "stop_timeout_seconds": control.stopTimeoutSeconds = try seconds(value, path, zeroAllowed: false)
            case "bandwidth_limit_bytes_per_second":
                control.bandwidthLimitBytesPerSecond = try number(value, path, unit: "bytes per second", minimum: 0, minimumAllowed: true, maximum: 1e12)
            case "bandwidth_schedule": control.bandwidthSchedule = try readBandwidthSchedule(value, path)
            case "parallel_transfers": control.parallelTransfers = try integer(value, path, 1...32)
            case "batch_max_files": control.batchMaxFiles = try integer(value, path, 1...1_000_000)
            case "batch_max_megabytes": control.batchMaxMegabytes = try integer(value, path, 1...1_048_576)
            default: unhandled(key)
            }
        }
        if control.bandwidthSchedule != nil, object.contains("bandwidth_limit_bytes_per_second") {
            throw ConfigError(
                kind: .invalidValue, file: source, keyPath: path.appending("bandwidth_schedule").description,
                message: "set either bandwidth_limit_bytes_per_second or bandwidth_schedule, not both "
                    + "(a limit all day is the schedule \"2M\"; null or no key: no schedule)",
                expected: "only one of bandwidth_limit_bytes_per_second and bandwidth_schedule", found: "both")
        }
        return control
    }

    static let bandwidthScheduleExpected =
        "a schedule such as \"08:00,2M 19:00,off\" (space-separated HH:MM,RATE entries in local time, "
        + "optionally Mon-HH:MM; RATE 512k, 2M, 1G or off) or null"

    /// A `bandwidth_schedule` (rclone's --bwlimit syntax), or nil for null; the message names the bad entry.
    func readBandwidthSchedule(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> BandwidthSchedule? {
        guard let text = try optionalString(value, path, Self.bandwidthScheduleExpected) else { return nil }
        do {
            return try BandwidthSchedule.parse(text)
        } catch {
            throw ConfigError(
                kind: .invalidValue, file: source, keyPath: path.description,
                message: "\(error.entry.isEmpty ? "" : "entry ")\(error); expected \(Self.bandwidthScheduleExpected)",
                expected: Self.bandwidthScheduleExpected, found: value.found)
        }
    }

    func readSchedule(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.Schedule {
        let object = try section(value, path, "schedule")
        var schedule = Config.Schedule()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "interval_minutes": schedule.intervalMinutes = try minutes(value, path, zeroAllowed: false)
            case "watch": schedule.watch = try bool(value, path)
            default: unhandled(key)
            }
        }
        return schedule
    }
}
