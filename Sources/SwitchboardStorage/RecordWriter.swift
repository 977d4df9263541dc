public import Logging
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// Takes finished-request records off the hot path and writes them to the store in batches.
///
/// `record` only appends to a bounded in-memory queue and never waits. A background `run`
/// drains it in batches. When the queue is full the newest record is dropped and counted
/// (`dropped`); on graceful shutdown `run` writes everything still queued before it returns.
public final class RecordWriter: RequestRecordSink, Service {
    private struct State {
        var queue: [RequestRecord] = []
        var dropped = 0
        var written = 0
        var failed = 0
        /// Batches taken off the queue and not yet written.
        var inFlight = 0
    }

    private let store: any RequestLogStore
    private let capacity: Int
    private let batchSize: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(store: any RequestLogStore, capacity: Int = 50_000, batchSize: Int = 500, logger: Logger) {
        self.store = store
        self.capacity = capacity
        self.batchSize = batchSize
        self.logger = logger
        (self.wakeups, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func record(_ record: RequestRecord) {
        let accepted = state.withLock { state in
            guard state.queue.count < capacity else {
                state.dropped += 1
                return false
            }
            state.queue.append(record)
            return true
        }
        if accepted {
            wake.yield()
        } else {
            logger.warning("request log queue full; record dropped", metadata: ["request_id": "\(record.requestID)"])
        }
    }

    /// Records waiting to be written.
    public var pending: Int { state.withLock { $0.queue.count } }
    /// Records dropped because the queue was full.
    public var dropped: Int { state.withLock { $0.dropped } }
    /// Records written to the store.
    public var written: Int { state.withLock { $0.written } }

    /// Returns once everything recorded before the call is in the store (or a write failed).
    public func flush() async {
        let failuresBefore = state.withLock { $0.failed }
        while true {
            await drain()
            let (idle, failures) = state.withLock { ($0.queue.isEmpty && $0.inFlight == 0, $0.failed) }
            if idle || failures > failuresBefore { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await drain()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        // Anything recorded while shutting down is still written.
        await drain()
    }

    /// Writes everything queued now, in batches.
    public func drain() async {
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
                try await store.insert(batch)
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
