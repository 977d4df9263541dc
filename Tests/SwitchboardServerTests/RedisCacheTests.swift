import SwitchboardCore
import SwitchboardRedis
import SwitchboardTesting
import Testing

/// The response cache on a real Redis: shared by replicas, falling back to memory while Redis is
/// away or hung and going back when it answers, and reading garbage under a key as a miss.
@Suite(.enabled(if: RedisServer.isAvailable), .serialized) struct RedisCacheTests {
    static let prefix = "switchboard:cache:"

    /// A generous Redis timeout by default: on a loaded 2-core run, 50 ms sends lookups to memory.
    static func config(timeoutMilliseconds: Int = 1000) -> String {
        standardConfig(extraModels: """
              - name: priced
                targets: [{ provider: fake, model: fake-model }]
                price: { input_per_mtok: 1000, output_per_mtok: 2000 }
            """) + """

            cache:
              enabled: true
              redis_url: ${REDIS}
              redis_timeout_ms: \(timeoutMilliseconds)
            """
    }

    static func body(_ text: String = "hello", stream: Bool = false, extra: String = "") -> String {
        #"{"model":"priced","stream":\#(stream)\#(extra),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    /// Waits until the entry is in Redis (stores are written just after the answer goes out).
    static func waitForEntry(_ key: String, in redis: RedisClient) async throws {
        for _ in 0..<200 {
            if try await redis.get(prefix + key) != nil { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("entry \(key) never reached Redis")
    }

    static func waitForBackend(up: Bool, _ gateway: GatewayTestContext) async throws {
        for _ in 0..<400 {
            let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
            if stats["backend_up"]?.boolValue == up { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the cache backend never became \(up ? "up" : "down")")
    }

    @Test func replicasShareAnswersThroughRedis() async throws {
        try await withRedisServer { server in
            let redis = server.client()
            let environment = ["REDIS": server.url]
            try await withGateway(config: Self.config(), environment: environment) { first in
                try await withGateway(config: Self.config(), environment: environment) { second in
                    let miss = try await first.post("/v1/chat/completions", Self.body(), headers: authHeaders)
                    #expect(miss.status == 200)
                    #expect(miss.header("x-switchboard-cache") == "miss")
                    let key = try #require(miss.header("x-switchboard-cache-key"))
                    try await Self.waitForEntry(key, in: redis)

                    // The other replica answers from Redis: the same bytes, no upstream call.
                    let hit = try await second.post("/v1/chat/completions", Self.body(), headers: authHeaders)
                    #expect(hit.header("x-switchboard-cache") == "hit")
                    #expect(hit.header("x-switchboard-cache-key") == key)
                    #expect(hit.header("x-cost-usd") == "0.0")
                    #expect(hit.body == miss.body)
                    #expect(await second.upstream.recorder.calls(model: "fake-model") == 0)

                    // And streams it.
                    let streamed = try await second.post("/v1/chat/completions", Self.body(stream: true), headers: authHeaders)
                    #expect(streamed.header("x-switchboard-cache") == "hit")
                    #expect(try CacheTests.streamedText(streamed.body) == "echo: hello")
                    #expect(streamed.body.hasSuffix("data: [DONE]\n\n"))

                    // Other parameters are other entries.
                    let warmer = try await second.post("/v1/chat/completions", Self.body(extra: #","temperature":0.9"#), headers: authHeaders)
                    #expect(warmer.header("x-switchboard-cache") == "miss")

                    let stats = try await second.get("/admin/cache/stats", headers: authHeaders).json()
                    #expect(stats["backend"] == "redis")
                    #expect(stats["backend_up"] == true)
                    let metrics = try await second.get("/metrics", headers: authHeaders)
                    #expect(metrics.body.contains(#"cache_backend_up{backend="redis"} 1"#))
                }
            }
            await redis.shutdown()
        }
    }

    @Test func twoKeysNeverShareAnEntryInRedis() async throws {
        try await withRedisServer { server in
            let redis = server.client()
            try await withGateway(config: Self.config(), environment: ["REDIS": server.url]) { gateway in
                let alice = try await gateway.createKey(#"{"name":"alice","user_id":"alice"}"#)
                let bob = try await gateway.createKey(#"{"name":"bob","user_id":"bob"}"#)
                let first = try await gateway.post("/v1/chat/completions", Self.body(), headers: bearer(alice.secret))
                try await Self.waitForEntry(try #require(first.header("x-switchboard-cache-key")), in: redis)
                let poisoned = Self.body(extra: #","user":"key:\#(alice.id)""#)
                let second = try await gateway.post("/v1/chat/completions", poisoned, headers: bearer(bob.secret))
                #expect(second.header("x-switchboard-cache") == "miss")
                #expect(second.header("x-switchboard-cache-key") != first.header("x-switchboard-cache-key"))
                #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 2)
            }
            await redis.shutdown()
        }
    }

    @Test func garbageOrAWrongTypeUnderAKeyIsAMiss() async throws {
        try await withRedisServer { server in
            let redis = server.client()
            try await withGateway(config: Self.config(), environment: ["REDIS": server.url]) { gateway in
                let first = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
                let key = try #require(first.header("x-switchboard-cache-key"))
                try await Self.waitForEntry(key, in: redis)

                let document = try #require(try await redis.get(Self.prefix + key))
                try await redis.set(Self.prefix + key, Array("{not json at all".utf8))
                let garbled = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
                #expect(garbled.status == 200)
                #expect(garbled.header("x-switchboard-cache") == "miss")
                #expect(try garbled.json()["choices"]?[0]?["message"]?["content"] == "echo: hello")
                // The miss stores the answer again over the garbage.
                var restored = false
                for _ in 0..<200 where !restored {
                    let bytes = try await redis.get(Self.prefix + key) ?? []
                    restored = (try? JSONCoding.decode(JSONValue.self, from: bytes))?["key"]?.stringValue == key
                    if !restored { try await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(restored)

                // A document of ours, but for another key: not served.
                let noStore = authHeaders + [("cache-control", "no-store")]
                let otherKey = try #require(
                    try await gateway.post("/v1/chat/completions", Self.body("other"), headers: noStore).header("x-switchboard-cache-key")
                )
                try await redis.set(Self.prefix + otherKey, document)
                let wrongKey = try await gateway.post("/v1/chat/completions", Self.body("other"), headers: authHeaders)
                #expect(wrongKey.header("x-switchboard-cache") == "miss")
                #expect(try wrongKey.json()["choices"]?[0]?["message"]?["content"] == "echo: other")

                _ = try await redis.delete([Self.prefix + key])
                _ = try await redis.send(RedisCommand("LPUSH", [RESPArgument(Self.prefix + key), "x"]))
                let wrongType = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
                #expect(wrongType.status == 200)
                #expect(wrongType.header("x-switchboard-cache") == "miss")
                #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 5)
                // Neither took Redis for down.
                let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
                #expect(stats["backend_up"] == true)
            }
            await redis.shutdown()
        }
    }

    @Test func redisStoppedDuringLoadFailsNoRequestAndComesBack() async throws {
        let server = try await RedisServer.start()
        let lines = LogLines()
        try await withGateway(config: Self.config(), environment: ["REDIS": server.url], logLevel: .info, log: lines.append) { gateway in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        if index == 20 { server.stop() }
                        return try await gateway.post("/v1/chat/completions", Self.body("prompt \(index % 30)"), headers: authHeaders).status
                    }
                }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.count == 60 && statuses.allSatisfy { $0 == 200 })
            try await Self.waitForBackend(up: false, gateway)
            let metrics = try await gateway.get("/metrics", headers: authHeaders)
            #expect(metrics.body.contains(#"cache_backend_up{backend="redis"} 0"#))
            #expect(lines.all.filter { $0.contains("cache backend unreachable") }.count == 1)

            // Meanwhile the cache works in memory.
            _ = try await gateway.post("/v1/chat/completions", Self.body("while down"), headers: authHeaders)
            let fromMemory = try await gateway.post("/v1/chat/completions", Self.body("while down"), headers: authHeaders)
            #expect(fromMemory.header("x-switchboard-cache") == "hit")

            // Redis back on its port: the cache goes back to it.
            let again = try await RedisServer.start(port: server.port)
            defer { again.stop() }
            try await Self.waitForBackend(up: true, gateway)
            #expect(lines.all.contains { $0.contains("cache backend answers again") })
            let redis = again.client()
            let fresh = try await gateway.post("/v1/chat/completions", Self.body("after"), headers: authHeaders)
            try await Self.waitForEntry(try #require(fresh.header("x-switchboard-cache-key")), in: redis)
            await redis.shutdown()
        }
    }

    @Test func aHungRedisFallsBackAndRecovers() async throws {
        try await withRedisServer { server in
            try await withGateway(config: Self.config(timeoutMilliseconds: 30), environment: ["REDIS": server.url]) { gateway in
                #expect(try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders).status == 200)
                server.pause()
                for index in 0..<10 {
                    let answer = try await gateway.post("/v1/chat/completions", Self.body("hung \(index)"), headers: authHeaders)
                    #expect(answer.status == 200)
                }
                try await Self.waitForBackend(up: false, gateway)
                server.resume()
                try await Self.waitForBackend(up: true, gateway)
            }
        }
    }

    static func semanticVectors(_ gateway: GatewayTestContext) async throws -> Int? {
        try await gateway.get("/admin/cache/stats", headers: authHeaders).json()["semantic_vectors"]?.intValue
    }

    static func waitForVectors(_ count: Int, _ gateway: GatewayTestContext) async throws {
        for _ in 0..<400 {
            if try await semanticVectors(gateway) == count { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the semantic index never held \(count) vectors (has \(String(describing: try await semanticVectors(gateway))))")
    }

    static func listedVectors(_ redis: RedisClient) async throws -> Int64? {
        try await redis.send(RedisCommand("ZCARD", [RESPArgument(prefix + "semantic-vectors")])).integer
    }

    @Test func semanticVectorsAreSharedThroughRedisAndLoadedAtStart() async throws {
        try await withRedisServer { server in
            let redis = server.client()
            let environment = ["REDIS": server.url]
            let config = CacheTests.semanticConfig() + "\n  redis_url: ${REDIS}\n  redis_timeout_ms: 1000"
            try await withGateway(config: config, environment: environment) { first in
                let miss = try await first.post("/v1/chat/completions", CacheTests.ask("What is the capital of France?"), headers: authHeaders)
                #expect(miss.header("x-switchboard-cache") == "miss")
                let key = try #require(miss.header("x-switchboard-cache-key"))
                try await Self.waitForEntry(key, in: redis)
                #expect(try await Self.listedVectors(redis) == 1)
                let document = try JSONCoding.parse(try #require(try await redis.get(Self.prefix + key)))
                #expect(document["vector"]?.stringValue?.isEmpty == false)

                // A replica started now loads the vector: a similar prompt is a semantic hit there.
                try await withGateway(config: config, environment: environment) { second in
                    try await Self.waitForVectors(1, second)
                    let similar = try await second.post("/v1/chat/completions", CacheTests.ask("what is the CAPITAL of france"), headers: authHeaders)
                    #expect(similar.header("x-switchboard-cache") == "semantic-hit")
                    #expect(similar.header("x-switchboard-cache-key") == key)
                    #expect(try similar.json()["choices"]?[0]?["message"]?["content"] == "echo: What is the capital of France?")

                    // One stored by the first replica while both run reaches the second.
                    let dogs = try await first.post("/v1/chat/completions", CacheTests.ask("Tell me about dogs"), headers: authHeaders)
                    #expect(dogs.header("x-switchboard-cache") == "miss")
                    try await Self.waitForVectors(2, second)
                    let alike = try await second.post("/v1/chat/completions", CacheTests.ask("tell me about DOGS"), headers: authHeaders)
                    #expect(alike.header("x-switchboard-cache") == "semantic-hit")
                    #expect(alike.header("x-switchboard-cache-key") == dogs.header("x-switchboard-cache-key"))
                    #expect(await second.upstream.recorder.calls(model: "fake-model") == 0)

                    // Another key's vectors are in the index but never answer for this one.
                    let someone = try await second.createKey(#"{"name":"someone","user_id":"someone"}"#)
                    let other = try await second.post(
                        "/v1/chat/completions", CacheTests.ask("tell me about dogs"), headers: bearer(someone.secret)
                    )
                    #expect(other.header("x-switchboard-cache") == "miss")
                }

                // A deleted entry's vector is not loaded again, and leaves the list.
                let deleted = try await first.request(.DELETE, "/admin/cache/\(key)", headers: authHeaders)
                #expect(deleted.status == 200)
            }
            try await withGateway(config: config, environment: environment) { third in
                // The other key's answer and the dogs one are there; France is gone.
                try await Self.waitForVectors(2, third)
                #expect(try await Self.listedVectors(redis) == 2)
                let france = try await third.post("/v1/chat/completions", CacheTests.ask("what is the capital of france"), headers: authHeaders)
                #expect(france.header("x-switchboard-cache") == "miss")
            }
            await redis.shutdown()
        }
    }

    @Test func adminDeletesReachRedis() async throws {
        try await withRedisServer { server in
            let redis = server.client()
            try await withGateway(config: Self.config(), environment: ["REDIS": server.url]) { gateway in
                let one = try await gateway.post("/v1/chat/completions", Self.body("one"), headers: authHeaders)
                let two = try await gateway.post("/v1/chat/completions", Self.body("two"), headers: authHeaders)
                let three = try await gateway.post(
                    "/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"three"}]}"#, headers: authHeaders
                )
                for answer in [one, two] { try await Self.waitForEntry(try #require(answer.header("x-switchboard-cache-key")), in: redis) }
                #expect(three.header("x-switchboard-cache") == "miss")
                try await Self.waitForEntry(try #require(three.header("x-switchboard-cache-key")), in: redis)
                let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
                #expect(stats["entries"] == 3)

                let removed = try await gateway.request(.DELETE, "/admin/cache/\(try #require(one.header("x-switchboard-cache-key")))", headers: authHeaders)
                #expect(try removed.json()["deleted"] == 1)
                let byModel = try await gateway.request(.DELETE, "/admin/cache?model=priced", headers: authHeaders)
                #expect(try byModel.json()["deleted"] == 1)
                #expect(try await redis.keys(matching: Self.prefix + "*").count == 1)
                let all = try await gateway.request(.DELETE, "/admin/cache", headers: authHeaders)
                #expect(try all.json()["deleted"] == 1)
                #expect(try await redis.keys(matching: Self.prefix + "*").isEmpty)
            }
            await redis.shutdown()
        }
    }
}
