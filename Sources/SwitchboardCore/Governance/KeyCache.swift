/// A virtual key as authentication last read it: the key (or that there is none), the keys that
/// made it, and its user's overrides.
public struct CachedKey: Sendable {
    public var key: VirtualKey?
    /// The keys that made this one, nearest first (empty for keys an admin made).
    public var makers: [VirtualKey]
    public var userLimits: UserLimits?

    public init(key: VirtualKey?, makers: [VirtualKey] = [], userLimits: UserLimits?) {
        self.key = key
        self.makers = makers
        self.userLimits = userLimits
    }
}

/// Looked-up keys and user overrides, trusted for a while so most requests need no store read.
///
/// ``MemoryKeyCache`` keeps them per replica (an edit elsewhere applies within its TTL); the
/// scale-out issue adds invalidation across replicas behind the same protocol.
public protocol KeyCache: Sendable {
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
public final class MemoryKeyCache: KeyCache {
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
    public init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    public func key(hash: String) -> CachedKey? {
        let now = ContinuousClock.now
        return keys.withLock { $0[hash] }.flatMap { $0.expires > now ? $0.value : nil }
    }

    public func store(_ entry: CachedKey, hash: String) {
        let expires = ContinuousClock.now + ttl
        keys.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys[hash] = Entry(value: entry, expires: expires)
        }
    }

    public func userLimits(_ userID: String) -> UserLimits?? {
        let now = ContinuousClock.now
        guard let entry = users.withLock({ $0[userID] }), entry.expires > now else { return nil }
        return .some(entry.value)
    }

    public func store(_ limits: UserLimits?, userID: String) {
        let expires = ContinuousClock.now + ttl
        users.withLock { users in
            if users.count >= capacity { users.removeAll(keepingCapacity: true) }
            users[userID] = Entry(value: limits, expires: expires)
        }
    }

    public func invalidate(keyHash: String) {
        keys.withLock { $0[keyHash] = nil }
    }

    public func invalidate(userID: String) {
        users.withLock { $0[userID] = nil }
        keys.withLock { keys in keys = keys.filter { $0.value.value.key?.userID != userID } }
    }

    public func invalidateAllKeys() {
        keys.withLock { $0.removeAll(keepingCapacity: true) }
    }
}
