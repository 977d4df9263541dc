package import Logging
import ServiceLifecycle
package import SwitchboardCore
package import SwitchboardRedis
import Synchronization

/// The key cache of one replica, with its invalidations told to every other replica through a
/// Redis channel: a key revoked or edited on one replica is forgotten by the others within a
/// round trip, not at the end of their `auth.key_cache_ttl_s`.
///
/// Each invalidation is applied here at once and published (queued, off the request path) as
/// `<replica> key <hash>`, `<replica> user <id>` or `<replica> all`; what arrives from another
/// replica is applied to this one's cache. Whenever the subscription is (re)established —
/// at start, after Redis was away — every cached key is forgotten, since messages published
/// meanwhile are lost.
package final class BroadcastKeyCache: KeyCache, Service {
    private let local: MemoryKeyCache
    private let client: RedisClient
    private let subscriber: RedisSubscriber
    private let replica: String
    private let logger: Logger
    private let outbox: AsyncStream<String>
    private let sender: AsyncStream<String>.Continuation
    private let subscribed = Atomic<Int>(0)

    package init(local: MemoryKeyCache, client: RedisClient, subscriber: RedisSubscriber, replica: String, logger: Logger) {
        self.local = local
        self.client = client
        self.subscriber = subscriber
        self.replica = replica
        self.logger = logger
        (outbox, sender) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(4096))
    }

    /// How many times the subscription has been established (for tests and logs).
    package var subscriptions: Int { subscribed.load(ordering: .relaxed) }

    package var generation: UInt64 { local.generation }
    package func key(hash: String) -> CachedKey? { local.key(hash: hash) }
    package func store(_ entry: CachedKey, hash: String, ifGeneration generation: UInt64) {
        local.store(entry, hash: hash, ifGeneration: generation)
    }
    package func userLimits(_ userID: String) -> UserLimits?? { local.userLimits(userID) }
    package func store(_ limits: UserLimits?, userID: String, ifGeneration generation: UInt64) {
        local.store(limits, userID: userID, ifGeneration: generation)
    }

    package func invalidate(keyHash: String) {
        local.invalidate(keyHash: keyHash)
        sender.yield("key \(keyHash)")
    }

    package func invalidate(userID: String) {
        local.invalidate(userID: userID)
        sender.yield("user \(userID)")
    }

    package func invalidateAllKeys() {
        local.invalidateAllKeys()
        sender.yield("all")
    }

    /// Applies one message from the channel; its own are skipped (already applied).
    func receive(_ payload: [UInt8]) {
        let text = String(decoding: payload, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] != replica else { return }
        switch (parts[1], parts.count == 3 ? String(parts[2]) : nil) {
        case ("key", let hash?): local.invalidate(keyHash: hash)
        case ("user", let userID?): local.invalidate(userID: userID)
        case ("all", nil): local.invalidateAllKeys()
        default: logger.debug("key cache message not understood", metadata: ["channel": "\(subscriber.channel)"])
        }
    }

    /// Subscribes and publishes until graceful shutdown, then closes the client.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await self.subscriber.run(
                    onConnected: { [self] in
                        // Whatever was published while not subscribed is lost: start afresh.
                        local.invalidateAllKeys()
                        subscribed.add(1, ordering: .relaxed)
                    },
                    onMessage: { [self] _, payload in receive(payload) }
                )
            }
            await withGracefulShutdownHandler {
                for await message in outbox {
                    do {
                        _ = try await client.publish(Array("\(replica) \(message)".utf8), to: subscriber.channel)
                    } catch {
                        logger.warning("key cache invalidation not told to other replicas", metadata: ["error": "\(error)"])
                    }
                }
            } onGracefulShutdown: {
                self.sender.finish()
            }
            group.cancelAll()
        }
        await client.shutdown()
    }
}
