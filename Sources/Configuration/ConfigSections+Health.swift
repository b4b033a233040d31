/// The "health" and "consistency_check" sections.
extension ConfigReader {
    func readHealth(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.Health {
        let object = try section(value, path, "health")
        var health = Config.Health()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "max_minutes_without_success": health.maxMinutesWithoutSuccess = try minutes(value, path, zeroAllowed: false)
            case "min_success_rate": health.minSuccessRate = try number(value, path, unit: "fraction", minimum: 0, minimumAllowed: true, maximum: 1)
            case "destination_usage_warning": health.destinationUsageWarning = try number(value, path, unit: "fraction", minimum: 0, minimumAllowed: true, maximum: 1)
            case "destination_usage_critical": health.destinationUsageCritical = try number(value, path, unit: "fraction", minimum: 0, minimumAllowed: true, maximum: 1)
            case "alert_suppression_minutes": health.alertSuppressionMinutes = try minutes(value, path, zeroAllowed: true)
            case "webhook_url":
                health.webhookURL = try optionalString(value, path, "an http:// or https:// URL, or null")
                if let url = health.webhookURL, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                    throw invalid(path, "an http:// or https:// URL, or null", value)
                }
            case "webhook_timeout_seconds": health.webhookTimeoutSeconds = try seconds(value, path, zeroAllowed: false)
            case "prometheus_textfile":
                health.prometheusTextfile = try optionalString(value, path, "an absolute path ending in .prom, or null")
                if let file = health.prometheusTextfile, !(file.hasPrefix("/") && file.hasSuffix(".prom")) {
                    throw invalid(path, "an absolute path ending in .prom, or null", value)
                }
            default: unhandled(key)
            }
        }
        return health
    }

    func readConsistencyCheck(_ value: JSONValue, _ path: ConfigKeyPath) throws(ConfigError) -> Config.ConsistencyCheck {
        let object = try section(value, path, "consistency_check")
        var check = Config.ConsistencyCheck()
        for key in object.orderedKeys {
            let (value, path) = try entry(object, key)
            switch key {
            case "enable": check.enable = try bool(value, path)
            case "interval_hours": check.intervalHours = try number(value, path, unit: "hours", minimum: 0, minimumAllowed: false, maximum: 87600)
            case "lookback_hours": check.lookbackHours = try number(value, path, unit: "hours", minimum: 0, minimumAllowed: false, maximum: 87600)
            case "mode": check.mode = try choice(value, path, ["sha256", "size"])
            default: unhandled(key)
            }
        }
        return check
    }
}
