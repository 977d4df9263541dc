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

/// The rate limiter the configuration asks for: this process's buckets, or Redis's, shared by
/// every replica (then also a Service that settles, probes and closes the client).
struct SharedLimitsAssembly {
    let limiter: any RateLimiting
    let services: [any Service]

    static func make(_ config: GatewayConfig, metricsFactory: any MetricsFactory, logger: Logger) throws(ConfigError) -> SharedLimitsAssembly {
        guard config.limits.shared == .redis, let url = config.limits.redisURL ?? config.cache.redisURL else {
            return SharedLimitsAssembly(limiter: RateLimiter(), services: [])
        }
        let redis = try ResponseCacheAssembly.redisConfiguration(
            url: url, setting: config.limits.redisURL == nil ? "cache.redis_url" : "limits.redis_url", password: config.cache.redisPassword,
            timeoutMilliseconds: config.limits.redisTimeoutMilliseconds, connections: config.cache.redisMaxConnections
        )
        let limiter = RedisRateLimiter(
            client: RedisClient(configuration: redis, group: MultiThreadedEventLoopGroup.singleton), prefix: config.limits.redisPrefix,
            failure: config.limits.redisFailure, metricsFactory: metricsFactory, logger: logger
        )
        logger.info("rate limits shared through Redis", metadata: ["redis": "\(redis.redacted)", "failure": "\(config.limits.redisFailure.rawValue)"])
        return SharedLimitsAssembly(limiter: limiter, services: [limiter])
    }

    /// The key cache: this replica's, told of every other replica's invalidations through Redis
    /// whenever a Redis is configured (for limits or the cache), so a revoked key stops working
    /// everywhere at once.
    static func keyCache(
        _ config: GatewayConfig, local: MemoryKeyCache, logger: Logger
    ) throws(ConfigError) -> (cache: any KeyCache, services: [any Service]) {
        guard let url = config.limits.redisURL ?? config.cache.redisURL else { return (local, []) }
        var redis = try ResponseCacheAssembly.redisConfiguration(
            url: url, setting: config.limits.redisURL == nil ? "cache.redis_url" : "limits.redis_url", password: config.cache.redisPassword,
            timeoutMilliseconds: 1000, connections: 1
        )
        redis.maxReconnectBackoff = .seconds(1)
        let cache = BroadcastKeyCache(
            local: local, client: RedisClient(configuration: redis, group: MultiThreadedEventLoopGroup.singleton),
            subscriber: RedisSubscriber(
                configuration: redis, channel: config.limits.redisPrefix + "key-invalidations", group: MultiThreadedEventLoopGroup.singleton
            ),
            replica: UUID().uuidString, logger: logger
        )
        return (cache, [cache])
    }
}
