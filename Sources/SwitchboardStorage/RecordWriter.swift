package import Logging
package import Metrics
package import ServiceLifecycle
package import SwitchboardCore
import Synchronization

/// Takes finished-request records off the hot path and writes them to the store in batches.
///
/// `record` only appends to an in-memory queue and never waits. A background `run` drains it in
/// batches, redacting and trimming bodies on the way. Past `capacity` the writer sheds what is
/// optional and counts it (`request_log_shed_total`): rows that carry no spend (failed calls of
/// unbooked callers) are dropped, and spend rows lose their bodies but are always kept, so the
/// ledger and budgets never miss a call. On graceful shutdown `run` writes everything still
/// queued before it returns.
package final class RecordWriter: RequestRecordSink, Service {
    private struct State {
        var queue: [RequestRecord] = []
        var dropped = 0
        var bodiesShed = 0
        var written = 0
        var failed = 0
        /// Batches taken off the queue and not yet written.
        var inFlight = 0
    }

    private let store: any RequestLogStore
    private let capacity: Int
    private let batchSize: Int
    private let coalescing: Duration
    private let logger: Logger
    private let redactor: Redactor
    private let previewLimit: Int
    private let shedRows: Counter?
    private let shedBodies: Counter?
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameters:
    ///   - redactor: applied to bodies before they are stored.
    ///   - previewLimit: characters of each body kept (after redaction).
    package init(
        store: any RequestLogStore,
        capacity: Int = 50_000,
        batchSize: Int = 500,
        coalescing: Duration = .milliseconds(20),
        redactor: Redactor = Redactor(),
        previewLimit: Int = 2000,
        metricsFactory: (any MetricsFactory)? = nil,
        logger: Logger
    ) {
        self.store = store
        self.capacity = capacity
        self.batchSize = batchSize
        self.coalescing = coalescing
        self.redactor = redactor
        self.previewLimit = previewLimit
        self.shedRows = metricsFactory.map { Counter(label: "request_log_shed_total", dimensions: [("what", "row")], factory: $0) }
        self.shedBodies = metricsFactory.map { Counter(label: "request_log_shed_total", dimensions: [("what", "body")], factory: $0) }
        self.logger = logger
        (self.wakeups, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    package func record(_ record: RequestRecord) {
        enum Outcome { case queued, bodiesShed, dropped }
        let outcome: Outcome = state.withLock { state in
            guard state.queue.count >= capacity else {
                state.queue.append(record)
                return .queued
            }
            guard record.isSpend else {
                state.dropped += 1
                return .dropped
            }
            var record = record
            let hadBodies = record.requestBody != nil || record.responseBody != nil
            record.requestBody = nil
            record.responseBody = nil
            state.queue.append(record)
            if hadBodies { state.bodiesShed += 1 }
            return hadBodies ? .bodiesShed : .queued
        }
        switch outcome {
        case .queued:
            wake.yield()
        case .bodiesShed:
            shedBodies?.increment()
            wake.yield()
        case .dropped:
            shedRows?.increment()
            logger.warning("request log queue full; optional row shed", metadata: ["request_id": "\(record.requestID)"])
        }
    }

    /// Records waiting to be written.
    package var pending: Int { state.withLock { $0.queue.count } }

    /// The queue holds four times its capacity in rows that can't be shed (the database has been
    /// failing or far too slow for a while): new calls should wait rather than grow it further.
    package var isBacklogged: Bool { state.withLock { $0.queue.count >= capacity * 4 } }
    /// Optional rows dropped because the queue was full (spend rows never are).
    package var dropped: Int { state.withLock { $0.dropped } }
    /// Spend rows whose bodies were shed because the queue was full.
    package var bodiesShed: Int { state.withLock { $0.bodiesShed } }
    /// Records written to the store.
    package var written: Int { state.withLock { $0.written } }

    /// Returns once everything recorded before the call is in the store (or a write failed).
    package func flush() async {
        let failuresBefore = state.withLock { $0.failed }
        while true {
            await drain()
            let (idle, failures) = state.withLock { ($0.queue.isEmpty && $0.inFlight == 0, $0.failed) }
            if idle || failures > failuresBefore { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    package func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                // Let a few more rows arrive so one transaction carries them: at moderate rates
                // every request would otherwise be its own batch (a transaction and several
                // database round trips each). `flush()` and shutdown drain at once.
                if pending < batchSize { try? await Task.sleep(for: coalescing) }
                await drain()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        // Anything recorded while shutting down is still written.
        await drain()
    }

    /// Bodies redacted and cut to the preview length; done here, off the request path.
    private func prepared(_ batch: [RequestRecord]) -> [RequestRecord] {
        guard batch.contains(where: { $0.requestBody != nil || $0.responseBody != nil }) else { return batch }
        let compiled = redactor.compiled()
        return batch.map { record in
            var record = record
            record.requestBody = record.requestBody.map { compiled.preview($0, limit: previewLimit) }
            record.responseBody = record.responseBody.map { compiled.preview($0, limit: previewLimit) }
            return record
        }
    }

    /// Writes everything queued now, in batches.
    package func drain() async {
        while true {
            let batch: [RequestRecord] = state.withLock { state in
                let count = min(batchSize, state.queue.count)
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                if count > 0 { state.inFlight += 1 }
                return batch
            }
            if batch.isEmpty { return }
            do {
                try await store.insert(prepared(batch))
                state.withLock { state in
                    state.written += batch.count
                    state.inFlight -= 1
                }
            } catch {
                // Put the batch back at the front and stop; the next wake-up retries it.
                state.withLock { state in
                    state.failed += 1
                    state.inFlight -= 1
                    state.queue.insert(contentsOf: batch, at: 0)
                }
                logger.error("request log write failed; will retry", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
                return
            }
        }
    }
}
