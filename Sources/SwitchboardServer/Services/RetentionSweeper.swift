import Logging
import ServiceLifecycle
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Deletes request-log rows older than `request_log.retention_days`, at start and then every
/// `sweep_interval_s`. Spend totals live in their own table and are not touched.
struct RetentionSweeper: Service {
    let store: any GovernanceStore
    let retentionDays: Int
    let interval: Duration
    let logger: Logger

    func run() async throws {
        guard retentionDays > 0 else { return }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            do {
                try await cancelOnGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    func sweep() async {
        let cutoff = Date().timeIntervalSince1970 - Double(retentionDays) * 86_400
        do {
            let deleted = try await store.deleteRecords(before: cutoff)
            if deleted > 0 {
                logger.info("retention sweep", metadata: ["deleted": "\(deleted)", "older_than_days": "\(retentionDays)"])
            }
        } catch {
            logger.error("retention sweep failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }
}
