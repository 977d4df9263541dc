package import Logging
package import Metrics
package import ServiceLifecycle
package import SwitchboardCore
import Synchronization

/// Lands conversation writes off the call's path, in the order they were sent, each in one
/// transaction; a reader of a conversation waits (``settled(owner:conversationID:)``) for the
/// writes sent for it before it reads, so a client sees its own turn at once. On shutdown
/// every queued write is written before the database closes.
package final class ConversationWriter: ConversationJournal, Service {
    private struct State {
        var queue: [ConversationWrite] = []
        /// Writes queued or in flight per conversation, and who waits for them.
        var pending: [String: Int] = [:]
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
        var written = 0
        var failed = 0
        /// Owner → when their data was erased (kept a day: longer than any turn runs).
        var erasures: [String: Double] = [:]
    }

    private let store: any ConversationStore
    private let logger: Logger
    private let failures: Counter?
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Pauses between attempts at one write while the database is away.
    private let retryDelays: [Duration]

    package init(
        store: any ConversationStore, metricsFactory: (any MetricsFactory)? = nil, logger: Logger,
        retryDelays: [Duration] = [.milliseconds(50), .milliseconds(250), .seconds(1)], capacity: Int = 10_000
    ) {
        self.capacity = capacity
        self.store = store
        self.logger = logger
        self.retryDelays = retryDelays
        self.failures = metricsFactory.map { Counter(label: "conversation_writes_failed_total", factory: $0) }
        (self.wakeups, self.wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    private static func key(_ owner: String, _ conversationID: String) -> String { owner + "\u{0}" + conversationID }

    package func enqueue(_ write: ConversationWrite) {
        state.withLock { state in
            state.queue.append(write)
            state.pending[Self.key(write.owner, write.conversationID), default: 0] += 1
        }
        wake.yield()
    }

    package func settled(owner: String, conversationID: String) async {
        let key = Self.key(owner, conversationID)
        guard state.withLock({ $0.pending[key] != nil }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                guard state.pending[key] != nil else { return true }
                state.waiters[key, default: []].append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    package func settled(owner: String) async {
        let prefix = owner + "\u{0}"
        let pending = state.withLock { state in state.pending.keys.filter { $0.hasPrefix(prefix) } }
        for key in pending {
            await settled(owner: owner, conversationID: String(key.dropFirst(prefix.count)))
        }
    }

    /// Writes queued past this refuse new turns (each holds a turn's messages in memory).
    private let capacity: Int

    package var isBacklogged: Bool { state.withLock { $0.queue.count >= capacity } }

    package func erased(owner: String, at time: Double) {
        state.withLock { state in
            state.erasures = state.erasures.filter { time - $0.value < 86_400 }
            state.erasures[owner] = time
        }
    }

    package var written: Int { state.withLock { $0.written } }
    package var failed: Int { state.withLock { $0.failed } }

    /// Returns once everything queued so far is written (or given up on).
    package func flush() async {
        while state.withLock({ !$0.pending.isEmpty }) {
            await drain()
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    package func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await drain()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        await drain()
    }

    private func drain() async {
        while let write = state.withLock({ state in state.queue.isEmpty ? nil : state.queue.removeFirst() }) {
            let landed = await land(write)
            let waiting: [CheckedContinuation<Void, Never>] = state.withLock { state in
                if landed { state.written += 1 } else { state.failed += 1 }
                let key = Self.key(write.owner, write.conversationID)
                let left = (state.pending[key] ?? 1) - 1
                if left > 0 {
                    state.pending[key] = left
                    return []
                }
                state.pending[key] = nil
                return state.waiters.removeValue(forKey: key) ?? []
            }
            for waiter in waiting { waiter.resume() }
        }
    }

    private func land(_ write: ConversationWrite) async -> Bool {
        if let made = write.create, let erased = state.withLock({ $0.erasures[write.owner] }), made.createdAt <= erased {
            // The turn began before its owner's data was erased: it is not written.
            return true
        }
        var attempt = 0
        while true {
            do {
                try await store.apply(write)
                return true
            } catch {
                guard attempt < retryDelays.count else {
                    failures?.increment()
                    logger.error(
                        "a conversation write was given up after \(attempt + 1) attempts",
                        metadata: ["conversation_id": "\(write.conversationID)", "messages": "\(write.messages.count)", "error": "\(type(of: error))"]
                    )
                    return false
                }
                try? await Task.sleep(for: retryDelays[attempt])
                attempt += 1
            }
        }
    }
}
