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
/// ``MemoryKeyCache`` keeps them per replica (an edit elsewhere applies within its TTL); the
/// scale-out issue adds invalidation across replicas behind the same protocol.
package protocol KeyCache: Sendable {
    /// The entry for a key's hash, if one is cached and fresh.
    func key(hash: String) -> CachedKey?
    func store(_ entry: CachedKey, hash: String)
    /// A user's overrides, if cached and fresh (`.some(nil)`: the user has none).
    func userLimits(_ userID: String) -> UserLimits??
    func store(_ limits: UserLimits?, userID: String)
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

    private let keys = LockedValue<[String: Entry<CachedKey>]>([:])
    private let users = LockedValue<[String: Entry<UserLimits?>]>([:])
    private let ttl: Duration
    private let capacity: Int

    /// - Parameters:
    ///   - ttl: how long an entry is trusted (`auth.key_cache_ttl_s`).
    ///   - capacity: entries kept before the cache starts over.
    package init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    package func key(hash: String) -> CachedKey? {
        let now = ContinuousClock.now
        return keys.withLock { $0[hash] }.flatMap { $0.expires > now ? $0.value : nil }
    }

    package func store(_ entry: CachedKey, hash: String) {
        let expires = ContinuousClock.now + ttl
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys[hash] = Entry(value: entry, expires: expires)
        }
    }

    package func userLimits(_ userID: String) -> UserLimits?? {
        let now = ContinuousClock.now
        guard let entry = users.withLock({ $0[userID] }), entry.expires > now else { return nil }
        return .some(entry.value)
    }

    package func store(_ limits: UserLimits?, userID: String) {
        let expires = ContinuousClock.now + ttl
        users.withLock { users in
            if users.count >= capacity { users.removeAll(keepingCapacity: true) }
            users[userID] = Entry(value: limits, expires: expires)
        }
    }

    package func invalidate(keyHash: String) {
        keys.withLock { $0[keyHash] = nil }
    }

    package func invalidate(userID: String) {
        users.withLock { $0[userID] = nil }
        keys.withLock { keys in keys = keys.filter { $0.value.value.key?.userID != userID } }
    }

    package func invalidateAllKeys() {
        keys.withLock { $0.removeAll(keepingCapacity: true) }
    }
}
