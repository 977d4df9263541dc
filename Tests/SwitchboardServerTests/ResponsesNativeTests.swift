import SwitchboardCore
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Responses API on upstreams that serve it themselves (`responses: native`, the default for
/// `type: openai` and `azure`): a request not stored goes as its bytes and comes back as the
/// upstream's, built-in tools work there and are refused elsewhere, a stored chain is replayed
/// from the gateway's store (nothing kept upstream), and a native target falls back to a bridged one.
@Suite struct ResponsesNativeTests {
    static var backends: [String] { ConversationTests.backends }

    static let config = standardConfig(
        extraProviders: """
              - name: openai-native
                type: openai
                base_url: ${UPSTREAM}
                api_key: \(FakeOpenAIUpstream.apiKey)
              - name: openai-bridge
                type: openai
                base_url: ${UPSTREAM}
                api_key: \(FakeOpenAIUpstream.apiKey)
                responses: bridge
              - name: azure-native
                type: azure
                base_url: ${UPSTREAM_ROOT}
                api_key: \(FakeOpenAIUpstream.apiKey)
              - name: claude
                type: anthropic
                base_url: ${ANTHROPIC_BASE}
                api_key: \(FakeAnthropicUpstream.apiKey)
                models: [claude-test]
            """,
        extraModels: """
              - name: gpt-4o
                targets: [{ provider: openai-native, model: gpt-4o }]
                price: { input_per_mtok: 1000, output_per_mtok: 2000 }
              - name: native-alias
                targets: [{ provider: openai-native, model: gpt-4o }]
              - name: bridged
                targets: [{ provider: openai-bridge, model: fake-model }]
              - name: azure-gpt
                targets: [{ provider: azure-native, model: my-deployment }]
              - name: native-then-claude
                targets: [{ provider: openai-native, model: native-fail }, { provider: claude, model: claude-test }]
              - name: dying-native
                targets: [{ provider: openai-native, model: native-die }]
              - name: sonnet
                targets: [{ provider: claude, model: claude-test }]
            """
    )

    func withNative<Result: Sendable>(
        _ backend: String = "sqlite", _ body: @Sendable (GatewayTestContext, [(String, String)]) async throws -> Result
    ) async throws -> Result {
        try await withGateway(config: Self.config, database: backend == "postgres" ? ConversationTests.postgresURL : nil) { gateway in
            let key = try await gateway.createKey(#"{"name":"native","user_id":"u-\#(UUID().uuidString)","role":"user"}"#)
            return try await body(gateway, bearer(key.secret))
        }
    }

    /// Codex CLI's way: nothing stored, the whole input replayed with a reasoning item's
    /// `encrypted_content`. The request reaches the upstream as its bytes; the answer and the
    /// stream are the upstream's bytes; usage is still read for the ledger.
    @Test func aRequestNotStoredGoesAndComesBackAsItsBytes() async throws {
        try await withNative { gateway, headers in
            let body = """
                {"model": "gpt-4o", "store": false, "include": ["reasoning.encrypted_content"], "reasoning": {"effort": "low"},
                 "input": [{"type": "reasoning", "id": "rs_prev", "summary": [], "encrypted_content": "gAAAAB-earlier+/=="},
                           {"role": "user", "content": "weather?"}]}
                """
            let answered = try await gateway.post("/v1/responses", body, headers: headers)
            #expect(answered.status == 200, "body: \(answered.body)")
            let received = try #require(await gateway.upstream.recorder.last)
            #expect(received.path == "/v1/responses")
            #expect(received.raw == Array(body.utf8), "the request went as its bytes")
            #expect(answered.body == FakeOpenAIUpstream.responsesBody(received.body), "the answer came back as its bytes")
            let response = try answered.json()
            #expect(response["output"]?[0]?["encrypted_content"] == "gAAAAB-fake-encrypted+/==")
            #expect(answered.header("x-switchboard-provider") == "openai-native")
            #expect(answered.header("x-switchboard-conversation-id") == nil)

            let streamed = try await gateway.post("/v1/responses", body.replacingOccurrences(of: #""store": false"#, with: #""store": false, "stream": true"#), headers: headers)
            #expect(streamed.status == 200)
            let streamReceived = try #require(await gateway.upstream.recorder.last)
            #expect(streamed.body == FakeOpenAIUpstream.responsesStream(streamReceived.body).joined(), "the stream came back as its frames")

            // An alias is the target's model: the body goes with that model, its values kept.
            let aliased = try await gateway.post("/v1/responses", body.replacingOccurrences(of: "gpt-4o", with: "native-alias"), headers: headers)
            #expect(aliased.status == 200)
            let aliasReceived = try #require(await gateway.upstream.recorder.last)
            #expect(aliasReceived.body["model"] == "gpt-4o")
            #expect(aliasReceived.body["input"]?[0]?["encrypted_content"] == "gAAAAB-earlier+/==")
            #expect(aliasReceived.body["input"]?[0]?["id"] == "rs_prev")

            // The upstream's usage was read: 13 input and 9 output tokens at 1000/2000 $ per million.
            #expect(answered.header("x-cost-usd").flatMap(Double.init) == 0.031)
        }
    }

    /// Built-in tools go to a native upstream and come back with their items; any other provider
    /// refuses them by name, with the parameter.
    @Test func builtInToolsRunNativelyAndAreRefusedElsewhere() async throws {
        try await withNative { gateway, headers in
            let ask = #"{"model":"MODEL","input":"news of today","tools":[{"type":"web_search"}]}"#
            let native = try await gateway.post("/v1/responses", ask.replacingOccurrences(of: "MODEL", with: "gpt-4o"), headers: headers)
            #expect(native.status == 200, "body: \(native.body)")
            let output = try native.json()["output"]?.arrayValue ?? []
            #expect(output.map { $0["type"]?.stringValue ?? "" } == ["web_search_call", "message"])
            #expect(output.first?["id"] == "ws_native_1")
            let id = try #require(try native.json()["id"]?.stringValue)
            // Stored here: read back with the built-in call, under the gateway's ids.
            let read = try await gateway.get("/v1/responses/\(id)", headers: headers).json()
            #expect(read["output"]?.arrayValue?.map { $0["type"]?.stringValue ?? "" } == ["web_search_call", "message"])
            #expect(read["output"]?[1]?["id"] == output.last?["id"])

            for model in ["sonnet", "bridged"] {
                let refused = try await gateway.post("/v1/responses", ask.replacingOccurrences(of: "MODEL", with: model), headers: headers)
                #expect(refused.status == 400, "\(model): \(refused.body)")
                let error = try refused.json()["error"]
                #expect(error?["param"] == "tools[0]")
                #expect(error?["message"]?.stringValue?.contains("tool `web_search`") == true)
            }
            // Items of built-in tools can be replayed to a native upstream when nothing is stored, and are refused otherwise.
            let item = #"{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}}"#
            let replay = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-4o","store":false,"input":[\#(item),{"role":"user","content":"and?"}]}"#, headers: headers
            )
            #expect(replay.status == 200, "body: \(replay.body)")
            let stored = try await gateway.post("/v1/responses", #"{"model":"gpt-4o","input":[\#(item),{"role":"user","content":"and?"}]}"#, headers: headers)
            #expect(stored.status == 400)
            #expect(try stored.json()["error"]?["param"] == "input[0]")
            let bridgedReplay = try await gateway.post(
                "/v1/responses", #"{"model":"sonnet","store":false,"input":[\#(item),{"role":"user","content":"and?"}]}"#, headers: headers
            )
            #expect(bridgedReplay.status == 400)
            #expect(try bridgedReplay.json()["error"]?["param"] == "input[0]")
        }
    }

    /// A stored chain on a native upstream: the gateway keeps it and replays it as input items
    /// (the reasoning with its `encrypted_content`, the answer without upstream ids), asks the
    /// upstream to keep nothing, and answers under its own ids; streamed turns too.
    @Test(arguments: backends) func aStoredChainIsReplayedFromTheGatewaysStore(backend: String) async throws {
        try await withNative(backend) { gateway, headers in
            let first = try await gateway.post(
                "/v1/responses",
                #"{"model":"gpt-4o","input":"one","instructions":"Be brief.","reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"]}"#,
                headers: headers
            )
            #expect(first.status == 200, "body: \(first.body)")
            let firstJSON = try first.json()
            let firstID = try #require(firstJSON["id"]?.stringValue)
            #expect(firstID != "resp_native_1")
            #expect(firstJSON["store"] == true)
            #expect(firstJSON["instructions"] == "Be brief.")
            #expect(firstJSON["output"]?[1]?["id"]?.stringValue == "msg_" + firstID.dropFirst(5))
            #expect(firstJSON["usage"]?["input_tokens_details"]?["cached_tokens"] == 4)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(sent["store"] == false)
            #expect(sent["instructions"] == "Be brief.")

            let second = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-4o","input":"two","previous_response_id":"\#(firstID)","stream":true}"#, headers: headers
            )
            #expect(second.status == 200)
            let events = try ResponsesTests.events(second.body)
            #expect(events.map(\.name) == [
                "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.completed",
            ])
            #expect(events.map { $0.data["sequence_number"]?.intValue } == (0..<events.count).map { $0 })
            let completed = try #require(events.last?.data["response"])
            let secondID = try #require(completed["id"]?.stringValue)
            #expect(completed["previous_response_id"]?.stringValue == firstID)
            #expect(ResponsesTests.outputText(completed) == "native: two")
            let replayed = try #require(await gateway.upstream.recorder.last?.body)
            #expect(replayed["previous_response_id"] == nil)
            #expect(replayed["store"] == false)
            #expect(replayed["instructions"] == nil, "instructions are not carried over")
            let input = replayed["input"]?.arrayValue ?? []
            #expect(input.map { $0["type"]?.stringValue ?? $0["role"]?.stringValue ?? "" } == ["user", "reasoning", "message", "user"])
            #expect(input[1]["encrypted_content"] == "gAAAAB-fake-encrypted+/==")
            #expect(input[2]["id"] == nil)
            #expect(input[2]["content"]?[0]?["text"] == "native: one")

            let read = try await gateway.get("/v1/responses/\(secondID)", headers: headers)
            #expect(read.status == 200)
            #expect(ResponsesTests.outputText(try read.json()) == "native: two")
            let items = try await gateway.get("/v1/responses/\(secondID)/input_items", headers: headers).json()
            #expect(items["data"]?.arrayValue?.count == 1)

            // Not stored, continuing the chain: replayed the same way, answered as continuing it.
            let third = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-4o","input":"three","store":false,"previous_response_id":"\#(secondID)"}"#, headers: headers
            )
            #expect(third.status == 200, "body: \(third.body)")
            let thirdSent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(thirdSent["previous_response_id"] == nil)
            #expect((thirdSent["input"]?.arrayValue ?? []).map { $0["type"]?.stringValue ?? $0["role"]?.stringValue ?? "" }
                == ["user", "reasoning", "message", "user", "message", "user"])
            let thirdJSON = try third.json()
            #expect(thirdJSON["previous_response_id"]?.stringValue == secondID)
            #expect(ResponsesTests.outputText(thirdJSON) == "native: three")
        }
    }

    /// Function calling over two turns on a native upstream, stored: the call comes back under the
    /// gateway's item id with the upstream's call id, and its output goes back in the replayed chain.
    @Test func functionCallingOverTwoTurnsNatively() async throws {
        try await withNative { gateway, headers in
            let tools = #""tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}],"tool_choice":"required""#
            let asked = try await gateway.post("/v1/responses", #"{"model":"gpt-4o","input":"weather?",\#(tools)}"#, headers: headers)
            #expect(asked.status == 200, "body: \(asked.body)")
            let answer = try asked.json()
            let call = try #require(answer["output"]?[0])
            #expect(call["type"] == "function_call")
            #expect(call["call_id"]?.stringValue == FakeOpenAIUpstream.nativeCallID)
            let id = try #require(answer["id"]?.stringValue)
            let done = try await gateway.post(
                "/v1/responses",
                #"{"model":"gpt-4o","previous_response_id":"\#(id)","input":[{"type":"function_call_output","call_id":"\#(FakeOpenAIUpstream.nativeCallID)","output":"sunny"}]}"#,
                headers: headers
            )
            #expect(done.status == 200, "body: \(done.body)")
            let input = try #require(await gateway.upstream.recorder.last?.body["input"]?.arrayValue)
            #expect(input.map { $0["type"]?.stringValue ?? $0["role"]?.stringValue ?? "" } == ["user", "function_call", "function_call_output"])
            #expect(input[1]["call_id"]?.stringValue == FakeOpenAIUpstream.nativeCallID)
            #expect(input[2]["output"] == "sunny")
        }
    }

    /// A native target that fails falls back to a bridged one; Azure's native API is its v1 path;
    /// `responses: bridge` sends chat completions; a native stream that breaks off ends in `error`.
    @Test func fallbacksAzureBridgeAndABrokenNativeStream() async throws {
        try await withNative { gateway, headers in
            let fallback = try await gateway.post("/v1/responses", #"{"model":"native-then-claude","input":"hello","store":false}"#, headers: headers)
            #expect(fallback.status == 200, "body: \(fallback.body)")
            #expect(fallback.header("x-switchboard-provider") == "claude")
            let json = try fallback.json()
            #expect(json["object"] == "response")
            #expect(!ResponsesTests.outputText(json).isEmpty)

            let azure = try await gateway.post("/v1/responses", #"{"model":"azure-gpt","input":"hi","store":false}"#, headers: headers)
            #expect(azure.status == 200, "body: \(azure.body)")
            let azureReceived = try #require(await gateway.upstream.recorder.last)
            #expect(azureReceived.path == "/openai/v1/responses")
            #expect(azureReceived.body["model"] == "my-deployment")

            let bridged = try await gateway.post("/v1/responses", #"{"model":"bridged","input":"hi","store":false}"#, headers: headers)
            #expect(bridged.status == 200)
            #expect(await gateway.upstream.recorder.last?.path == "/v1/chat/completions")
            #expect(ResponsesTests.outputText(try bridged.json()) == "echo: hi")

            let broken = try await gateway.post("/v1/responses", #"{"model":"dying-native","input":"hi","store":false,"stream":true}"#, headers: headers)
            let events = try ResponsesTests.events(broken.body)
            #expect(events.first?.name == "response.created")
            #expect(events.last?.name == "error")
            #expect(events.last?.data["sequence_number"]?.intValue == events.count - 1)
        }
    }

    /// `reasoning.effort` on the bridge becomes an Anthropic thinking budget, capped under `max_output_tokens`.
    @Test func reasoningEffortBecomesAnAnthropicThinkingBudget() async throws {
        try await withNative { gateway, headers in
            let medium = try await gateway.post(
                "/v1/responses", #"{"model":"sonnet","input":"think","store":false,"reasoning":{"effort":"medium"},"max_output_tokens":8000}"#, headers: headers
            )
            #expect(medium.status == 200, "body: \(medium.body)")
            let sent = try #require(await gateway.anthropic.recorder.last?.body)
            #expect(sent["thinking"]?["type"] == "enabled")
            #expect(sent["thinking"]?["budget_tokens"] == 4096)
            let capped = try await gateway.post(
                "/v1/responses", #"{"model":"sonnet","input":"think","store":false,"reasoning":{"effort":"high"},"max_output_tokens":2000}"#, headers: headers
            )
            #expect(capped.status == 200)
            #expect(try #require(await gateway.anthropic.recorder.last?.body)["thinking"]?["budget_tokens"] == 1999)
        }
    }
}
