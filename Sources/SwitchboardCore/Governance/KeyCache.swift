/// A virtual key as authentication last read it: the key (or that there is none), the keys that
/// made it, and its user's overrides.
package struct CachedKey: Sendable {
    package var key: VirtualKey?
    /// The keys that made this one, nearest first (empty for keys an admin made).
    package var makers: [VirtualKey]
    package var userLimits: UserLimits?

    package init(key: VirtualKey?, makers: [VirtualKey] = [], userLimits: UserLimits?) {
        self.key = key
        self.makers = makers
        self.userLimits = userLimits
    }
}

/// Looked-up keys and user overrides, trusted for a while so most requests need no store read.
///
/// ``MemoryKeyCache`` keeps them per replica (an edit elsewhere applies within its TTL); a
/// shared store adds invalidation across replicas behind the same protocol.
///
/// Every invalidation moves ``generation`` on. A lookup reads it before going to the store and
/// stores its answer only if no invalidation came meanwhile (`ifGeneration`): a key read just
/// before its revocation is never cached after it.
package protocol KeyCache: Sendable {
    /// Moves on with every invalidation.
    var generation: UInt64 { get }
    /// The entry for a key's hash, if one is cached and fresh.
    func key(hash: String) -> CachedKey?
    /// Caches a looked-up key, unless an invalidation came since `generation` was read.
    func store(_ entry: CachedKey, hash: String, ifGeneration generation: UInt64)
    /// A user's overrides, if cached and fresh (`.some(nil)`: the user has none).
    func userLimits(_ userID: String) -> UserLimits??
    func store(_ limits: UserLimits?, userID: String, ifGeneration generation: UInt64)
    func invalidate(keyHash: String)
    /// Forgets a user's overrides and every key of that user.
    func invalidate(userID: String)
    /// Forgets every key (after a change keys made by a key inherit).
    func invalidateAllKeys()
}

/// ``KeyCache`` in this process's memory, bounded against floods of made-up keys.
package final class MemoryKeyCache: KeyCache {
    private struct Entry<Value: Sendable>: Sendable {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private struct State: Sendable {
        var keys: [String: Entry<CachedKey>] = [:]
        var users: [String: Entry<UserLimits?>] = [:]
        var generation: UInt64 = 0
    }

    private let state = LockedValue(State())
    private let ttl: Duration
    private let capacity: Int

    /// - Parameters:
    ///   - ttl: how long an entry is trusted (`auth.key_cache_ttl_s`).
    ///   - capacity: entries kept before the cache starts over.
    package init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    package var generation: UInt64 { state.withLock { $0.generation } }

    package func key(hash: String) -> CachedKey? {
        let now = ContinuousClock.now
        return state.withLock { $0.keys[hash] }.flatMap { $0.expires > now ? $0.value : nil }
    }

    package func store(_ entry: CachedKey, hash: String, ifGeneration generation: UInt64) {
        let expires = ContinuousClock.now + ttl
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.keys.count >= capacity { state.keys.removeAll(keepingCapacity: true) }
            state.keys[hash] = Entry(value: entry, expires: expires)
        }
    }

    package func userLimits(_ userID: String) -> UserLimits?? {
        let now = ContinuousClock.now
        guard let entry = state.withLock({ $0.users[userID] }), entry.expires > now else { return nil }
        return .some(entry.value)
    }

    package func store(_ limits: UserLimits?, userID: String, ifGeneration generation: UInt64) {
        let expires = ContinuousClock.now + ttl
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.users.count >= capacity { state.users.removeAll(keepingCapacity: true) }
            state.users[userID] = Entry(value: limits, expires: expires)
        }
    }

    package func invalidate(keyHash: String) {
        state.withLock { state in
            state.generation &+= 1
            state.keys[keyHash] = nil
        }
    }

    package func invalidate(userID: String) {
        state.withLock { state in
            state.generation &+= 1
            state.users[userID] = nil
            state.keys = state.keys.filter { $0.value.value.key?.userID != userID }
        }
    }

    package func invalidateAllKeys() {
        state.withLock { state in
            state.generation &+= 1
            state.keys.removeAll(keepingCapacity: true)
        }
    }
}
