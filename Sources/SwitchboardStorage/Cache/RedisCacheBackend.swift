package import SwitchboardCore
package import SwitchboardRedis

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Cached answers in Redis: one string per entry under `prefix + key`, expiring by Redis's own
/// TTL (`SET … PX`), holding a versioned JSON document (``RedisCacheDocument``).
///
/// A semantic entry's document holds its prompt vector too, and the entry is listed in one
/// sorted set (`prefix + "semantic-vectors"`, member `partition key`, score the storage time),
/// so every replica's index finds it: all of them at start, the new ones as they come.
package struct RedisCacheBackend: SharedCacheBackend {
    let client: RedisClient
    let prefix: String
    /// Admin work (deletes by filter, sizes, listing vectors) walks many keys: it gets more time
    /// than a lookup.
    let adminTimeout: Duration
    /// The sorted set listing semantic entries; not an entry itself (no 64-hex-digit name).
    let vectorList: String

    package init(client: RedisClient, prefix: String, adminTimeout: Duration = .seconds(5)) {
        self.client = client
        self.prefix = prefix
        self.adminTimeout = adminTimeout
        self.vectorList = prefix + "semantic-vectors"
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
        guard let vector = entry.vector else {
            try await client.set(prefix + entry.key, Array(bytes), expiresInMilliseconds: ttl)
            return
        }
        let answers = try await client.pipeline([
            RedisCommand("SET", [RESPArgument(prefix + entry.key), RESPArgument(Array(bytes)), "PX", RESPArgument(ttl)]),
            RedisCommand("ZADD", [RESPArgument(vectorList), RESPArgument(String(entry.storedAt)), RESPArgument(vector.partition + " " + entry.key)]),
        ])
        for (answer, name) in zip(answers, ["SET", "ZADD"]) { _ = try RedisClient.checked(answer, name) }
    }

    package func vectors(storedSince: Double?, newest: Int?, known: @Sendable (String, String) -> Bool) async throws
        -> (vectors: [StoredVector], latest: Double?)
    {
        let low = storedSince.map { String($0) } ?? "-inf"
        let command = newest.map { limit in
            RedisCommand("ZREVRANGEBYSCORE", [RESPArgument(vectorList), "+inf", RESPArgument(low), "WITHSCORES", "LIMIT", "0", RESPArgument(max(1, limit))])
        } ?? RedisCommand("ZRANGEBYSCORE", [RESPArgument(vectorList), RESPArgument(low), "+inf", "WITHSCORES"])
        let listed = try RedisClient.checked(await client.send(command, timeout: adminTimeout), command.name)
        guard case .array(let items?) = listed, items.count % 2 == 0 else { throw RedisError.unexpectedReply(command: command.name) }
        var latest: Double?
        var wanted: [(member: String, partition: String, key: String)] = []
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let member = items[index].string, let score = items[index + 1].string.flatMap(Double.init) else { continue }
            latest = max(latest ?? score, score)
            guard let space = member.lastIndex(of: " ") else { continue }
            let partition = String(member[..<space]), key = String(member[member.index(after: space)...])
            if !known(partition, key) { wanted.append((member, partition, key)) }
        }
        var found: [StoredVector] = []
        var gone: [String] = []
        for batch in wanted.chunked(by: 200) {
            let answers = try await client.pipeline(batch.map { RedisCommand("GET", [RESPArgument(prefix + $0.key)]) }, timeout: adminTimeout)
            for (item, answer) in zip(batch, answers) {
                if answer.isNull {
                    gone.append(item.member)
                    continue
                }
                guard let bytes = answer.bytes, let document = try? JSONDecoder().decode(RedisVectorDocument.self, from: Data(bytes)),
                    let vector = document.vector(for: item.key, partition: item.partition)
                else { continue }
                found.append(StoredVector(key: item.key, expiresAt: document.expiresAt, vector: vector))
            }
        }
        try await forget(gone)
        return (found, latest)
    }

    package func pruneVectors() async throws -> Int {
        let listed = try RedisClient.checked(
            await client.send(RedisCommand("ZRANGE", [RESPArgument(vectorList), "0", "-1"]), timeout: adminTimeout), "ZRANGE"
        )
        guard case .array(let items?) = listed else { throw RedisError.unexpectedReply(command: "ZRANGE") }
        let members = items.compactMap(\.string)
        var gone: [String] = []
        for batch in members.chunked(by: 500) {
            let keys = batch.map { member in member.lastIndex(of: " ").map { String(member[member.index(after: $0)...]) } ?? member }
            let answers = try await client.pipeline(keys.map { RedisCommand("EXISTS", [RESPArgument(prefix + $0)]) }, timeout: adminTimeout)
            gone += zip(batch, answers).compactMap { member, answer in answer.integer == 0 ? member : nil }
        }
        try await forget(gone)
        return gone.count
    }

    /// Takes members off the vector list.
    private func forget(_ members: [String]) async throws {
        for batch in members.chunked(by: 500) {
            _ = try RedisClient.checked(
                await client.send(RedisCommand("ZREM", [RESPArgument(vectorList)] + batch.map { RESPArgument($0) }), timeout: adminTimeout),
                "ZREM"
            )
        }
    }

    package func remove(_ key: String) async throws -> Bool {
        try await client.delete([prefix + key]) > 0
    }

    package func removeAll(scope: String?, model: String?) async throws -> Int {
        let keys = try await client.keys(matching: RedisClient.globEscaped(prefix) + "*", timeout: adminTimeout)
        var removed = 0
        let filtered = scope != nil || model != nil
        // The vector list goes with everything; a filtered delete leaves it to the pruning.
        if !filtered, keys.contains(vectorList) { _ = try await client.delete([vectorList], timeout: adminTimeout) }
        for batch in keys.filter({ $0 != vectorList }).chunked(by: 200) {
            var doomed = batch
            if filtered {
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
        let keys = try await client.keys(matching: RedisClient.globEscaped(prefix) + "*", timeout: adminTimeout).filter { $0 != vectorList }
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
    /// A semantic entry's partition and prompt vector (little-endian `Float32`s, base64).
    var partition: String?
    var vector: String?

    enum CodingKeys: String, CodingKey {
        case version = "v"
        case key, scope, model, provider, cost, usage, verbatim, body, partition, vector
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
        self.partition = entry.vector?.partition
        self.vector = entry.vector.map { RedisVectorDocument.encode($0.values) }
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

/// The part of a ``RedisCacheDocument`` the vector list reads (the answer is skipped).
struct RedisVectorDocument: Decodable {
    var version: Int
    var key: String
    var expiresAt: Double
    var partition: String?
    var vector: String?

    enum CodingKeys: String, CodingKey {
        case version = "v"
        case key, partition, vector
        case expiresAt = "expires_at"
    }

    /// The vector, when this document is ours for `key` in `partition` and its vector reads back.
    func vector(for expected: String, partition expectedPartition: String) -> CachedVector? {
        guard version == RedisCacheDocument.currentVersion, key == expected, partition == expectedPartition,
            let vector, let values = Self.decode(vector)
        else { return nil }
        return CachedVector(partition: expectedPartition, values: values)
    }

    static func encode(_ values: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        }
        return Data(bytes).base64EncodedString()
    }

    static func decode(_ text: String) -> [Float]? {
        guard let data = Data(base64Encoded: text), !data.isEmpty, data.count % 4 == 0 else { return nil }
        let bytes = Array(data)
        var values: [Float] = []
        values.reserveCapacity(bytes.count / 4)
        for start in stride(from: 0, to: bytes.count, by: 4) {
            var bits: UInt32 = 0
            for offset in 0..<4 { bits |= UInt32(bytes[start + offset]) << UInt32(offset * 8) }
            let value = Float(bitPattern: bits)
            guard value.isFinite else { return nil }
            values.append(value)
        }
        return values
    }
}

extension Array {
    func chunked(by size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
