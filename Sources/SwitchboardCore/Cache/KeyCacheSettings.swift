/// A key's own cache settings (`cache` on the admin and `/me` key APIs), over the model's and the
/// `cache` section's.
///
/// `enabled: false` turns the cache off for the key's calls; `enabled: true` turns it on for
/// models that do not turn it off themselves. `scope` widens or narrows who shares the key's
/// entries; only an admin may set it (a user choosing `global` could read what others stored).
package struct KeyCacheSettings: Sendable, Hashable, Codable {
    package var enabled: Bool?
    package var ttlSeconds: Double?
    package var scope: CacheScope?

    package init(enabled: Bool? = nil, ttlSeconds: Double? = nil, scope: CacheScope? = nil) {
        self.enabled = enabled
        self.ttlSeconds = ttlSeconds
        self.scope = scope
    }

    package var isEmpty: Bool { enabled == nil && ttlSeconds == nil && scope == nil }

    enum CodingKeys: String, CodingKey {
        case enabled, scope
        case ttlSeconds = "ttl_s"
    }
}

extension CacheScope: Codable {}
