import Configuration
import Foundation
import Hashing
import LocalFS
import Logging
import SystemPackage

extension SyncEngine {
    /// Rates the daemon after a cycle, logs alerts (raised/resolved, with suppression) and writes
    /// the Prometheus textfile. A cancelled cycle (Ctrl-C, SIGTERM) raises and resolves nothing:
    /// stopping is not a fault, and half a cycle says little about one.
    func assessHealth(_ summary: inout CycleSummary, log: Logger) {
        do {
            try recordHealthFacts(summary)
        } catch {
            log.error("cannot record the cycle's health facts: \(error)")
        }
        var report: HealthReport
        do {
            report = try HealthEvaluator.evaluate(store: store, config: config, now: clock())
        } catch {
            log.error("cannot assess health: state database: \(error)")
            return
        }
        if let path = config.health.prometheusTextfile {
            // A metrics file that cannot be written is a finding of its own (monitoring is blind).
            var problem: String?
            do {
                let fleet = try store.fleetMetrics(destinations: destinationNames)
                try AtomicFile.write(Array(MetricsText.render(report, last: summary, fleet: fleet).utf8), to: FilePath(path))
            } catch {
                problem = "cannot write the metrics file \(path): \(error)"
                log.error("\(problem!)")
            }
            let before = try? store.meta(HealthEvaluator.metricsKey)
            if before != problem {
                do {
                    if let problem { try store.setMeta(HealthEvaluator.metricsKey, problem) } else { try store.deleteMeta(HealthEvaluator.metricsKey) }
                    report = try HealthEvaluator.evaluate(store: store, config: config, now: clock())
                } catch {
                    log.error("cannot record the metrics file's state: \(error)")
                }
            }
        }
        summary.health = report
        guard summary.status != .cancelled else { return }
        do {
            summary.alerts = try AlertDecider.decide(report, store: store, suppressionMinutes: config.health.alertSuppressionMinutes, now: clock())
        } catch {
            log.error("cannot decide alerts: state database: \(error)")
        }
        for alert in summary.alerts {
            if alert.state == "raised" {
                log.log(
                    level: alert.level == "critical" ? .critical : .warning, "ALERT \(alert.level): \(alert.message)",
                    metadata: SyncEvent.alertRaised.metadata(["rule": "\(alert.rule)", "alert_level": "\(alert.level)"]))
            } else {
                log.notice("alert resolved: \(alert.rule)", metadata: SyncEvent.alertResolved.metadata(["rule": "\(alert.rule)"]))
            }
        }
    }

    /// What health needs beyond the cycles table, kept in the state database so that `status`
    /// (another process) sees it too: why each destination was unavailable, and what the scan
    /// could not read. A cancelled cycle changes nothing it did not get to.
    func recordHealthFacts(_ summary: CycleSummary) throws {
        for name in destinationNames {
            let key = HealthEvaluator.unavailableKey + name
            if let kind = summary.unavailableKinds[name], summary.unavailableDestinations.contains(name) {
                try store.setMeta(key, kind.rawValue)
            } else if summary.status != .cancelled {
                try store.deleteMeta(key)
            }
            let full = HealthEvaluator.waitingKey + name
            if let waiting = summary.waitingForSpaceOn[name] {
                try store.setMeta(full, "\(waiting)")
            } else if summary.status != .cancelled {
                try store.deleteMeta(full)
            }
        }
        guard let roots = summary.unreadableMediaRoots else { return }
        for (key, lines) in [(HealthEvaluator.mediaRootsKey, roots), (HealthEvaluator.scanKey, summary.scanErrors)] {
            if lines.isEmpty { try store.deleteMeta(key) } else { try store.setMeta(key, lines.joined(separator: "\n")) }
        }
    }
}
