import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

extension SyncEngine {
    /// Rates the daemon after a cycle, logs alerts (raised/resolved, with suppression) and writes
    /// the Prometheus textfile.
    func assessHealth(_ summary: inout CycleSummary, log: Logger) {
        do {
            let report = try HealthEvaluator.evaluate(store: store, config: config, now: clock())
            summary.health = report
            summary.alerts = try AlertDecider.decide(report, store: store, suppressionMinutes: config.health.alertSuppressionMinutes, now: clock())
            for alert in summary.alerts {
                if alert.state == "raised" {
                    log.log(level: alert.level == "critical" ? .critical : .warning, "ALERT \(alert.level): \(alert.message)",
                            metadata: SyncEvent.alertRaised.metadata(["rule": "\(alert.rule)", "alert_level": "\(alert.level)"]))
                } else {
                    log.notice("alert resolved: \(alert.rule)", metadata: SyncEvent.alertResolved.metadata(["rule": "\(alert.rule)"]))
                }
            }
            if let path = config.health.prometheusTextfile {
                try AtomicFile.write(Array(MetricsText.render(report, last: summary).utf8), to: FilePath(path))
            }
        } catch {
            log.error("cannot assess health: \(error)")
        }
    }

}
