/// One stored answer.
package struct CachedAnswer: Sendable {
    package var key: String
    package var scope: String
    /// The model as the client asked for it (for deleting by model).
    package var model: String
    package var response: ChatResponse
    package var usage: Usage
    /// Who served the original call.
    package var provider: String
    package var servedModel: String
    /// What the original call cost, when priced: what each hit saves.
    package var cost: Double?
    /// Seconds since 1970.
    package var storedAt: Double
    package var expiresAt: Double
    /// The entry's size as the cache counts it.
    package var bytes: Int
    /// A semantic entry's prompt vector: a shared store keeps it with the answer, so every
    /// replica's index can find the entry (at start and as others store). Memory drops it.
    package var vector: CachedVector?

    package init(
        key: String, scope: String, model: String, response: ChatResponse, usage: Usage, provider: String, servedModel: String,
        cost: Double?, storedAt: Double, expiresAt: Double, bytes: Int
    ) {
        self.key = key
        self.scope = scope
        self.model = model
        self.response = response
        self.usage = usage
        self.provider = provider
        self.servedModel = servedModel
        self.cost = cost
        self.storedAt = storedAt
        self.expiresAt = expiresAt
        self.bytes = bytes
    }
}

/// The prompt vector of a semantic entry and the partition it is searched in.
package struct CachedVector: Sendable, Hashable {
    package var partition: String
    package var values: [Float]

    package init(partition: String, values: [Float]) {
        self.partition = partition
        self.values = values
    }
}

/// A semantic entry's vector as a shared store lists it, without the answer.
package struct StoredVector: Sendable, Hashable {
    package var key: String
    package var expiresAt: Double
    package var vector: CachedVector

    package init(key: String, expiresAt: Double, vector: CachedVector) {
        self.key = key
        self.expiresAt = expiresAt
        self.vector = vector
    }
}

/// Counts a cache keeps about itself, for `GET /admin/cache/stats` and the metrics.
package struct ResponseCacheStats: Sendable, Hashable {
    package var entries: Int
    package var bytes: Int
    package var maxEntries: Int
    package var maxBytes: Int
    package var evictions: Int
    package var expired: Int
    /// Whether the configured store answers (always for memory; `false` while Redis is away and
    /// the figures are the in-memory fallback's).
    package var backendUp = true

    package init(entries: Int, bytes: Int, maxEntries: Int, maxBytes: Int, evictions: Int, expired: Int) {
        self.entries = entries
        self.bytes = bytes
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.evictions = evictions
        self.expired = expired
    }
}

/// Where cached answers live. Today's implementation is in memory (``MemoryResponseCache``);
/// a shared one (Redis) goes behind the same protocol.
package protocol ResponseCache: Sendable {
    /// The live entry for `key`, if any (an expired one is removed and not returned).
    func entry(_ key: String, now: Double) async -> CachedAnswer?
    /// Stores an entry; `false` when it is larger than the cache takes. Never blocks: a shared
    /// backend queues the write.
    func store(_ entry: CachedAnswer) -> Bool
    /// Removes one entry; whether it was there.
    func remove(_ key: String) async -> Bool
    /// Removes every entry matching both filters (`nil`: any); how many were removed.
    func removeAll(scope: String?, model: String?) async -> Int
    func stats() async -> ResponseCacheStats
    /// The backend's name for stats (`memory`, `redis`).
    var backend: String { get }
}
