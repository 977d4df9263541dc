import NIOHTTP1
import SwitchboardCore
import SwitchboardTesting
import Testing

/// The exact response cache over real HTTP: hits, scopes, what is never stored, controls,
/// streams from cache, the ledger row and the admin endpoints.
@Suite struct CacheTests {
    static let config = standardConfig(extraModels: """
          - name: priced
            targets: [{ provider: fake, model: fake-model }]
            price: { input_per_mtok: 1000, output_per_mtok: 2000 }
          - name: broken
            targets: [{ provider: fake, model: fail-500 }]
          - name: dying
            targets: [{ provider: fake, model: die-mid-stream }]
          - name: cut
            targets: [{ provider: fake, model: truncated }]
          - name: uncached
            targets: [{ provider: fake, model: fake-model }]
            cache: { enabled: false }
        """) + """

        cache:
          enabled: true
          ttl_s: 3600
          max_entry_bytes: 4096
        """

    static func body(_ model: String = "priced", stream: Bool = false, extra: String = "", text: String = "hello") -> String {
        #"{"model":"\#(model)","stream":\#(stream)\#(extra),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    /// Joined content of an SSE chat stream.
    static func streamedText(_ body: String) throws -> String {
        var text = ""
        for line in body.split(separator: "\n") where line.hasPrefix("data: {") {
            let json = try JSONCoding.decode(JSONValue.self, from: Array(line.dropFirst(6).utf8))
            text += json["choices"]?[0]?["delta"]?["content"]?.stringValue ?? ""
        }
        return text
    }

    @Test func aRepeatedRequestIsAnsweredFromTheCache() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let first = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            #expect(first.status == 200)
            #expect(first.header("x-switchboard-cache") == "miss")
            let key = try #require(first.header("x-switchboard-cache-key"))
            #expect(key.count == 64)
            #expect(first.header("x-cost-usd") == "0.025")

            let second = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            #expect(second.status == 200)
            #expect(second.header("x-switchboard-cache") == "hit")
            #expect(second.header("x-switchboard-cache-key") == key)
            #expect(second.header("age") != nil)
            #expect(second.header("x-cost-usd") == "0.0")
            #expect(try second.json()["choices"]?[0]?["message"]?["content"] == "echo: hello")
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 1)

            // The user field and metadata do not change the answer, so they do not change the key.
            let withUser = try await gateway.post(
                "/v1/chat/completions", Self.body(extra: #","user":"someone-else","metadata":{"k":"v"}"#), headers: authHeaders
            )
            #expect(withUser.header("x-switchboard-cache") == "hit")
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 1)
        }
    }

    @Test func differentParametersNeverHit() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            _ = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            let variants = [
                #","temperature":0.7"#,
                #","response_format":{"type":"json_object"}"#,
                #","tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]"#,
                #","seed":7"#,
                #","logprobs":true"#,
            ]
            for variant in variants {
                let response = try await gateway.post("/v1/chat/completions", Self.body(extra: variant), headers: authHeaders)
                #expect(response.status == 200)
                #expect(response.header("x-switchboard-cache") == "miss", "variant \(variant)")
            }
            // Numbers are normalised: 1 and 1.0 are the same temperature.
            _ = try await gateway.post("/v1/chat/completions", Self.body(extra: #","temperature":1"#), headers: authHeaders)
            let same = try await gateway.post("/v1/chat/completions", Self.body(extra: #","temperature":1.0"#), headers: authHeaders)
            #expect(same.header("x-switchboard-cache") == "hit")
        }
    }

    @Test func twoKeysNeverShareAnEntry() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let alice = try await gateway.createKey(#"{"name":"alice","user_id":"alice"}"#)
            let bob = try await gateway.createKey(#"{"name":"bob","user_id":"bob"}"#)
            let first = try await gateway.post("/v1/chat/completions", Self.body(), headers: bearer(alice.secret))
            #expect(first.header("x-switchboard-cache") == "miss")
            // Bob sends the same prompt, and a `user` field naming Alice's key and user: still his own scope.
            let poisoned = Self.body(extra: #","user":"key:\#(alice.id)""#)
            let second = try await gateway.post("/v1/chat/completions", poisoned, headers: bearer(bob.secret))
            #expect(second.header("x-switchboard-cache") == "miss")
            #expect(second.header("x-switchboard-cache-key") != first.header("x-switchboard-cache-key"))
            let again = try await gateway.post("/v1/chat/completions", Self.body(), headers: bearer(alice.secret))
            #expect(again.header("x-switchboard-cache") == "hit")
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 2)
        }
    }

    @Test func errorsAndTruncatedAnswersAreNotStored() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            for _ in 0..<2 {
                let failed = try await gateway.post("/v1/chat/completions", Self.body("broken"), headers: authHeaders)
                #expect(failed.status == 502)
            }
            #expect(await gateway.upstream.recorder.calls(model: "fail-500") == 2)
            for _ in 0..<2 {
                let cut = try await gateway.post("/v1/chat/completions", Self.body("cut"), headers: authHeaders)
                #expect(cut.status == 200)
                #expect(cut.header("x-switchboard-cache") == "miss")
            }
            #expect(await gateway.upstream.recorder.calls(model: "truncated") == 2)
            let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
            #expect(stats["entries"] == 0)
        }
    }

    @Test func aModelCanTurnTheCacheOff() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            for _ in 0..<2 {
                let response = try await gateway.post("/v1/chat/completions", Self.body("uncached"), headers: authHeaders)
                #expect(response.status == 200)
                #expect(response.header("x-switchboard-cache") == nil)
            }
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 2)
        }
    }

    @Test func noStoreThenNoCacheThenMaxAge() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let noStore = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders + [("cache-control", "no-store")])
            #expect(noStore.header("x-switchboard-cache") == "miss")
            let next = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            #expect(next.header("x-switchboard-cache") == "miss")
            // Stored now; no-cache skips the lookup but stores again.
            let noCache = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders + [("cache-control", "no-cache")])
            #expect(noCache.header("x-switchboard-cache") == "bypass")
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 3)
            // The body extension does the same, and is not sent upstream.
            let bodyNoCache = try await gateway.post(
                "/v1/chat/completions", Self.body(extra: #","cache":{"no_cache":true}"#), headers: authHeaders
            )
            #expect(bodyNoCache.header("x-switchboard-cache") == "bypass")
            #expect(await gateway.upstream.recorder.last?.body["cache"] == nil)
            let hit = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders + [("cache-control", "max-age=3600")])
            #expect(hit.header("x-switchboard-cache") == "hit")
            let bad = try await gateway.post(
                "/v1/chat/completions", Self.body(extra: #","cache":{"ttl_s":-1}"#), headers: authHeaders
            )
            #expect(bad.status == 400)
            #expect(try bad.json()["error"]?["code"] == "VALIDATION_ERROR")
        }
    }

    @Test func anEntryPastTheByteBoundIsNotStored() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let long = String(repeating: "x", count: 5000)
            for _ in 0..<2 {
                let response = try await gateway.post("/v1/chat/completions", Self.body(text: long), headers: authHeaders)
                #expect(response.status == 200)
                #expect(response.header("x-switchboard-cache") == "miss")
            }
            let metrics = try await gateway.get("/metrics", headers: authHeaders)
            #expect(metrics.body.contains(#"cache_operations_total{operation="store",result="too_large"} 2"#))
        }
    }

    @Test func aStreamIsServedFromANonStreamedEntryAndTheOtherWayRound() async throws {
        try await withGateway(config: Self.config) { gateway in
            _ = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            let streamed = try await gateway.post(
                "/v1/chat/completions", Self.body(stream: true, extra: #","stream_options":{"include_usage":true}"#), headers: authHeaders
            )
            #expect(streamed.status == 200)
            #expect(streamed.header("x-switchboard-cache") == "hit")
            #expect(try Self.streamedText(streamed.body) == "echo: hello")
            #expect(streamed.body.hasSuffix("data: [DONE]\n\n"))
            #expect(streamed.body.contains(#""prompt_tokens":11"#))

            // A streamed miss is assembled and stored whole; a non-streamed request then hits it.
            let fresh = try await gateway.post("/v1/chat/completions", Self.body(stream: true, text: "stream me"), headers: authHeaders)
            #expect(fresh.header("x-switchboard-cache") == "miss")
            #expect(try Self.streamedText(fresh.body) == "echo: stream me")
            try await Self.waitForEntries(2, gateway)
            let plain = try await gateway.post("/v1/chat/completions", Self.body(text: "stream me"), headers: authHeaders)
            #expect(plain.header("x-switchboard-cache") == "hit")
            #expect(try plain.json()["choices"]?[0]?["message"]?["content"] == "echo: stream me")

            // The Anthropic front door stores and streams back in its own events.
            let anthropicBody = #"{"model":"priced","max_tokens":64,"messages":[{"role":"user","content":"from claude"}]"#
            let stored = try await gateway.post("/v1/messages", anthropicBody + "}", headers: authHeaders)
            #expect(stored.header("x-switchboard-cache") == "miss")
            let messages = try await gateway.post("/v1/messages", anthropicBody + #","stream":true}"#, headers: authHeaders)
            #expect(messages.header("x-switchboard-cache") == "hit")
            #expect(messages.body.contains(#""text":"echo: from claude""#))
            #expect(messages.body.contains("event: message_stop"))
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 3)
        }
    }

    @Test func aStreamThatBreaksOffIsNotStored() async throws {
        try await withGateway(config: Self.config) { gateway in
            for _ in 0..<2 {
                let response = try await gateway.post("/v1/chat/completions", Self.body("dying", stream: true), headers: authHeaders)
                #expect(response.status == 200)
                #expect(response.header("x-switchboard-cache") == "miss")
            }
            #expect(await gateway.upstream.recorder.calls(model: "die-mid-stream") == 2)
            let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
            #expect(stats["entries"] == 0)
        }
    }

    @Test func aHitIsOnTheLedgerWithWhatItSaved() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            _ = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            _ = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            await gateway.gateway.writer.flush()
            let rows = try await gateway.gateway.store.recent(limit: 10)
            #expect(rows.count == 2)
            let hit = try #require(rows.first { $0.cacheHit })
            let miss = try #require(rows.first { !$0.cacheHit })
            #expect(hit.costUSD == 0)
            #expect(hit.costSavedUSD == miss.costUSD)
            #expect(miss.costSavedUSD == nil)
            let metrics = try await gateway.get("/metrics", headers: authHeaders)
            #expect(metrics.body.contains(#"cache_operations_total{operation="lookup",result="hit"} 1"#))
            #expect(metrics.body.contains("cache_saved_usd_total 0.025"))
            #expect(metrics.body.contains("cache_entries 1"))
        }
    }

    @Test func adminSeesAndEmptiesTheCache() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let first = try await gateway.post("/v1/chat/completions", Self.body(), headers: authHeaders)
            _ = try await gateway.post("/v1/chat/completions", Self.body(text: "other"), headers: authHeaders)
            let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
            #expect(stats["entries"] == 2)
            #expect(stats["backend"] == "memory")
            let key = try #require(first.header("x-switchboard-cache-key"))
            let removed = try await gateway.request(.DELETE, "/admin/cache/\(key)", headers: authHeaders)
            #expect(try removed.json()["deleted"] == 1)
            let again = try await gateway.request(.DELETE, "/admin/cache/\(key)", headers: authHeaders)
            #expect(again.status == 200)
            #expect(try again.json()["deleted"] == 0)
            let notAKey = try await gateway.request(.DELETE, "/admin/cache/not-a-key", headers: authHeaders)
            #expect(notAKey.status == 400)
            let badScope = try await gateway.request(.DELETE, "/admin/cache?scope=nobody", headers: authHeaders)
            #expect(badScope.status == 400)
            let cleared = try await gateway.request(.DELETE, "/admin/cache?model=priced", headers: authHeaders)
            #expect(try cleared.json()["deleted"] == 1)
            let user = try await gateway.createKey(#"{"name":"u","user_id":"u"}"#)
            let denied = try await gateway.get("/admin/cache/stats", headers: bearer(user.secret))
            #expect(denied.status == 403)
        }
    }

    @Test(arguments: [true, false])
    func hitsCountInRateLimitsUnlessConfiguredOtherwise(_ counted: Bool) async throws {
        let config = Self.config + (counted ? "" : "\n  hits_count_in_rate_limits: false")
        try await withGateway(config: config, transport: .router) { gateway in
            let limited = try await gateway.createKey(#"{"name":"limited","rpm":3}"#)
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(try await gateway.post("/v1/chat/completions", Self.body(), headers: bearer(limited.secret)).status)
            }
            // One miss, then hits: counted, the fourth call is over 3 a minute; not counted, only the miss is.
            #expect(statuses == (counted ? [200, 200, 200, 429, 429] : [200, 200, 200, 200, 200]))
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 1)
            if !counted {
                // Misses still count: two more fit in 3 a minute, the third does not.
                var misses: [Int] = []
                for text in ["new one", "new two", "new three"] {
                    misses.append(try await gateway.post("/v1/chat/completions", Self.body(text: text), headers: bearer(limited.secret)).status)
                }
                #expect(misses == [200, 200, 429])
            }
        }
    }

    @Test func aKeyHasItsOwnCacheSettings() async throws {
        // The section is off: only keys that turn the cache on are cached.
        let config = standardConfig() + "\n\ncache:\n  enabled: false"
        try await withGateway(config: config, transport: .router) { gateway in
            let plain = try await gateway.createKey(#"{"name":"plain","user_id":"ann"}"#)
            let shared = #"{"enabled":true,"ttl_s":60,"scope":"user"}"#
            let first = try await gateway.createKey(#"{"name":"a","user_id":"ann","cache":\#(shared)}"#)
            let second = try await gateway.createKey(#"{"name":"b","user_id":"ann","cache":\#(shared)}"#)
            let off = try await gateway.createKey(#"{"name":"off","user_id":"ann","cache":{"enabled":false}}"#)
            let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"per key"}]}"#

            let uncached = try await gateway.post("/v1/chat/completions", body, headers: bearer(plain.secret))
            #expect(uncached.header("x-switchboard-cache") == nil)
            let miss = try await gateway.post("/v1/chat/completions", body, headers: bearer(first.secret))
            #expect(miss.header("x-switchboard-cache") == "miss")
            // Scope `user`: the same user's other key with the same scope shares the entry ...
            let hit = try await gateway.post("/v1/chat/completions", body, headers: bearer(second.secret))
            #expect(hit.header("x-switchboard-cache") == "hit")
            // ... a key with the cache off, or without settings, does not.
            #expect(try await gateway.post("/v1/chat/completions", body, headers: bearer(off.secret)).header("x-switchboard-cache") == nil)
            #expect(try await gateway.post("/v1/chat/completions", body, headers: bearer(plain.secret)).header("x-switchboard-cache") == nil)
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 4)

            let shown = try await gateway.get("/admin/keys/\(first.id)", headers: authHeaders).json()
            #expect(shown["cache"]?["scope"] == "user")
            #expect(shown["cache"]?["ttl_s"] == 60)
            #expect(try await gateway.get("/admin/keys/\(plain.id)", headers: authHeaders).json()["cache"] == .null)

            // A PATCH clears them.
            let cleared = try await gateway.request(.PATCH, "/admin/keys/\(first.id)", body: #"{"cache":null}"#, headers: authHeaders)
            #expect(cleared.status == 200)
            #expect(try cleared.json()["cache"] == .null)
        }
    }

    @Test(arguments: [
        (#""yes""#, "cache"), (#"{"ttl_s":-1}"#, "cache.ttl_s"), (#"{"ttl_s":"long"}"#, "cache.ttl_s"),
        (#"{"scope":"everyone"}"#, "cache.scope"), (#"{"enabled":"on"}"#, "cache.enabled"), (#"{"colour":"red"}"#, "cache.colour"),
    ])
    func badKeyCacheSettingsAreRefused(_ settings: String, _ param: String) async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let answer = try await gateway.post("/admin/keys", #"{"name":"k","cache":\#(settings)}"#, headers: authHeaders)
            #expect(answer.status == 400)
            #expect(try answer.json()["error"]?["param"]?.stringValue == param)
        }
    }

    @Test func onlyAnAdminWidensAKeysCacheScope() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let user = try await gateway.createKey(#"{"name":"u","user_id":"carl"}"#)
            let wide = try await gateway.post(
                "/v1/users/me/api-keys", #"{"name":"mine","cache":{"scope":"global"}}"#, headers: bearer(user.secret)
            )
            #expect(wide.status == 403)
            #expect(try wide.json()["error"]?["param"] == "cache")
            let narrow = try await gateway.post(
                "/v1/users/me/api-keys", #"{"name":"mine","cache":{"enabled":false,"ttl_s":30}}"#, headers: bearer(user.secret)
            )
            #expect(narrow.status == 201)
            #expect(try narrow.json()["cache"]?["enabled"] == false)
        }
    }

    // A generous embedding budget by default: under a loaded test run, 100 ms is not always enough.
    static func semanticConfig(embedding: String = "bow-embed", timeout: Int = 5000) -> String {
        standardConfig(extraModels: """
              - name: embed
                targets: [{ provider: fake, model: \(embedding) }]
              - name: smart
                targets: [{ provider: fake, model: fake-model }]
                price: { input_per_mtok: 1000, output_per_mtok: 2000 }
                cache: { semantic: true }
            """) + """

            cache:
              enabled: true
              semantic: { embedding_model: embed, threshold: 0.95, timeout_ms: \(timeout) }
            """
    }

    static func ask(_ text: String, model: String = "smart", extra: String = "") -> String {
        #"{"model":"\#(model)"\#(extra),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    @Test func aSimilarPromptIsASemanticHit() async throws {
        try await withGateway(config: Self.semanticConfig(), transport: .router) { gateway in
            let first = try await gateway.post("/v1/chat/completions", Self.ask("What is the capital of France?"), headers: authHeaders)
            #expect(first.header("x-switchboard-cache") == "miss")
            // Same words, other case and punctuation: the stored answer, marked as a semantic hit.
            let similar = try await gateway.post("/v1/chat/completions", Self.ask("what is the CAPITAL of france"), headers: authHeaders)
            #expect(similar.header("x-switchboard-cache") == "semantic-hit")
            #expect(similar.header("x-switchboard-cache-key") == first.header("x-switchboard-cache-key"))
            #expect(Double(similar.header("x-switchboard-cache-similarity") ?? "") ?? 0 >= 0.95)
            #expect(similar.header("x-cost-usd") == "0.0")
            #expect(try similar.json()["choices"]?[0]?["message"]?["content"] == "echo: What is the capital of France?")
            // Streamed too.
            let streamed = try await gateway.post(
                "/v1/chat/completions", Self.ask("What is the capital of France", extra: #","stream":true"#), headers: authHeaders
            )
            #expect(streamed.header("x-switchboard-cache") == "semantic-hit")
            #expect(try Self.streamedText(streamed.body) == "echo: What is the capital of France?")
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 1)

            // Other words, other parameters, another key, a model that did not opt in: no hit.
            let other = try await gateway.post("/v1/chat/completions", Self.ask("Tell me about dogs"), headers: authHeaders)
            #expect(other.header("x-switchboard-cache") == "miss")
            let warmer = try await gateway.post(
                "/v1/chat/completions", Self.ask("what is the capital of france", extra: #","temperature":0.9"#), headers: authHeaders
            )
            #expect(warmer.header("x-switchboard-cache") == "miss")
            let tools = #","tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]"#
            let withTools = try await gateway.post("/v1/chat/completions", Self.ask("what is the capital of france", extra: tools), headers: authHeaders)
            #expect(withTools.header("x-switchboard-cache") == "miss")
            let someone = try await gateway.createKey(#"{"name":"someone","user_id":"someone"}"#)
            let otherKey = try await gateway.post("/v1/chat/completions", Self.ask("what is the capital of france"), headers: bearer(someone.secret))
            #expect(otherKey.header("x-switchboard-cache") == "miss")
            _ = try await gateway.post("/v1/chat/completions", Self.ask("Capital of Spain?", model: "gpt-test"), headers: authHeaders)
            let exactOnly = try await gateway.post("/v1/chat/completions", Self.ask("capital of spain", model: "gpt-test"), headers: authHeaders)
            #expect(exactOnly.header("x-switchboard-cache") == "miss")

            let metrics = try await gateway.get("/metrics", headers: authHeaders)
            #expect(metrics.body.contains(#"cache_operations_total{operation="lookup",result="semantic_hit"} 2"#))
        }
    }

    @Test(arguments: ["fail-embed", "slow-embed"])
    func anEmbeddingThatFailsOrIsSlowIsAMiss(_ embedding: String) async throws {
        try await withGateway(config: Self.semanticConfig(embedding: embedding, timeout: 50), transport: .router) { gateway in
            for _ in 0..<2 {
                let answer = try await gateway.post("/v1/chat/completions", Self.ask("What is the capital of France?"), headers: authHeaders)
                #expect(answer.status == 200)
                #expect(try answer.json()["choices"]?[0]?["message"]?["content"] == "echo: What is the capital of France?")
            }
            // The exact cache still works; only the similar prompt misses.
            let similar = try await gateway.post("/v1/chat/completions", Self.ask("what is the capital of france"), headers: authHeaders)
            #expect(similar.status == 200)
            #expect(similar.header("x-switchboard-cache") == "miss")
            let metrics = try await gateway.get("/metrics", headers: authHeaders)
            #expect(metrics.body.contains(#"cache_operations_total{operation="lookup",result="embedding_failed"}"#))
        }
    }

    static func waitForEntries(_ count: Int, _ gateway: GatewayTestContext) async throws {
        // A stream is stored when its settlement runs, just after its last byte went out.
        for _ in 0..<100 {
            let stats = try await gateway.get("/admin/cache/stats", headers: authHeaders).json()
            if stats["entries"]?.intValue == count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the cache never held \(count) entries")
    }
}
