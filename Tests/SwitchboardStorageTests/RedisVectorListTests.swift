import SwitchboardCore
import SwitchboardRedis
import SwitchboardStorage
import SwitchboardTesting
import Testing

/// The semantic vectors Redis lists for every replica: stored with their answers, read back
/// exactly, by storage time, without what the index has; entries that are gone leave the list,
/// and garbage is skipped.
@Suite(.enabled(if: RedisServer.isAvailable), .serialized) struct RedisVectorListTests {
    static let prefix = "vectors-test:"
    static let partition = String(repeating: "ab", count: 32)

    static func entry(_ key: String, storedAt: Double, vector: [Float]?) -> CachedAnswer {
        let response = ChatResponse(
            id: "c", created: 1, model: "m",
            choices: [.init(index: 0, message: ChatMessage(role: .assistant, content: .text("hi")), finishReason: "stop")],
            usage: Usage(promptTokens: 1, completionTokens: 1)
        )
        var entry = CachedAnswer(
            key: key, scope: "key:a", model: "m", response: response, usage: Usage(promptTokens: 1, completionTokens: 1),
            provider: "p", servedModel: "m", cost: nil, storedAt: storedAt, expiresAt: storedAt + 3600, bytes: 10
        )
        entry.vector = vector.map { CachedVector(partition: partition, values: $0) }
        return entry
    }

    static func listed(_ client: RedisClient) async throws -> Int64? {
        try await client.send(RedisCommand("ZCARD", [RESPArgument(prefix + "semantic-vectors")])).integer
    }

    @Test func theListReadsBackByTimeSkipsTheKnownAndForgetsTheGone() async throws {
        try await withRedisServer { server in
            let client = server.client()
            let backend = RedisCacheBackend(client: client, prefix: Self.prefix)
            let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64), c = String(repeating: "c", count: 64)
            // Values a float round trip through text would change.
            let exact: [Float] = [0.1, -1e-30, 3.4028235e38, 0.33333334, -0.0]
            try await backend.store(Self.entry(a, storedAt: 100, vector: exact), now: 100)
            try await backend.store(Self.entry(b, storedAt: 200, vector: [1, 2, 3]), now: 200)
            try await backend.store(Self.entry(c, storedAt: 300, vector: nil), now: 300)
            #expect(try await Self.listed(client) == 2)
            // The list is not an entry.
            #expect(try await backend.size().entries == 3)

            let all = try await backend.vectors(storedSince: nil, newest: nil) { _, _ in false }
            #expect(all.vectors.map(\.key) == [a, b])
            #expect(all.vectors.first?.vector == CachedVector(partition: Self.partition, values: exact))
            #expect(all.vectors.first?.expiresAt == 3700)
            #expect(all.latest == 200)
            // The newest so many, for a first load into a bounded index.
            #expect(try await backend.vectors(storedSince: nil, newest: 1) { _, _ in false }.vectors.map(\.key) == [b])
            #expect(try await backend.vectors(storedSince: 150, newest: nil) { _, _ in false }.vectors.map(\.key) == [b])
            #expect(try await backend.vectors(storedSince: nil, newest: nil) { partition, key in partition == Self.partition && key == b }.vectors.map(\.key) == [a])
            // The answer itself still reads back.
            #expect(try await backend.entry(a)?.key == a)

            // Garbage under a listed key, or a vector that does not decode: skipped, still listed.
            try await client.set(Self.prefix + a, Array("{not json".utf8))
            var document = try JSONCoding.parse(try #require(try await client.get(Self.prefix + b)))
            if case .object(var fields) = document {
                fields["vector"] = "!!not base64!!"
                document = .object(fields)
            }
            try await client.set(Self.prefix + b, Array(try JSONCoding.encode(document)))
            #expect(try await backend.vectors(storedSince: nil, newest: nil) { _, _ in false }.vectors.isEmpty)
            #expect(try await Self.listed(client) == 2)

            // An entry gone (deleted, expired) leaves the list when a read meets it, or at pruning.
            _ = try await backend.remove(b)
            #expect(try await backend.vectors(storedSince: 150, newest: nil) { _, _ in false }.vectors.isEmpty)
            #expect(try await Self.listed(client) == 1)
            _ = try await backend.remove(a)
            #expect(try await backend.pruneVectors() == 1)
            #expect(try await Self.listed(client) == 0)

            // A list key of another type is Redis refusing, not Redis gone.
            try await client.set(Self.prefix + "semantic-vectors", Array("oops".utf8))
            await #expect(throws: RedisError.self) { try await backend.vectors(storedSince: nil, newest: nil) { _, _ in false } }
            do {
                _ = try await backend.vectors(storedSince: nil, newest: nil) { _, _ in false }
            } catch let error as RedisError {
                guard case .server = error else {
                    Issue.record("expected a server refusal, got \(error)")
                    return
                }
            }
            await client.shutdown()
        }
    }
}
