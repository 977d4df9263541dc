import SwitchboardCore
import SwitchboardTesting
import Testing

@Suite struct AzureProviderTests {
    static let config = standardConfig(
        extraProviders: """
              - name: azure
                type: azure
                base_url: ${UPSTREAM_ROOT}
                api_key: \(FakeOpenAIUpstream.apiKey)
                api_version: "2024-10-21"
            """,
        extraModels: """
              - name: corp-gpt
                targets: [{ provider: azure, model: my-gpt4o-deployment }]
            """
    )

    @Test func deploymentInThePathKeyInTheHeaderFiltersPassThrough() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"corp-gpt","messages":[{"role":"user","content":"hi"}]}"#, headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: hi")
            #expect(json["prompt_filter_results"]?.arrayValue?.first?["content_filter_results"]?["hate"]?["severity"] == "safe")
            #expect(json["choices"]?.arrayValue?.first?["content_filter_results"]?["violence"]?["filtered"] == false)
            let sent = try #require(await gateway.upstream.recorder.last)
            #expect(sent.path == "/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21")
            #expect(sent.authorization == FakeOpenAIUpstream.apiKey)
        }
    }

    @Test func streamWithAFilterOnlyFirstChunk() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"corp-gpt","stream":true,"messages":[{"role":"user","content":"a b"}]}"#, headers: authHeaders
            )
            let chunks = try sseEvents(response.body).dropLast().map(decode)
            #expect(sseEvents(response.body).last == "[DONE]")
            #expect(chunks.first?["prompt_filter_results"] != nil)
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "echo: a b")
        }
    }

    @Test func upstreamErrorsAreMapped() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"azure/fail-429","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == 429)
            #expect(response.header("retry-after") == "7")
            #expect(!response.body.contains(FakeOpenAIUpstream.secretMarker))
        }
    }
}
