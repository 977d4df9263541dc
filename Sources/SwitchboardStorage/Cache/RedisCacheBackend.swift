package import SwitchboardCore
package import SwitchboardRedis

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Cached answers in Redis: one string per entry under `prefix + key`, expiring by Redis's own
/// TTL (`SET … PX`), holding a versioned JSON document (``RedisCacheDocument``).
package struct RedisCacheBackend: SharedCacheBackend {
    let client: RedisClient
    let prefix: String
    /// Admin work (deletes by filter, sizes) walks every key: it gets more time than a lookup.
    let adminTimeout: Duration

    package init(client: RedisClient, prefix: String, adminTimeout: Duration = .seconds(5)) {
        self.client = client
        self.prefix = prefix
        self.adminTimeout = adminTimeout
    }

    package func entry(_ key: String) async throws -> CachedAnswer? {
        let bytes: [UInt8]?
        do {
            bytes = try await client.get(prefix + key)
        } catch {
            // A key of another type (WRONGTYPE) or an odd reply is not ours to read: a miss.
            switch error {
            case .server, .unexpectedReply: return nil
            default: throw error
            }
        }
        guard let bytes, let document = try? JSONDecoder().decode(RedisCacheDocument.self, from: Data(bytes)) else { return nil }
        return document.answer(for: key)
    }

    package func store(_ entry: CachedAnswer, now: Double) async throws {
        let ttl = Int64(((entry.expiresAt - now) * 1000).rounded(.up))
        guard ttl > 0 else { return }
        let bytes = try JSONEncoder().encode(RedisCacheDocument(entry))
        try await client.set(prefix + entry.key, Array(bytes), expiresInMilliseconds: ttl)
    }

    package func remove(_ key: String) async throws -> Bool {
        try await client.delete([prefix + key]) > 0
    }

    package func removeAll(scope: String?, model: String?) async throws -> Int {
        let keys = try await client.keys(matching: RedisClient.globEscaped(prefix) + "*", timeout: adminTimeout)
        var removed = 0
        for batch in keys.chunked(by: 200) {
            var doomed = batch
            if scope != nil || model != nil {
                let answers = try await client.pipeline(batch.map { RedisCommand("GET", [RESPArgument($0)]) }, timeout: adminTimeout)
                doomed = zip(batch, answers).compactMap { key, answer in
                    guard let bytes = answer.bytes, let document = try? JSONDecoder().decode(RedisCacheDocument.self, from: Data(bytes)) else {
                        return nil
                    }
                    return (scope == nil || document.scope == scope) && (model == nil || document.model == model) ? key : nil
                }
            }
            removed += try await client.delete(doomed, timeout: adminTimeout)
        }
        return removed
    }

    package func size() async throws -> (entries: Int, bytes: Int) {
        let keys = try await client.keys(matching: RedisClient.globEscaped(prefix) + "*", timeout: adminTimeout)
        var bytes = 0
        for batch in keys.chunked(by: 500) {
            let answers = try await client.pipeline(batch.map { RedisCommand("STRLEN", [RESPArgument($0)]) }, timeout: adminTimeout)
            bytes += answers.reduce(0) { $0 + Int($1.integer ?? 0) }
        }
        return (keys.count, bytes)
    }

    package func ping(patient: Bool) async throws {
        try await client.ping(timeout: patient ? client.configuration.connectTimeout : nil)
    }

    package func shutdown() async {
        await client.shutdown()
    }
}

/// One entry as stored in Redis. `body` is the answer's JSON: the provider's own bytes when the
/// answer carried them (`verbatim`), so a hit is byte-for-byte what the miss returned.
struct RedisCacheDocument: Codable {
    static let currentVersion = 1

    var version: Int
    var key: String
    var scope: String
    var model: String
    var provider: String
    var servedModel: String
    var cost: Double?
    var storedAt: Double
    var expiresAt: Double
    var usage: Usage
    var verbatim: Bool
    var body: String

    enum CodingKeys: String, CodingKey {
        case version = "v"
        case key, scope, model, provider, cost, usage, verbatim, body
        case servedModel = "served_model"
        case storedAt = "stored_at"
        case expiresAt = "expires_at"
    }

    init(_ entry: CachedAnswer) throws {
        self.version = Self.currentVersion
        self.key = entry.key
        self.scope = entry.scope
        self.model = entry.model
        self.provider = entry.provider
        self.servedModel = entry.servedModel
        self.cost = entry.cost
        self.storedAt = entry.storedAt
        self.expiresAt = entry.expiresAt
        self.usage = entry.usage
        let upstream = entry.response.upstreamBody
        self.verbatim = !upstream.isEmpty
        self.body = upstream.isEmpty
            ? String(decoding: try JSONCoding.encode(entry.response), as: UTF8.self)
            : String(decoding: upstream.bytes, as: UTF8.self)
    }

    /// The entry, when this document is one of ours for `key` and reads back whole.
    func answer(for expected: String) -> CachedAnswer? {
        guard version == Self.currentVersion, key == expected else { return nil }
        let bytes = Array(body.utf8)
        guard var response = try? JSONCoding.decode(ChatResponse.self, from: bytes) else { return nil }
        if verbatim { response.upstreamBody = VerbatimBody(bytes) }
        return CachedAnswer(
            key: key, scope: scope, model: model, response: response, usage: usage, provider: provider, servedModel: servedModel,
            cost: cost, storedAt: storedAt, expiresAt: expiresAt, bytes: bytes.count
        )
    }
}

extension Array {
    func chunked(by size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
