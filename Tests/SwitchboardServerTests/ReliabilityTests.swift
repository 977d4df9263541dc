import AsyncHTTPClient
import NIOCore
import SwitchboardCore
import SwitchboardTesting
import Testing

/// Failure handling end to end, against fault-injecting fake upstreams.
@Suite struct ReliabilityTests {
    static let chat = #"{"model":"MODEL","messages":[{"role":"user","content":"hi"}]}"#
    static func body(_ model: String, stream: Bool = false) -> String {
        stream
            ? #"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            : #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#
    }

    /// Waits until the gateway reports a call in flight, so the next request meets a busy target.
    static func waitForInFlight(_ gateway: GatewayTestContext) async throws {
        for _ in 0..<500 {
            if try await gateway.get("/health/detailed", headers: authHeaders).json()["in_flight"] == 1 { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("no call was in flight")
    }

    @Test func flakyTargetIsRetried() async throws {
        let config = standardConfig(extraModels: """
              - name: wobbly
                targets: [{ provider: fake, model: flaky }]
                retries: 1
                backoff_ms: 1
            """)
        try await withGateway(config: config) { gateway in
            for _ in 0..<4 {
                let response = try await gateway.post("/v1/chat/completions", Self.body("wobbly"), headers: authHeaders)
                #expect(response.status == 200)
            }
            // Every other call failed once and was retried on the same target.
            #expect(await gateway.upstream.recorder.calls(model: "flaky") == 8)
            let metrics = try await gateway.get("/metrics", headers: authHeaders).body
            #expect(metrics.contains(#"upstream_retries_total{provider="fake",model="flaky"} 4"#))
            #expect(metrics.contains(#"upstream_requests_total{provider="fake",model="flaky",outcome="http_5xx"} 4"#))
        }
    }

    @Test func noRetryOnClientErrors() async throws {
        let config = standardConfig(extraModels: """
              - name: strict
                targets: [{ provider: fake, model: fail-400 }, { provider: fake, model: fake-model }]
                retries: 3
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("strict"), headers: authHeaders)
            #expect(response.status == 400)
            #expect(await gateway.upstream.recorder.calls(model: "fail-400") == 1)
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 0)
        }
    }

    @Test func rateLimitedTargetCoolsDown() async throws {
        let config = standardConfig(extraModels: """
              - name: limited
                targets: [{ provider: fake, model: fail-429 }, { provider: fake, model: fake-model }]
            """)
        try await withGateway(config: config) { gateway in
            for _ in 0..<3 {
                let response = try await gateway.post("/v1/chat/completions", Self.body("limited"), headers: authHeaders)
                #expect(response.status == 200)
                #expect(response.header("x-switchboard-model") == "fake-model")
            }
            // The 429 said Retry-After: 7, so the target was skipped after the first call.
            #expect(await gateway.upstream.recorder.calls(model: "fail-429") == 1)
            let detailed = try await gateway.get("/health/detailed", headers: authHeaders).json()
            let fake = try #require(detailed["providers"]?.arrayValue?.first { $0["name"] == "fake" })
            let target = try #require(fake["targets"]?.arrayValue?.first { $0["model"] == "fail-429" })
            #expect((target["cooldown_remaining_s"]?.doubleValue ?? 0) > 5)
            #expect(target["last_error"]?.stringValue?.contains("HTTP 429") == true)
        }
    }

    @Test func rateLimitWithNothingElseIsA429WithRetryAfter() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("fake/fail-429"), headers: authHeaders)
            #expect(response.status == 429)
            #expect(response.header("retry-after") == "7")
            #expect(try response.json()["error"]?["code"] == "RATE_LIMIT_EXCEEDED")
        }
    }

    @Test func breakerOpensAndProbes() async throws {
        let config = standardConfig(
            extraModels: """
                  - name: shaky
                    targets: [{ provider: fake, model: fail-500 }, { provider: fake, model: fake-model }]
                """
        ) + """

            reliability:
              breaker: { consecutive_failures: 2, cooldown_s: 3 }
            """
        try await withGateway(config: config) { gateway in
            for _ in 0..<5 {
                let response = try await gateway.post("/v1/chat/completions", Self.body("shaky"), headers: authHeaders)
                #expect(response.status == 200)
            }
            // Two failures opened the breaker; the next three calls went straight to the healthy target.
            #expect(await gateway.upstream.recorder.calls(model: "fail-500") == 2)
            var detailed = try await gateway.get("/health/detailed", headers: authHeaders).json()
            var target = detailed["providers"]?.arrayValue?.first?["targets"]?.arrayValue?.first { $0["model"] == "fail-500" }
            #expect(target?["breaker"] == "open")
            #expect(detailed["status"] == "degraded")
            let metrics = try await gateway.get("/metrics", headers: authHeaders).body
            #expect(metrics.contains(#"breaker_state{target="fake/fail-500"} 2"#))

            // After the cooldown one probe goes through; it fails, so the breaker opens again.
            try await Task.sleep(for: .milliseconds(3100))
            let probe = try await gateway.post("/v1/chat/completions", Self.body("shaky"), headers: authHeaders)
            #expect(probe.status == 200)
            #expect(probe.header("x-switchboard-attempts") == "2")
            #expect(await gateway.upstream.recorder.calls(model: "fail-500") == 3)
            detailed = try await gateway.get("/health/detailed", headers: authHeaders).json()
            target = detailed["providers"]?.arrayValue?.first?["targets"]?.arrayValue?.first { $0["model"] == "fail-500" }
            #expect(target?["breaker"] == "open")
        }
    }

    @Test func fallbackChainEndsInAClearErrorNamingEveryAttempt() async throws {
        let config = standardConfig(extraModels: """
              - name: doomed
                targets: [{ provider: fake, model: fail-500 }, { provider: fake, model: fail-503 }]
                fallbacks: [also-doomed]
              - name: also-doomed
                targets: [{ provider: fake, model: invalid-json }]
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("doomed"), headers: authHeaders)
            #expect(response.status == 502)
            let message = try #require(try response.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("All 3 attempts"))
            #expect(message.contains("HTTP 500"))
            #expect(message.contains("HTTP 503"))
            #expect(message.contains("invalid response"))
            #expect(!response.body.contains(FakeOpenAIUpstream.secretMarker))
        }
    }

    @Test func fallbackModelServes() async throws {
        let config = standardConfig(extraModels: """
              - name: primary
                targets: [{ provider: fake, model: fail-503 }]
                fallbacks: [gpt-test]
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("primary"), headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-model") == "fake-model")
            #expect(response.header("x-switchboard-provider") == "fake")
            #expect(response.header("x-switchboard-attempts") == "2")
            let metrics = try await gateway.get("/metrics", headers: authHeaders).body
            #expect(metrics.contains(#"fallbacks_total{from="primary",to="gpt-test"} 1"#))
        }
    }

    @Test func contextWindowFallback() async throws {
        let config = standardConfig(extraModels: """
              - name: small
                targets: [{ provider: fake, model: fail-400 }]
                context_window_fallbacks: [gpt-test]
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("small"), headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-model") == "fake-model")
        }
    }

    @Test func timeoutsFailOverAndEndInA504() async throws {
        let config = standardConfig(extraModels: """
              - name: patient
                targets: [{ provider: fake, model: slow }, { provider: fake, model: fake-model }]
                timeout_s: 1
              - name: hopeless
                targets: [{ provider: fake, model: slow }]
                timeout_s: 0.2
            """)
        try await withGateway(config: config) { gateway in
            let served = try await gateway.post("/v1/chat/completions", Self.body("patient"), headers: authHeaders)
            #expect(served.status == 200)
            #expect(served.header("x-switchboard-model") == "fake-model")
            let failed = try await gateway.post("/v1/chat/completions", Self.body("hopeless"), headers: authHeaders)
            #expect(failed.status == 504)
            #expect(try failed.json()["error"]?["code"] == "UPSTREAM_TIMEOUT")
        }
    }

    @Test func slowFirstByteFailsOverInvisibly() async throws {
        let config = standardConfig(extraModels: """
              - name: eager
                targets: [{ provider: fake, model: slow-first-chunk }, { provider: fake, model: fake-model }]
                first_byte_timeout_s: 0.3
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("eager", stream: true), headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-model") == "fake-model")
            #expect(response.header("x-switchboard-attempts") == "2")
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            #expect(!response.body.contains("error"))
        }
    }

    @Test func stalledStreamEndsWithAnErrorAndIsNotRetried() async throws {
        let config = standardConfig(extraModels: """
              - name: stalling
                targets: [{ provider: fake, model: stall-stream }, { provider: fake, model: fake-model }]
                idle_timeout_s: 0.3
                retries: 2
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("stalling", stream: true), headers: authHeaders)
            #expect(response.status == 200)
            let events = sseEvents(response.body)
            #expect(events.contains { $0.contains("stalling") })
            let last = try #require(events.last)
            #expect(last.hasPrefix("error|"))
            #expect(last.contains("UPSTREAM_TIMEOUT"))
            // Bytes had reached the client: no second attempt anywhere.
            #expect(await gateway.upstream.recorder.calls(model: "stall-stream") == 1)
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 0)
        }
    }

    @Test func brokenStreamIsNotRetriedAfterItsFirstByte() async throws {
        let config = standardConfig(extraModels: """
              - name: fragile
                targets: [{ provider: fake, model: die-mid-stream }, { provider: fake, model: fake-model }]
                retries: 2
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("fragile", stream: true), headers: authHeaders)
            #expect(sseEvents(response.body).last?.hasPrefix("error|") == true)
            #expect(await gateway.upstream.recorder.calls(model: "die-mid-stream") == 1)
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == 0)
        }
    }

    @Test func refusedConnectionFailsOver() async throws {
        let config = standardConfig(
            extraProviders: """
                  - name: dead
                    type: openai-compatible
                    base_url: http://127.0.0.1:1/v1
                """,
            extraModels: """
                  - name: survivor
                    targets: [{ provider: dead, model: m }, { provider: fake, model: fake-model }]
                """
        )
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("survivor", stream: true), headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-provider") == "fake")
            #expect(sseEvents(response.body).last == "[DONE]")
        }
    }

    @Test func perTargetConcurrencyBound() async throws {
        let config = standardConfig(
            extraProviders: """
                  - name: slowmock
                    type: mock
                    latency_ms: 1500
                    max_concurrent: 1
                """,
            extraModels: """
                  - name: narrow
                    targets: [{ provider: slowmock, model: m }]
                """
        )
        try await withGateway(config: config) { gateway in
            async let first = gateway.post("/v1/chat/completions", Self.body("narrow"), headers: authHeaders)
            try await Self.waitForInFlight(gateway)
            let second = try await gateway.post("/v1/chat/completions", Self.body("narrow"), headers: authHeaders)
            #expect(second.status == 429)
            #expect(try second.json()["error"]?["code"] == "RATE_LIMIT_EXCEEDED")
            #expect(try second.json()["error"]?["message"]?.stringValue?.contains("concurrent calls") == true)
            #expect(second.header("retry-after") == "1")
            #expect(try await first.status == 200)
        }
    }

    @Test func globalConcurrencyBound() async throws {
        let config = standardConfig(extraProviders: """
              - name: slowmock
                type: mock
                latency_ms: 1500
            """) + """

            reliability:
              max_concurrent_upstream: 1
            """
        try await withGateway(config: config) { gateway in
            async let first = gateway.post("/v1/chat/completions", Self.body("slowmock/a"), headers: authHeaders)
            try await Self.waitForInFlight(gateway)
            let second = try await gateway.post("/v1/chat/completions", Self.body("mock/b"), headers: authHeaders)
            #expect(second.status == 429)
            #expect(try second.json()["error"]?["message"]?.stringValue?.contains("concurrent upstream calls") == true)
            #expect(try await first.status == 200)
            let third = try await gateway.post("/v1/chat/completions", Self.body("mock/b"), headers: authHeaders)
            #expect(third.status == 200)
        }
    }

    @Test func strategiesServeFromTheirPick() async throws {
        let config = standardConfig(
            extraProviders: """
                  - name: fast
                    type: mock
                    reply: fast
                  - name: slow
                    type: mock
                    reply: slow
                    latency_ms: 60
                """,
            extraModels: """
                  - name: quickest
                    strategy: least-latency
                    targets: [{ provider: slow, model: x }, { provider: fast, model: x }]
                  - name: thrifty
                    strategy: cheapest
                    targets: [{ provider: fast, model: gpt-4o }, { provider: slow, model: gpt-4o-mini }]
                """
        )
        try await withGateway(config: config) { gateway in
            // Measure both once, then least-latency keeps choosing the fast one.
            _ = try await gateway.post("/v1/chat/completions", Self.body("slow/x"), headers: authHeaders)
            _ = try await gateway.post("/v1/chat/completions", Self.body("fast/x"), headers: authHeaders)
            for _ in 0..<5 {
                let response = try await gateway.post("/v1/chat/completions", Self.body("quickest"), headers: authHeaders)
                #expect(response.header("x-switchboard-provider") == "fast")
            }
            // gpt-4o-mini is cheaper than gpt-4o in the price table.
            let cheap = try await gateway.post("/v1/chat/completions", Self.body("thrifty"), headers: authHeaders)
            #expect(cheap.header("x-switchboard-model") == "gpt-4o-mini")
        }
    }

    @Test func recommendRanksFromObservations() async throws {
        let config = standardConfig(extraModels: """
              - name: cheap
                targets: [{ provider: mock, model: gpt-4o-mini }]
              - name: pricey
                targets: [{ provider: mock, model: gpt-4o }]
              - name: broken
                targets: [{ provider: fake, model: fail-500 }]
                price: { input_per_mtok: 0.01, output_per_mtok: 0.01 }
            """)
        try await withGateway(config: config) { gateway in
            for model in ["cheap", "pricey", "broken", "cheap", "pricey", "broken"] {
                _ = try await gateway.post("/v1/chat/completions", Self.body(model), headers: authHeaders)
            }
            let response = try await gateway.post(
                "/api/v1/models/recommend",
                #"{"task":"code","max_cost":0.01,"min_performance":0.5,"preferred_providers":["mock"],"exclude_models":["gpt-test"]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let recommendations = try #require(try response.json()["recommendations"]?.arrayValue)
            let models = recommendations.compactMap { $0["model"]?.stringValue }
            #expect(models.first == "cheap")
            #expect(models.contains("pricey"))
            // Observed failures rule `broken` out, however cheap it is.
            #expect(!models.contains("broken"))
            #expect(!models.contains("gpt-test"))
            let top = recommendations[0]
            #expect(top["performanceScore"]?.doubleValue ?? 0 > 0.5)
            #expect(top["costEfficiency"]?.doubleValue == 1)
            #expect((top["confidence"]?.doubleValue ?? 0) > 0)
            #expect(top["reason"]?.stringValue?.contains("100% success over 2") == true)

            let invalid = try await gateway.post("/api/v1/models/recommend", #"{"min_performance":3}"#, headers: authHeaders)
            #expect(invalid.status == 400)
        }
    }

    @Test func recommendFiltersByTaskAndAlwaysScores() async throws {
        let config = standardConfig(extraModels: """
              - name: talker
                targets: [{ provider: mock, model: gpt-4o-mini }]
              - name: embedder
                targets: [{ provider: mock, model: text-embedding-3-small }]
              - name: seer
                targets: [{ provider: mock, model: house-model }]
                capabilities: [chat, vision]
              - name: plain
                targets: [{ provider: mock, model: house-model }]
                capabilities: [chat]
            """)
        try await withGateway(config: config) { gateway in
            func recommended(_ task: String) async throws -> [JSONValue] {
                let response = try await gateway.post(
                    "/api/v1/models/recommend", #"{"task":"\#(task)","limit":50}"#, headers: authHeaders
                )
                #expect(response.status == 200)
                return try #require(try response.json()["recommendations"]?.arrayValue)
            }
            let chat = try await recommended("code")
            let chatModels = Set(chat.compactMap { $0["model"]?.stringValue })
            #expect(chatModels.isSuperset(of: ["talker", "seer", "plain"]))
            #expect(!chatModels.contains("embedder"))
            #expect(!chatModels.contains("mock/text-embedding-3-small"))
            // Nothing was observed and the house model has no price: the documented prior, never a missing field.
            for row in chat {
                #expect(row["confidence"]?.doubleValue != nil)
                #expect(row["costEfficiency"]?.doubleValue != nil)
                #expect(row["performanceScore"]?.doubleValue != nil)
            }
            let plain = try #require(chat.first { $0["model"]?.stringValue == "plain" })
            #expect(plain["performanceScore"]?.doubleValue == 0.5)
            #expect(plain["costEfficiency"]?.doubleValue == 0.5)
            #expect(plain["confidence"]?.doubleValue == 0)

            let embeddings = Set(try await recommended("embeddings").compactMap { $0["model"]?.stringValue })
            #expect(embeddings.contains("embedder"))
            #expect(!embeddings.contains("talker"))
            #expect(!embeddings.contains("plain"))

            let vision = Set(try await recommended("vision").compactMap { $0["model"]?.stringValue })
            #expect(vision.contains("seer"))
            #expect(vision.contains("talker"))
            #expect(!vision.contains("plain"))
            #expect(!vision.contains("embedder"))
        }
    }
}

@Suite struct CategoryRoutingTests {
    static let config = standardConfig() + """

        routing:
          categories:
            chat: gpt-test
            premium: mock/echo
        """

    @Test func categoryPicksTheModelWhenNoneIsNamed() async throws {
        try await withGateway(config: Self.config) { gateway in
            let byHeader = try await gateway.post(
                "/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders + [("x-switchboard-category", "chat")]
            )
            #expect(byHeader.status == 200)
            #expect(byHeader.header("x-switchboard-model") == "fake-model")
            let byMetadata = try await gateway.post(
                "/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi"}],"metadata":{"category":"premium"}}"#,
                headers: authHeaders
            )
            #expect(byMetadata.status == 200)
            #expect(byMetadata.header("x-switchboard-provider") == "mock")
            // A named model wins over the category.
            let named = try await gateway.post(
                "/v1/chat/completions", #"{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders + [("x-switchboard-category", "chat")]
            )
            #expect(named.header("x-switchboard-provider") == "mock")
            let unknown = try await gateway.post(
                "/v1/chat/completions", #"{"messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders + [("x-switchboard-category", "gold")]
            )
            #expect(unknown.status == 400)
            let message = try unknown.json()["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("`gold`"))
            #expect(message.contains("chat, premium"))
        }
    }

    @Test func timeoutChainEndsInA504NamingEveryAttempt() async throws {
        let config = standardConfig(extraModels: """
              - name: sluggish
                targets: [{ provider: fake, model: slow }, { provider: fake, model: slow-first-chunk }]
                timeout_s: 0.2
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", ReliabilityTests.body("sluggish", stream: true), headers: authHeaders)
            #expect(response.status == 504)
            let message = try #require(try response.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("All 2 attempts"))
            #expect(try response.json()["error"]?["code"] == "UPSTREAM_TIMEOUT")
        }
    }
}

@Suite struct TargetSpecificFailureTests {
    @Test func rejectedCredentialsOrUnknownModelMoveToTheNextTarget() async throws {
        let config = standardConfig(extraModels: """
              - name: keyed
                targets: [{ provider: fake, model: fail-401 }, { provider: fake, model: fail-404 }, { provider: fake, model: fake-model }]
                retries: 2
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", ReliabilityTests.body("keyed"), headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-attempts") == "3")
            // Never retried on the same target.
            #expect(await gateway.upstream.recorder.calls(model: "fail-401") == 1)
            #expect(await gateway.upstream.recorder.calls(model: "fail-404") == 1)
        }
    }

    @Test func aTargetThatCannotHonourAFieldIsSkipped() async throws {
        let config = AnthropicProviderTests.config() + """

            """
        let withFallback = config.replacingOccurrences(
            of: "targets: [{ provider: claude, model: claude-3-5-haiku-latest }]",
            with: "targets: [{ provider: claude, model: claude-3-5-haiku-latest }, { provider: fake, model: fake-model }]"
        )
        try await withGateway(config: withFallback) { gateway in
            let served = try await gateway.post(
                "/v1/chat/completions", #"{"model":"haiku","messages":[{"role":"user","content":"x"}],"n":2}"#, headers: authHeaders
            )
            #expect(served.status == 200)
            #expect(served.header("x-switchboard-provider") == "fake")
            #expect(await gateway.anthropic.recorder.requests.isEmpty)
            // With no target that accepts it, the 400 names the field and the provider.
            let refused = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/x","messages":[{"role":"user","content":"x"}],"n":2}"#, headers: authHeaders
            )
            #expect(refused.status == 400)
            #expect(try refused.json()["error"]?["message"]?.stringValue?.contains("`claude` (anthropic) does not support `n`") == true)
        }
    }

    @Test func coolingDownTargetsAnswer429WithTheRemainingWait() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let first = try await gateway.post("/v1/chat/completions", ReliabilityTests.body("fake/fail-429"), headers: authHeaders)
            #expect(first.status == 429)
            #expect(first.header("retry-after") == "7")
            let second = try await gateway.post("/v1/chat/completions", ReliabilityTests.body("fake/fail-429"), headers: authHeaders)
            #expect(second.status == 429)
            #expect(try second.json()["error"]?["code"] == "RATE_LIMIT_EXCEEDED")
            #expect((Int(second.header("retry-after") ?? "") ?? 0) >= 5)
            // The cooling target was not called again.
            #expect(await gateway.upstream.recorder.calls(model: "fail-429") == 1)
        }
    }
}

@Suite struct RequestDeadlineTests {
    @Test func oneRequestNeverOutlivesItsOverallTimeout() async throws {
        let config = standardConfig(
            extraServer: "  request_timeout_s: 0.6",
            extraModels: """
                  - name: patient-chain
                    targets: [{ provider: fake, model: slow }, { provider: fake, model: slow }, { provider: fake, model: slow }]
                    timeout_s: 0.4
                    retries: 3
                """
        )
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", ReliabilityTests.body("patient-chain"), headers: authHeaders)
            #expect(response.status == 504)
            let message = try #require(try response.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("used up its"))
            // The budget ran out before every target and retry could be tried.
            #expect(await gateway.upstream.recorder.calls(model: "slow") < 4)
        }
    }
}
