import SwitchboardCore
import SwitchboardTesting
import Testing

/// The chat orchestrator's model catalogue over HTTP: list filters, providers, search, compare
/// and details, scoped to what the caller may use.
@Suite struct ModelCatalogTests {
    static let config = standardConfig(extraModels: """
          - name: priced
            targets: [{ provider: fake, model: fake-model }]
            price: { input_per_mtok: 1.5, output_per_mtok: 6, max_output_tokens: 4096 }
        """)

    static func ids(_ list: JSONValue?) -> [String] {
        guard case .array(let items)? = list else { return [] }
        return items.compactMap { $0["id"]?.stringValue }
    }

    @Test func theListIsFilteredByProviderCapabilityAndText() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let onFake = Self.ids(try await gateway.get("/v1/models?provider=fake", headers: authHeaders).json()["data"])
            #expect(onFake.contains("gpt-test") && onFake.contains("priced") && onFake.contains("fake/fake-model"))
            #expect(!onFake.contains { $0.hasPrefix("mock/") })
            let named = Self.ids(try await gateway.get("/v1/models?q=PRICE", headers: authHeaders).json()["data"])
            #expect(named == ["priced"])
            #expect(Self.ids(try await gateway.get("/v1/models?capability=embeddings&provider=fake", headers: authHeaders).json()["data"]).isEmpty)
            let bad = try await gateway.get("/v1/models?capability=telepathy", headers: authHeaders)
            #expect(bad.status == 400)
            #expect(try bad.json()["error"]?["message"] == "`capability` must be one of chat, tools, vision, embeddings, not `telepathy`.")
        }
    }

    @Test func detailsSearchCompareAndProviders() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            _ = try await gateway.post("/v1/chat/completions", #"{"model":"priced","messages":[{"role":"user","content":"hi"}]}"#, headers: authHeaders)
            let details = try await gateway.get("/v1/models/priced?details=true", headers: authHeaders).json()
            #expect(details["targets"] == ["fake/fake-model"])
            #expect(details["providers"] == ["fake"])
            #expect(details["pricing"]?["input_per_mtok"] == 1.5)
            #expect(details["max_output_tokens"] == 4096)
            #expect(details["observed"]?["requests"] == 1)
            #expect(details["observed"]?["success_rate"] == 1)
            // Without `details` it stays OpenAI's model object.
            let plain = try await gateway.get("/v1/models/priced", headers: authHeaders).json()
            #expect(plain["targets"] == nil)

            let found = try await gateway.get("/v1/models/search?q=gpt", headers: authHeaders).json()
            #expect(Self.ids(found["data"]).contains("gpt-test"))
            let missing = try await gateway.get("/v1/models/search", headers: authHeaders)
            #expect(missing.status == 400)
            #expect(try missing.json()["error"]?["message"] == "`q` (part of a model id) is required.")

            let compared = try await gateway.get("/v1/models/compare?model_ids=priced,fake%2Ffake-model", headers: authHeaders).json()
            #expect(Self.ids(compared["data"]) == ["priced", "fake/fake-model"])
            // A priced alias prices its targets too.
            #expect(compared["data"]?[1]?["pricing"]?["input_per_mtok"] == 1.5)
            let unknown = try await gateway.get("/v1/models/compare?model_ids=priced,no-such-model", headers: authHeaders)
            #expect(unknown.status == 404)
            #expect(try unknown.json()["error"]?["code"] == "MODEL_NOT_FOUND")
            let none = try await gateway.get("/v1/models/compare", headers: authHeaders)
            #expect(none.status == 400)

            let providers = try await gateway.get("/v1/models/providers", headers: authHeaders).json()
            guard case .array(let list)? = providers["data"], let fake = list.first(where: { $0["name"] == "fake" }) else {
                Issue.record("no provider fake: \(providers)")
                return
            }
            #expect(fake["type"] == "openai-compatible")
            #expect(fake["health"] == "up")
            #expect(fake["models"]?.arrayValue?.contains("priced") == true)
            #expect(fake["observed"]?["requests"] == 1)
        }
    }

    @Test func aRestrictedKeySeesOnlyItsModelsAndNoHealth() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"narrow","role":"user","models":["priced"]}"#)
            let headers = bearer(key.secret)
            #expect(Self.ids(try await gateway.get("/v1/models/search?q=e", headers: headers).json()["data"]) == ["priced"])
            let details = try await gateway.get("/v1/models/priced?details=true", headers: headers).json()
            #expect(details["observed"] == nil, "per-target health is operational detail")
            #expect(try await gateway.get("/v1/models/compare?model_ids=gpt-test", headers: headers).status == 404)
            let providers = try await gateway.get("/v1/models/providers", headers: headers).json()
            guard case .array(let list)? = providers["data"] else { Issue.record("no providers"); return }
            #expect(list.allSatisfy { $0["health"] == nil })
            #expect(list.first { $0["name"] == "fake" }?["models"] == ["priced"])
        }
    }

    @Test func refreshReadsEachProvidersOwnModelList() async throws {
        let config = standardConfig(extraProviders: """
              - name: claude
                type: anthropic
                base_url: ${ANTHROPIC_BASE}
                api_key: \(FakeAnthropicUpstream.apiKey)
              - name: gem
                type: gemini
                base_url: ${GEMINI_BASE}
                api_key: \(FakeGeminiUpstream.apiKey)
              - name: az
                type: azure
                base_url: ${UPSTREAM_ROOT}
                api_key: \(FakeOpenAIUpstream.apiKey)
              - name: locked
                type: openai-compatible
                base_url: ${UPSTREAM}
                api_key: not-the-right-key
            """)
        try await withGateway(config: config, transport: .router) { gateway in
            #expect(!Self.ids(try await gateway.get("/v1/models", headers: authHeaders).json()["data"]).contains("fake/fake-large"))
            let refreshed = try await gateway.post("/v1/models/refresh", "{}", headers: authHeaders)
            #expect(refreshed.status == 200)
            let results = try refreshed.json()
            #expect(results["refreshed"] == true)
            guard case .array(let rows)? = results["data"] else { Issue.record("no results"); return }
            func row(_ name: String) -> JSONValue? { rows.first { $0["provider"]?.stringValue == name } }
            #expect(row("fake")?["models"] == 2)
            #expect(row("claude")?["models"] == 1)
            #expect(row("gem")?["models"] == 1, "only models that answer generateContent or embed")
            #expect(row("az")?["models"] == 1)
            #expect(row("locked")?["error"] == "the provider answered HTTP 401")
            #expect(row("mock") == nil)
            // No upstream body or key in the answer.
            #expect(!refreshed.body.contains("invalid_api_key") && !refreshed.body.contains(FakeOpenAIUpstream.apiKey))

            let listed = Self.ids(try await gateway.get("/v1/models", headers: authHeaders).json()["data"])
            for id in ["fake/fake-large", "claude/claude-sonnet-4-5", "gem/gemini-2.5-flash", "az/prod-gpt"] {
                #expect(listed.contains(id), "\(id)")
            }
            #expect(!listed.contains("gem/aqa"))
            let large = try await gateway.get("/v1/models/fake%2Ffake-large?details=true", headers: authHeaders).json()
            #expect(large["context_window"] == 128_000)
            #expect(large["max_output_tokens"] == 16_384)
            #expect(large["pricing"]?["input_per_mtok"] == 2.5)
            #expect(large["pricing"]?["output_per_mtok"] == 10)
            #expect(try await gateway.get("/v1/models/gem%2Fgemini-2.5-flash?details=true", headers: authHeaders).json()["context_window"] == 1_048_576)

            // A second refresh right after answers what is held.
            #expect(try await gateway.post("/v1/models/refresh", "{}", headers: authHeaders).json()["refreshed"] == false)
        }
    }
}
