package import Logging
import ServiceLifecycle
package import SwitchboardCore
import SwitchboardRedis
import Synchronization

/// The response cache over a shared store (Redis), falling back to memory while it is away.
///
/// Lookups go to the shared store; the first failure (unreachable, timed out, garbled) marks it
/// down — logged once, `cache_backend_up 0` — and from then on the in-memory cache takes the
/// lookups and stores. A probe every `probeInterval` pings the store and switches back when it
/// answers. A store that hangs costs a request at most the client's command timeout, once.
///
/// Stores never block the request: they are queued and written by ``run()`` (a Service), at most
/// `maxWritesInFlight` at a time; a full queue drops the write (counted as skipped).
///
/// With a semantic index, the store's listed vectors are loaded into it once the store first
/// answers (a restarted replica finds what was cached before), then every `vectorSyncInterval`
/// the ones other replicas stored since; every `vectorPruneInterval` the list drops entries that
/// are gone.
package final class FallbackResponseCache: ResponseCache, Service {
    private let shared: any SharedCacheBackend
    private let memory: MemoryResponseCache
    private let metrics: CacheMetrics
    private let logger: Logger
    private let probeInterval: Duration
    private let sizeInterval: Duration
    private let maxWritesInFlight: Int
    private let now: @Sendable () -> Double
    private let index: SemanticIndex?
    private let vectorSyncInterval: Duration
    private let vectorPruneInterval: Duration

    private let health = BackendHealth()
    private let inFlight = Atomic<Int>(0)
    private let writes: AsyncStream<CachedAnswer>
    private let writer: AsyncStream<CachedAnswer>.Continuation

    package var backend: String { "redis" }

    package init(
        shared: any SharedCacheBackend, memory: MemoryResponseCache, metrics: CacheMetrics, logger: Logger,
        probeInterval: Duration = .milliseconds(500), sizeInterval: Duration = .seconds(30), queueCapacity: Int = 4096,
        maxWritesInFlight: Int = 256, index: SemanticIndex? = nil, vectorSyncInterval: Duration = .seconds(2),
        vectorPruneInterval: Duration = .seconds(300), now: @escaping @Sendable () -> Double
    ) {
        self.shared = shared
        self.memory = memory
        self.metrics = metrics
        self.logger = logger
        self.probeInterval = probeInterval
        self.sizeInterval = sizeInterval
        self.maxWritesInFlight = max(1, maxWritesInFlight)
        self.now = now
        self.index = index
        self.vectorSyncInterval = vectorSyncInterval
        self.vectorPruneInterval = vectorPruneInterval
        (writes, writer) = AsyncStream.makeStream(of: CachedAnswer.self, bufferingPolicy: .bufferingOldest(max(1, queueCapacity)))
    }

    /// Whether lookups go to the shared store now.
    package var isBackendUp: Bool { health.isUp }

    package func entry(_ key: String, now: Double) async -> CachedAnswer? {
        if isBackendUp {
            do {
                guard let entry = try await shared.entry(key), entry.expiresAt > now else { return nil }
                return entry
            } catch {
                markDown(error)
            }
        }
        return await memory.entry(key, now: now)
    }

    package func store(_ entry: CachedAnswer) -> Bool {
        guard entry.bytes <= memory.maxEntryBytes else { return false }
        guard isBackendUp else { return memory.store(entry) }
        if case .dropped = writer.yield(entry) { metrics.count(.store, .skipped) }
        return true
    }

    package func remove(_ key: String) async -> Bool {
        let local = await memory.remove(key)
        guard isBackendUp else { return local }
        do {
            return try await shared.remove(key) || local
        } catch {
            markDown(error)
            return local
        }
    }

    package func removeAll(scope: String?, model: String?) async -> Int {
        let local = await memory.removeAll(scope: scope, model: model)
        guard isBackendUp else { return local }
        do {
            return try await shared.removeAll(scope: scope, model: model) + local
        } catch {
            markDown(error)
            return local
        }
    }

    package func stats() async -> ResponseCacheStats {
        var stats = await memory.stats()
        if isBackendUp {
            do {
                let size = try await shared.size()
                stats.entries = size.entries
                stats.bytes = size.bytes
                metrics.update(stats)
                return stats
            } catch {
                markDown(error)
            }
        }
        stats.backendUp = false
        return stats
    }

    /// Writes queued stores, probes a store that is down and refreshes the size gauges, until
    /// graceful shutdown; then finishes the queued writes and closes the client.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watch() }
            await withGracefulShutdownHandler {
                for await entry in writes {
                    guard isBackendUp else {
                        _ = memory.store(entry)
                        continue
                    }
                    if inFlight.add(1, ordering: .relaxed).newValue > maxWritesInFlight {
                        await write(entry)
                    } else {
                        group.addTask { await self.write(entry) }
                    }
                }
            } onGracefulShutdown: {
                self.writer.finish()
            }
            group.cancelAll()
        }
        await shared.shutdown()
    }

    private func write(_ entry: CachedAnswer) async {
        defer { inFlight.subtract(1, ordering: .relaxed) }
        do {
            try await shared.store(entry, now: now())
        } catch {
            if let refused = error as? RedisError, case .server = refused {
                // Redis answered but refused (OOM, READONLY): the store is skipped, Redis is not down.
                metrics.count(.store, .skipped)
                return
            }
            markDown(error)
            _ = memory.store(entry)
        }
    }

    private func watch() async {
        var vectors = VectorSync()
        do {
            // The first connect (TLS, AUTH) may take longer than a lookup's budget.
            try await shared.ping(patient: true)
            await syncVectors(&vectors)
        } catch {
            markDown(error)
        }
        var sinceSize = Duration.zero
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: probeInterval)
            } catch {
                return
            }
            sinceSize += probeInterval
            vectors.sinceSync += probeInterval
            vectors.sincePrune += probeInterval
            if !isBackendUp {
                do {
                    try await shared.ping(patient: true)
                    markUp()
                } catch {}
                continue
            }
            if sinceSize >= sizeInterval {
                sinceSize = .zero
                _ = await stats()
            }
            if vectors.sinceSync >= vectorSyncInterval { await syncVectors(&vectors) }
        }
    }

    /// Where the vector list was read up to.
    private struct VectorSync {
        /// The latest storage time listed; `nil` before the first read.
        var latest: Double?
        var loaded = false
        var sinceSync = Duration.zero
        var sincePrune = Duration.zero
        /// The last read failed (logged once until one succeeds).
        var failing = false
    }

    /// Stores from another replica (or queued here) may land a little after a later one: each
    /// read goes this far back before the latest time seen. What the index has is skipped.
    private static let vectorOverlapSeconds = 10.0

    private func syncVectors(_ sync: inout VectorSync) async {
        guard let index else { return }
        sync.sinceSync = .zero
        do {
            let since = sync.loaded ? sync.latest.map { $0 - Self.vectorOverlapSeconds } : nil
            // The first read takes the newest the index can hold, not the whole list.
            let listed = try await shared.vectors(storedSince: since, newest: sync.loaded ? nil : index.maxEntries) { partition, key in
                index.contains(key, partition: partition)
            }
            let now = now()
            for stored in listed.vectors.sorted(by: { $0.expiresAt < $1.expiresAt }) where stored.expiresAt > now {
                index.add(stored.vector.values, key: stored.key, partition: stored.vector.partition, expiresAt: stored.expiresAt, replacing: false)
            }
            if !sync.loaded, !listed.vectors.isEmpty {
                logger.info("semantic cache vectors loaded from the shared store", metadata: ["vectors": "\(listed.vectors.count)"])
            }
            sync.loaded = true
            sync.failing = false
            sync.latest = listed.latest ?? sync.latest
            if sync.sincePrune >= vectorPruneInterval {
                sync.sincePrune = .zero
                _ = try await shared.pruneVectors()
            }
        } catch {
            // Background work: a failed read is tried again at the next interval and never sends
            // the lookups to memory (the lookups themselves decide whether Redis is away).
            if !sync.failing {
                sync.failing = true
                logger.warning("semantic cache vectors could not be read from the shared store", metadata: ["error": "\(error)"])
            }
        }
    }

    private func markDown(_ error: any Error) {
        guard health.markDown() else { return }
        metrics.backend(up: false)
        logger.warning("cache backend unreachable; serving from memory until it answers", metadata: [
            "backend": "\(backend)", "error": "\(error)",
        ])
    }

    private func markUp() {
        guard health.markUp() else { return }
        metrics.backend(up: true)
        logger.info("cache backend answers again", metadata: ["backend": "\(backend)"])
    }
}
