import Foundation
import SwitchboardCore
import SwitchboardProviders
import Testing

@Suite struct ResponseCacheTests {
    static func entry(_ key: String, bytes: Int = 100, scope: String = "key:a", model: String = "m", storedAt: Double = 0, ttl: Double = 60)
        -> CachedAnswer
    {
        let response = ChatResponse(
            id: "c", created: 1, model: "m",
            choices: [.init(index: 0, message: ChatMessage(role: .assistant, content: .text("hi")), finishReason: "stop")],
            usage: Usage(promptTokens: 1, completionTokens: 1)
        )
        return CachedAnswer(
            key: key, scope: scope, model: model, response: response, usage: Usage(promptTokens: 1, completionTokens: 1),
            provider: "p", servedModel: "m", cost: 0.01, storedAt: storedAt, expiresAt: storedAt + ttl, bytes: bytes
        )
    }

    @Test func leastRecentlyUsedGoesFirstByEntriesAndBytes() async {
        let cache = MemoryResponseCache(maxEntries: 3, maxBytes: 1000, maxEntryBytes: 600)
        #expect(cache.store(Self.entry("a")))
        #expect(cache.store(Self.entry("b")))
        #expect(cache.store(Self.entry("c")))
        // Touch `a`: `b` is now the least recently used.
        #expect(await cache.entry("a", now: 1) != nil)
        #expect(cache.store(Self.entry("d")))
        #expect(await cache.entry("b", now: 1) == nil)
        #expect(await cache.entry("a", now: 1) != nil)
        // 600 more bytes pass the 1000-byte bound: the oldest go until it fits.
        #expect(cache.store(Self.entry("big", bytes: 600)))
        let stats = await cache.stats()
        #expect(stats.bytes <= 1000)
        #expect(await cache.entry("big", now: 1) != nil)
        #expect(stats.evictions >= 2)
        // Larger than one entry may be: refused.
        #expect(!cache.store(Self.entry("huge", bytes: 700)))
        #expect(await cache.entry("huge", now: 1) == nil)
    }

    @Test func expiredEntriesAreGoneAndReplacingKeepsTheCountsRight() async {
        let cache = MemoryResponseCache(maxEntries: 10, maxBytes: 10_000, maxEntryBytes: 1000)
        #expect(cache.store(Self.entry("a", storedAt: 0, ttl: 10)))
        #expect(await cache.entry("a", now: 9.9) != nil)
        #expect(await cache.entry("a", now: 10) == nil)
        #expect(await cache.stats().expired == 1)
        #expect(cache.store(Self.entry("b", bytes: 100)))
        #expect(cache.store(Self.entry("b", bytes: 300)))
        let stats = await cache.stats()
        #expect(stats.entries == 1)
        #expect(stats.bytes == 300)
    }

    @Test func removeAllByScopeAndModel() async {
        let cache = MemoryResponseCache(maxEntries: 10, maxBytes: 10_000, maxEntryBytes: 1000)
        _ = cache.store(Self.entry("1", scope: "key:a", model: "x"))
        _ = cache.store(Self.entry("2", scope: "key:a", model: "y"))
        _ = cache.store(Self.entry("3", scope: "key:b", model: "x"))
        #expect(await cache.removeAll(scope: "key:a", model: "x") == 1)
        #expect(await cache.removeAll(scope: nil, model: "x") == 1)
        #expect(await cache.remove("2"))
        #expect(!(await cache.remove("2")))
        #expect(await cache.stats().entries == 0)
        // Slots are reused after removal.
        for index in 0..<20 { _ = cache.store(Self.entry("k\(index)")) }
        #expect(await cache.stats().entries == 10)
    }

    @Test func cacheControlHeaderAndBodyMerge() throws {
        let header = CacheControls(header: "No-Cache, max-age=30, private")
        #expect(header.noCache)
        #expect(!header.noStore)
        #expect(header.maxAgeSeconds == 30)
        #expect(CacheControls(header: "max-age=abc").maxAgeSeconds == nil)
        let body = try JSONCoding.decode(CacheControls.self, from: Array(#"{"no_store":true,"ttl_s":5,"max_age_s":10}"#.utf8))
        let merged = body.merged(with: header)
        #expect(merged.noCache && merged.noStore)
        #expect(merged.ttlSeconds == 5)
        #expect(merged.maxAgeSeconds == 10)
        #expect(throws: (any Error).self) { try JSONCoding.decode(CacheControls.self, from: Array(#"{"ttl":5}"#.utf8)) }
        #expect(throws: (any Error).self) { try JSONCoding.decode(CacheControls.self, from: Array(#"{"ttl_s":0}"#.utf8)) }
    }

    static func request(_ json: String) throws -> ChatRequest {
        try JSONCoding.decodeRequest(ChatRequest.self, from: Data(json.utf8))
    }

    @Test func theKeyIgnoresWhatDoesNotChangeTheAnswer() throws {
        let base = try Self.request(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1}"#)
        let key = try CacheKey.make(base, targets: ["p/m"], scope: "key:a")
        let same = try Self.request(
            #"{"temperature":1.0,"messages":[{"content":"hi","role":"user"}],"model":"m","stream":true,"stream_options":{"include_usage":true},"user":"x","metadata":{"a":1},"cache":{"no_cache":true}}"#
        )
        #expect(try CacheKey.make(same, targets: ["p/m"], scope: "key:a") == key)
        #expect(try CacheKey.make(base, targets: ["p/m"], scope: "key:b") != key)
        #expect(try CacheKey.make(base, targets: ["q/m"], scope: "key:a") != key)
        for change in [#","tools":[{"type":"function","function":{"name":"f"}}]"#, #","top_p":0.5"#, #","presence_penalty":1"#, #","n":2"#] {
            let other = try Self.request(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1\#(change)}"#)
            #expect(try CacheKey.make(other, targets: ["p/m"], scope: "key:a") != key, "\(change)")
        }
        var thinking = base
        thinking.gatewayExtensions.anthropicThinking = ["type": "enabled", "budget_tokens": 1024]
        #expect(try CacheKey.make(thinking, targets: ["p/m"], scope: "key:a") != key)
    }

    /// The key hashes the request as `JSONValueEncoder` builds it: the same canonical bytes as
    /// `JSONEncoder`'s text parsed back, for requests with every kind of field.
    @Test func theDirectEncoderAgreesWithJSONEncoder() throws {
        let bodies = [
            #"{"model":"m","messages":[{"role":"user","content":"hi \"there\"\n\u0001é😀"}]}"#,
            #"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}}],"tool_choice":"auto","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"temperature":0.7,"top_p":1,"max_tokens":100,"stop":["END"],"seed":7,"n":1,"logprobs":true,"top_logprobs":2,"frequency_penalty":-0.5,"presence_penalty":0.25,"logit_bias":{"50256":-100},"reasoning_effort":"high","parallel_tool_calls":false,"x_vendor":{"deep":[1,2.5,null,true,"s"]}}"#,
        ]
        for body in bodies {
            var request = try Self.request(body)
            request.gatewayExtensions = GatewayExtensions()
            var direct: [UInt8] = []
            CanonicalJSON.write(try JSONValueEncoder().encode(request), to: &direct)
            var viaText: [UInt8] = []
            CanonicalJSON.write(try JSONCoding.parse(try JSONCoding.encode(request)), to: &viaText)
            #expect(String(decoding: direct, as: UTF8.self) == String(decoding: viaText, as: UTF8.self))
        }
        // Keys stored before (in Redis) stay valid: this request's key is pinned.
        let pinned = try Self.request(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}"#)
        let pinnedKey = try CacheKey.make(pinned, targets: ["p/m"], scope: "key:a")
        #expect(pinnedKey == "6637f4c95b4d8e9585c6a7ae3ba3c961ca71da4852dffcef9c2408516ab1cc26")
    }

    @Test func scopesFallBackOnlyToNarrowerOwners() {
        let keyOnly = Principal(kind: .virtualKey, id: "key:k1", role: .user, keyID: "k1", userID: nil, allowedModels: [], scopes: [])
        #expect(CacheScope.user.id(for: keyOnly) == "key:k1")
        #expect(CacheScope.team.id(for: keyOnly) == "key:k1")
        var withUser = keyOnly
        withUser.userID = "u1"
        #expect(CacheScope.user.id(for: withUser) == "user:u1")
        #expect(CacheScope.team.id(for: withUser) == "user:u1")
        withUser.team = "t"
        #expect(CacheScope.team.id(for: withUser) == "team:t")
        #expect(CacheScope.key.id(for: withUser) == "key:k1")
        #expect(CacheScope.global.id(for: withUser) == "global")
    }

    @Test func assemblerRebuildsContentAndToolCalls() {
        var assembler = ChunkAssembler(limit: 10_000)
        func chunk(_ delta: ChatDelta, finish: String? = nil, usage: Usage? = nil) -> ChatChunk {
            ChatChunk(id: "s", created: 5, model: "m", choices: [.init(index: 0, delta: delta, finishReason: finish)], usage: usage)
        }
        assembler.add(chunk(ChatDelta(role: .assistant, content: "")))
        assembler.add(chunk(ChatDelta(content: "Hel")))
        assembler.add(chunk(ChatDelta(content: "lo")))
        assembler.add(chunk(ChatDelta(toolCalls: [ToolCallDelta(index: 0, id: "call_1", type: "function", function: .init(name: "f", arguments: ""))])))
        assembler.add(chunk(ChatDelta(toolCalls: [ToolCallDelta(index: 0, function: .init(arguments: #"{"a""#))])))
        assembler.add(chunk(ChatDelta(toolCalls: [ToolCallDelta(index: 0, function: .init(arguments: ":1}"))])))
        #expect(assembler.response() == nil)
        assembler.add(chunk(ChatDelta(), finish: "tool_calls"))
        let response = assembler.response()
        #expect(response?.choices.first?.message.content?.text == "Hello")
        #expect(response?.choices.first?.message.toolCalls?.first?.function.arguments == #"{"a":1}"#)
        #expect(response?.choices.first?.finishReason == "tool_calls")
        #expect(response?.id == "s")

        var small = ChunkAssembler(limit: 4)
        small.add(chunk(ChatDelta(content: "too long"), finish: "stop"))
        #expect(small.overflowed)
        #expect(small.response() == nil)
    }
}

@Suite struct CacheConfigTests {
    @Test func theCacheSectionAndTheEnvironment() throws {
        let text = """
            providers:
              - name: m
                type: mock
            models:
              - name: fast
                targets: [{ provider: m, model: echo }]
                cache: { enabled: false, ttl_s: 5 }
            cache:
              enabled: true
              scope: user
              ttl_s: 60
              max_entries: 5
            """
        let config = try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text)
        #expect(config.cache.enabled)
        #expect(config.cache.scope == .user)
        #expect(config.cache.ttlSeconds == 60)
        #expect(config.cache.maxEntries == 5)
        #expect(config.models[0].cache == ModelCacheConfig(enabled: false, ttlSeconds: 5))
        let typo = text.replacingOccurrences(of: "scope: user", with: "scope: everyone")
        #expect(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: typo) }

        let environment = try ConfigLoader(environment: ["SWITCHBOARD_CACHE": "true", "CACHE_TTL_DEFAULT": "120"], registry: BuiltInProviders.registry)
            .fromEnvironment()
        #expect(environment.cache.enabled)
        #expect(environment.cache.ttlSeconds == 120)
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: ["SWITCHBOARD_CACHE": "maybe"], registry: BuiltInProviders.registry).fromEnvironment()
        }
    }

    @Test func redisAndSemanticSettingsAndTheirVariables() throws {
        let text = """
            providers:
              - name: m
                type: mock
            models:
              - name: embed
                targets: [{ provider: m, model: echo }]
              - name: smart
                targets: [{ provider: m, model: echo }]
                cache: { semantic: true }
            cache:
              enabled: true
              hits_count_in_rate_limits: false
              redis_url: redis://cache:6380/1
              redis_timeout_ms: 15
              semantic: { embedding_model: embed, threshold: 0.9, input: conversation, timeout_ms: 80 }
            """
        let loader = ConfigLoader(environment: [:], registry: BuiltInProviders.registry)
        let config = try loader.load(yaml: text)
        #expect(!config.cache.hitsCountInRateLimits)
        #expect(config.cache.redisURL == "redis://cache:6380/1")
        #expect(config.cache.redisTimeoutMilliseconds == 15)
        #expect(config.cache.semantic.embeddingModel == "embed" && config.cache.semantic.threshold == 0.9)
        #expect(config.cache.semantic.input == .conversation && config.cache.semantic.timeoutMilliseconds == 80)
        #expect(config.models[1].cache?.semantic == true)

        // A semantic model needs an embedding model; a threshold is at most 1; a graph needs 16
        // entries and a search one candidate; Redis URLs are redis:// or rediss://. Each says what is wrong.
        for (broken, message) in [
            (text.replacingOccurrences(of: "embedding_model: embed, ", with: ""), "`cache.semantic.embedding_model` is not set"),
            (text.replacingOccurrences(of: "threshold: 0.9", with: "threshold: 1.5"), "`cache.semantic.threshold` must be at most 1, not 1.5"),
            (text.replacingOccurrences(of: "timeout_ms: 80", with: "timeout_ms: 80, graph_threshold: 8"), "`graph_threshold` in cache.semantic must be at least 16, not 8"),
            (text.replacingOccurrences(of: "timeout_ms: 80", with: "timeout_ms: 80, search_breadth: 0"), "`search_breadth` in cache.semantic must be at least 1, not 0"),
            (text.replacingOccurrences(of: "timeout_ms: 80", with: "timeout_ms: 80, search_breadth: lots"), "`search_breadth` in cache.semantic must be a whole number"),
            (text.replacingOccurrences(of: "redis://cache", with: "http://cache"), "`cache.redis_url` must start with redis:// or rediss://"),
        ] {
            let error = #expect(throws: ConfigError.self) { try loader.load(yaml: broken) }
            #expect(error?.message.contains(message) == true, "\(String(describing: error?.message)) lacks \(message)")
        }

        // The chat orchestrator's variables: REDIS_URL when the file names none, REDIS_ENABLED=false over everything.
        let bare = text.replacingOccurrences(of: "  redis_url: redis://cache:6380/1\n", with: "")
        let fromURL = try ConfigLoader(environment: ["REDIS_URL": "redis://other:7000", "REDIS_PASSWORD": "pw"], registry: BuiltInProviders.registry)
            .load(yaml: bare)
        #expect(fromURL.cache.redisURL == "redis://other:7000" && fromURL.cache.redisPassword == "pw")
        let fromHost = try ConfigLoader(environment: ["REDIS_HOST": "h", "REDIS_PORT": "6390", "REDIS_MAX_CONNECTIONS": "9"], registry: BuiltInProviders.registry)
            .load(yaml: bare)
        #expect(fromHost.cache.redisURL == "redis://h:6390" && fromHost.cache.redisMaxConnections == 9)
        let fileWins = try ConfigLoader(environment: ["REDIS_URL": "redis://other:7000"], registry: BuiltInProviders.registry).load(yaml: text)
        #expect(fileWins.cache.redisURL == "redis://cache:6380/1")
        let off = try ConfigLoader(environment: ["REDIS_ENABLED": "false", "REDIS_URL": "redis://other"], registry: BuiltInProviders.registry)
            .load(yaml: text)
        #expect(off.cache.redisURL == nil)
        for bad in [["REDIS_ENABLED": "perhaps"], ["REDIS_HOST": "h", "REDIS_PORT": "99999"], ["REDIS_MAX_CONNECTIONS": "0"]] {
            #expect(throws: ConfigError.self) { try ConfigLoader(environment: bad, registry: BuiltInProviders.registry).load(yaml: bare) }
        }
    }
}

/// The semantic cache's vector index and key parts, without I/O.
@Suite struct SemanticIndexTests {
    @Test func findsTheNearestLiveVectorAtOrAboveTheThreshold() {
        let index = SemanticIndex(maxEntries: 100)
        index.add([1, 0, 0], key: "x", partition: "p", expiresAt: 100)
        index.add([0.8, 0.6, 0], key: "y", partition: "p", expiresAt: 100)
        index.add([1, 0, 0], key: "other", partition: "q", expiresAt: 100)
        let near = index.nearest([2, 0.1, 0], partition: "p", threshold: 0.9, now: 0)
        #expect(near?.key == "x")
        #expect((near?.similarity ?? 0) > 0.99)
        #expect(index.nearest([0, 0, 1], partition: "p", threshold: 0.5, now: 0) == nil)
        // Another partition (other tools, parameters or scope) is never searched.
        #expect(index.nearest([1, 0, 0], partition: "r", threshold: 0.1, now: 0) == nil)
        // A vector of another length, or zero, finds nothing.
        #expect(index.nearest([1, 0], partition: "p", threshold: 0.1, now: 0) == nil)
        #expect(index.nearest([0, 0, 0], partition: "p", threshold: 0.1, now: 0) == nil)
        // Expired vectors are skipped and dropped.
        #expect(index.nearest([1, 0, 0], partition: "p", threshold: 0.5, now: 200) == nil)
        #expect(index.count == 1)
    }

    @Test func longVectorsUseEveryLaneAndTheBoundDropsTheOldest() {
        let index = SemanticIndex(maxEntries: 3)
        let dimension = 384 + 7
        func vector(_ seed: Int) -> [Float] { (0..<dimension).map { Float(sin(Double($0 * seed + seed))) } }
        for seed in 1...5 { index.add(vector(seed), key: "k\(seed)", partition: "p", expiresAt: 10) }
        #expect(index.count == 3)
        #expect(index.nearest(vector(1), partition: "p", threshold: 0.999, now: 0) == nil)
        let found = index.nearest(vector(5), partition: "p", threshold: 0.999, now: 0)
        #expect(found?.key == "k5")
        // Replacing a key keeps one vector for it.
        index.add(vector(2), key: "k5", partition: "p", expiresAt: 10)
        #expect(index.count == 3)
        #expect(index.nearest(vector(2), partition: "p", threshold: 0.999, now: 0)?.key == "k5")
        // The scalar tail and the SIMD lanes agree with a plain dot product.
        let a = vector(3), b = vector(4)
        let plain = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let simd = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in SemanticIndex.dot(x, y, offset: 0) } }
        #expect(abs(plain - simd) < 1e-3)
    }

    @Test func thePartitionIsEverythingButTheText() throws {
        func request(_ text: String, temperature: Double? = nil) throws -> ChatRequest {
            let extra = temperature.map { #","temperature":\#($0)"# } ?? ""
            return try JSONCoding.decode(
                ChatRequest.self,
                from: Array(#"{"model":"m"\#(extra),"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"\#(text)"}]}"#.utf8)
            )
        }
        let a = try SemanticKey.partition(of: request("hello there"), input: .lastUser, targets: ["p/m"], scope: "key:1")
        let b = try SemanticKey.partition(of: request("HELLO, there!"), input: .lastUser, targets: ["p/m"], scope: "key:1")
        #expect(a == b)
        #expect(try SemanticKey.partition(of: request("hello there", temperature: 0.5), input: .lastUser, targets: ["p/m"], scope: "key:1") != a)
        #expect(try SemanticKey.partition(of: request("hello there"), input: .lastUser, targets: ["p/m"], scope: "key:2") != a)
        #expect(try SemanticKey.text(of: request("hello there"), input: .lastUser) == "hello there")
        // The same words about another image are another partition.
        func withImage(_ url: String) throws -> ChatRequest {
            try JSONCoding.decode(ChatRequest.self, from: Array(
                #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"\#(url)"}}]}]}"#.utf8
            ))
        }
        let cat = try SemanticKey.partition(of: withImage("https://x/cat.png"), input: .lastUser, targets: [], scope: "k")
        let dog = try SemanticKey.partition(of: withImage("https://x/dog.png"), input: .lastUser, targets: [], scope: "k")
        #expect(cat != dog)
        #expect(try SemanticKey.text(of: withImage("https://x/cat.png"), input: .lastUser) == "what is this?")
        #expect(try SemanticKey.text(of: request("hi"), input: .conversation) == "system: be brief\nuser: hi")
    }
}

