import Logging
import Metrics
import NIOPosix
import ServiceLifecycle
import SwitchboardCore
import SwitchboardRedis
import SwitchboardStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The response cache the configuration asks for: in memory, or Redis with the in-memory cache
/// as its fallback (then also a Service that writes, probes and closes the client).
struct ResponseCacheAssembly {
    let cache: any ResponseCache
    let metrics: CacheMetrics
    let services: [any Service]

    /// The Redis settings of `cache`, or `nil` when it names no Redis; throws for a bad URL
    /// (without echoing it: it may hold a password).
    static func redisConfiguration(_ cache: CacheConfig) throws(ConfigError) -> RedisConfiguration? {
        guard let url = cache.redisURL else { return nil }
        return try redisConfiguration(
            url: url, setting: "cache.redis_url", password: cache.redisPassword, timeoutMilliseconds: cache.redisTimeoutMilliseconds,
            connections: cache.redisMaxConnections
        )
    }

    /// A Redis's settings from its URL (`setting` names where it came from in errors).
    static func redisConfiguration(
        url: String, setting: String, password: String?, timeoutMilliseconds: Int, connections: Int
    ) throws(ConfigError) -> RedisConfiguration {
        var configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw ConfigError("`\(setting)` (or REDIS_URL) is not a Redis URL: \(error)")
        }
        if configuration.password == nil { configuration.password = password }
        configuration.commandTimeout = .milliseconds(timeoutMilliseconds)
        configuration.poolSize = connections
        configuration.maxReconnectBackoff = .seconds(2)
        return configuration
    }

    /// The semantic cache, when a model opts in: prompts embedded by the gateway's own
    /// embedding model (no ledger row, no caller's limits: it is the gateway's own lookup).
    static func semantic(
        _ config: CacheConfig, models: [String: ModelCacheConfig], gateway: Gateway, logger: Logger
    ) -> SemanticCache? {
        guard let model = config.semantic.embeddingModel, models.values.contains(where: { $0.semantic == true }) else { return nil }
        let index = SemanticIndex(
            maxEntries: config.semantic.maxEntries, graphThreshold: config.semantic.graphThreshold, searchBreadth: config.semantic.searchBreadth
        )
        return SemanticCache(settings: config.semantic, index: index) { text in
            let result = try await gateway.embeddings(
                EmbeddingsRequest(model: model, input: .text(text)), requestID: "semantic-cache", logger: logger
            )
            guard case .floats(let values)? = result.response.data.first?.embedding, !values.isEmpty else {
                throw SemanticEmbeddingError()
            }
            return values.map(Float.init)
        }
    }

    /// Redis whenever one is configured (keys may turn the cache on even when no model does);
    /// then the semantic `index` is kept in step with the vectors Redis lists.
    static func make(
        _ config: CacheConfig, redis: RedisConfiguration?, index: SemanticIndex?, metricsFactory: any MetricsFactory, logger: Logger
    ) -> ResponseCacheAssembly {
        guard let redis else {
            let metrics = CacheMetrics(factory: metricsFactory, backend: "memory")
            let memory = MemoryResponseCache(
                maxEntries: config.maxEntries, maxBytes: config.maxBytes, maxEntryBytes: config.maxEntryBytes, metrics: metrics
            )
            return ResponseCacheAssembly(cache: memory, metrics: metrics, services: [])
        }
        let metrics = CacheMetrics(factory: metricsFactory, backend: "redis")
        // The fallback's own figures are not the cache's: the gauges follow Redis.
        let memory = MemoryResponseCache(maxEntries: config.maxEntries, maxBytes: config.maxBytes, maxEntryBytes: config.maxEntryBytes)
        let client = RedisClient(configuration: redis, group: MultiThreadedEventLoopGroup.singleton)
        let cache = FallbackResponseCache(
            shared: RedisCacheBackend(client: client, prefix: config.redisPrefix), memory: memory, metrics: metrics, logger: logger,
            index: index, now: { Date().timeIntervalSince1970 }
        )
        logger.info("response cache on Redis", metadata: ["redis": "\(redis.redacted)"])
        return ResponseCacheAssembly(cache: cache, metrics: metrics, services: [cache])
    }
}

/// The embedding model answered, but not with one vector of floats.
struct SemanticEmbeddingError: Error {}
