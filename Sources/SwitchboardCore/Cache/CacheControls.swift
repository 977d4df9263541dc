/// What a request says about the response cache: the `Cache-Control` header and the body's
/// `cache` extension (`{no_cache, no_store, ttl_s, max_age_s}`), merged.
package struct CacheControls: Sendable, Hashable {
    /// Skip the lookup; the answer is still stored.
    package var noCache: Bool
    /// Do not store the answer (a stored one may still be served).
    package var noStore: Bool
    /// How long the stored answer lives, instead of the configured TTL.
    package var ttlSeconds: Double?
    /// Accept only an entry younger than this.
    package var maxAgeSeconds: Double?

    package init(noCache: Bool = false, noStore: Bool = false, ttlSeconds: Double? = nil, maxAgeSeconds: Double? = nil) {
        self.noCache = noCache
        self.noStore = noStore
        self.ttlSeconds = ttlSeconds
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// From a `Cache-Control` request header: `no-cache`, `no-store` and `max-age=N` are
    /// understood; other directives and malformed values are ignored.
    package init(header: String) {
        self.init()
        for part in header.split(separator: ",") {
            let directive = String(part.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()).lowercased()
            if directive == "no-cache" {
                noCache = true
            } else if directive == "no-store" {
                noStore = true
            } else if directive.hasPrefix("max-age=") {
                let value = directive.dropFirst("max-age=".count).filter { $0 != "\"" }
                if let seconds = Int(value), seconds >= 0 {
                    maxAgeSeconds = min(maxAgeSeconds ?? .infinity, Double(seconds))
                }
            }
        }
    }

    /// Both say it: either flag holds, the smaller `max-age` wins, this one's TTL before the other's.
    package func merged(with other: CacheControls?) -> CacheControls {
        guard let other else { return self }
        return CacheControls(
            noCache: noCache || other.noCache,
            noStore: noStore || other.noStore,
            ttlSeconds: ttlSeconds ?? other.ttlSeconds,
            maxAgeSeconds: [maxAgeSeconds, other.maxAgeSeconds].compactMap { $0 }.min()
        )
    }

    package var isEmpty: Bool { self == CacheControls() }
}

extension CacheControls: Decodable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case noCache = "no_cache"
        case noStore = "no_store"
        case ttlSeconds = "ttl_s"
        case maxAgeSeconds = "max_age_s"
    }

    package init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = keys.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: keys,
                debugDescription: "unknown cache setting; expected no_cache, no_store, ttl_s or max_age_s"
            )
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.noCache = try container.decodeIfPresent(Bool.self, forKey: .noCache) ?? false
        self.noStore = try container.decodeIfPresent(Bool.self, forKey: .noStore) ?? false
        self.ttlSeconds = try container.decodeIfPresent(Double.self, forKey: .ttlSeconds)
        self.maxAgeSeconds = try container.decodeIfPresent(Double.self, forKey: .maxAgeSeconds)
        if let ttl = ttlSeconds, !(ttl > 0 && ttl <= 31_536_000) {
            throw DecodingError.dataCorruptedError(forKey: .ttlSeconds, in: container, debugDescription: "must be above 0 and at most a year")
        }
        if let age = maxAgeSeconds, !(age >= 0 && age.isFinite) {
            throw DecodingError.dataCorruptedError(forKey: .maxAgeSeconds, in: container, debugDescription: "must not be negative")
        }
    }
}
