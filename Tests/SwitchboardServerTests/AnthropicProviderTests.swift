import SwitchboardCore
import SwitchboardTesting
import Testing

/// The OpenAI front door in front of an Anthropic upstream: translation both ways.
@Suite struct AnthropicProviderTests {
    static func config(drop: Bool = false) -> String {
        standardConfig(
            extraProviders: """
                  - name: claude
                    type: anthropic
                    base_url: ${ANTHROPIC_BASE}
                    api_key: \(FakeAnthropicUpstream.apiKey)
                    models: [claude-3-5-haiku-latest]
                    drop_unsupported_params: \(drop)
                """,
            extraModels: """
                  - name: haiku
                    targets: [{ provider: claude, model: claude-3-5-haiku-latest }]
                """
        )
    }

    @Test func plainChatWithSystemPrompt() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"haiku","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":"Use French."},{"role":"user","content":"hello"}],"temperature":0.3,"stop":["END"],"user":"u-7"}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: hello")
            #expect(json["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect(json["usage"]?["prompt_tokens"] == 12)
            #expect(json["usage"]?["completion_tokens"] == 6)
            #expect(response.header("x-switchboard-provider") == "claude")
            let sent = try #require(await gateway.anthropic.recorder.last)
            #expect(sent.authorization == FakeAnthropicUpstream.apiKey)
            #expect(sent.body["system"] == "Be brief.\n\nUse French.")
            #expect(sent.body["messages"] == [["role": "user", "content": [["type": "text", "text": "hello"]]]])
            // Anthropic requires max_tokens: the configured default fills it in.
            #expect(sent.body["max_tokens"] == 4096)
            #expect(sent.body["temperature"] == 0.3)
            #expect(sent.body["stop_sequences"] == ["END"])
            #expect(sent.body["metadata"] == ["user_id": "u-7"])
            #expect(sent.body["model"] == "claude-3-5-haiku-latest")
        }
    }

    @Test func multiTurnToolCallsImagesAndMergedToolResults() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"haiku","max_tokens":300,"messages":[
                  {"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]},
                  {"role":"assistant","content":null,"tool_calls":[
                    {"id":"toolu_a","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
                    {"id":"toolu_b","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Rome\\"}"}}]},
                  {"role":"tool","tool_call_id":"toolu_a","content":"22C"},
                  {"role":"tool","tool_call_id":"toolu_b","content":"25C"},
                  {"role":"user","content":"which is warmer?"}],
                 "tools":[{"type":"function","function":{"name":"weather","description":"w","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
                 "tool_choice":"auto","parallel_tool_calls":false}
                """,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let sent = try #require(await gateway.anthropic.recorder.last?.body)
            let messages = try #require(sent["messages"]?.arrayValue)
            #expect(messages.count == 3)
            #expect(messages[0]["content"]?.arrayValue?[1] == ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="]])
            #expect(messages[0]["content"]?.arrayValue?[2]["source"] == ["type": "url", "url": "https://example.com/cat.jpg"])
            #expect(messages[1]["role"] == "assistant")
            #expect(messages[1]["content"] == [
                ["type": "tool_use", "id": "toolu_a", "name": "weather", "input": ["city": "Paris"]],
                ["type": "tool_use", "id": "toolu_b", "name": "weather", "input": ["city": "Rome"]],
            ])
            // Both tool results and the next user text share one user turn, results first.
            #expect(messages[2]["role"] == "user")
            #expect(messages[2]["content"] == [
                ["type": "tool_result", "tool_use_id": "toolu_a", "content": "22C"],
                ["type": "tool_result", "tool_use_id": "toolu_b", "content": "25C"],
                ["type": "text", "text": "which is warmer?"],
            ])
            #expect(sent["tools"] == [["name": "weather", "description": "w", "input_schema": ["type": "object", "properties": ["city": ["type": "string"]]]]])
            #expect(sent["tool_choice"] == ["type": "auto", "disable_parallel_tool_use": true])
            #expect(sent["max_tokens"] == 300)
        }
    }

    @Test func toolUseAnswer() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"haiku","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"weather"}}}"#,
                headers: authHeaders
            )
            let choice = try #require(try response.json()["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            #expect(choice["message"]?["tool_calls"]?.arrayValue?.first?["id"] == "toolu_01")
            #expect(choice["message"]?["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == #"{"city":"Paris","days":[1,2]}"#)
            #expect(await gateway.anthropic.recorder.last?.body["tool_choice"] == ["type": "tool", "name": "weather"])
            let required = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"haiku","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"weather"}}],"tool_choice":"required"}"#,
                headers: authHeaders
            )
            #expect(required.status == 200)
            #expect(await gateway.anthropic.recorder.last?.body["tool_choice"] == ["type": "any"])
            #expect(await gateway.anthropic.recorder.last?.body["tools"]?.arrayValue?.first?["input_schema"] == ["type": "object", "properties": [:]])
        }
    }

    @Test func cacheUsageIsCounted() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/cached","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            let usage = try #require(try response.json()["usage"])
            #expect(usage["prompt_tokens"] == 310)
            #expect(usage["completion_tokens"] == 6)
            #expect(usage["prompt_tokens_details"]?["cached_tokens"] == 200)
            #expect(usage["cache_creation_input_tokens"] == 100)
        }
    }

    @Test func thinkingBlocksSurviveTheRoundTrip() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let first = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/thinker","messages":[{"role":"user","content":"think"}]}"#, headers: authHeaders
            )
            let message = try #require(try first.json()["choices"]?.arrayValue?.first?["message"])
            #expect(message["reasoning_content"] == "Let me think.")
            let blocks = try #require(message["thinking_blocks"])
            #expect(blocks == [["type": "thinking", "thinking": "Let me think.", "signature": .string(FakeAnthropicUpstream.signature)]])
            // Sent back on the next turn, the block reaches Anthropic unchanged and first.
            let next = """
                {"model":"claude/thinker","messages":[{"role":"user","content":"think"},
                 {"role":"assistant","content":"echo: think","thinking_blocks":\(String(decoding: try JSONEncoderForTests.encode(blocks), as: UTF8.self))},
                 {"role":"user","content":"again"}]}
                """
            let second = try await gateway.post("/v1/chat/completions", next, headers: authHeaders)
            #expect(second.status == 200)
            let sent = try #require(await gateway.anthropic.recorder.last?.body["messages"]?.arrayValue)
            #expect(sent[1]["content"]?.arrayValue?.first == ["type": "thinking", "thinking": "Let me think.", "signature": .string(FakeAnthropicUpstream.signature)])
            #expect(sent[1]["content"]?.arrayValue?.last == ["type": "text", "text": "echo: think"])
        }
    }

    @Test func streamingTextToolsAndUsage() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let text = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"haiku","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a b c"}]}"#,
                headers: authHeaders
            )
            let chunks = try sseEvents(text.body).dropLast().map(decode)
            #expect(sseEvents(text.body).last == "[DONE]")
            #expect(chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == "assistant")
            let content = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(content == "echo: a b c")
            #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
            #expect(chunks.last?["usage"]?["prompt_tokens"] == 12)
            #expect(chunks.last?["usage"]?["completion_tokens"] == 6)
            #expect(await gateway.anthropic.recorder.last?.body["stream"] == true)

            let tools = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"haiku","stream":true,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"weather"}}],"tool_choice":"required"}"#,
                headers: authHeaders
            )
            let toolChunks = try sseEvents(tools.body).dropLast().map(decode)
            let deltas = toolChunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first }
            #expect(deltas.first?["id"] == "toolu_01")
            #expect(deltas.first?["function"]?["name"] == "weather")
            #expect(deltas.count > 3)
            #expect(deltas.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city": "Paris", "days": [1, 2]}"#)
            #expect(toolChunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls" })
        }
    }

    @Test func streamedThinkingCarriesTheSignature() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/thinker","stream":true,"messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            let chunks = try sseEvents(response.body).dropLast().map(decode)
            let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
            #expect(deltas.compactMap { $0["reasoning_content"]?.stringValue }.joined() == "Let me think.")
            let block = deltas.compactMap { $0["thinking_blocks"]?.arrayValue?.first }.first
            #expect(block?["signature"]?.stringValue == FakeAnthropicUpstream.signature)
        }
    }

    @Test func midStreamErrorEvent() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/stream-error","stream":true,"messages":[{"role":"user","content":"x y"}]}"#, headers: authHeaders
            )
            let last = try #require(sseEvents(response.body).last)
            #expect(last.hasPrefix("error|"))
            #expect(last.contains("overloaded_error"))
            #expect(!response.body.contains(FakeOpenAIUpstream.secretMarker))
        }
    }

    struct Failure: Sendable, CustomTestStringConvertible {
        var model: String
        var status: Int
        var code: String
        var fragment: String
        var testDescription: String { model }
    }

    @Test(arguments: [
        Failure(model: "fail-401", status: 502, code: "UPSTREAM_ERROR", fragment: "credentials"),
        Failure(model: "fail-403", status: 502, code: "UPSTREAM_ERROR", fragment: "permission_error"),
        Failure(model: "fail-429", status: 429, code: "RATE_LIMIT_EXCEEDED", fragment: "rate_limit_error"),
        Failure(model: "fail-500", status: 502, code: "UPSTREAM_ERROR", fragment: "api_error"),
        Failure(model: "fail-529", status: 502, code: "UPSTREAM_ERROR", fragment: "overloaded_error"),
        Failure(model: "invalid-json", status: 502, code: "UPSTREAM_ERROR", fragment: "invalid response"),
    ])
    func upstreamErrors(_ failure: Failure) async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/\#(failure.model)","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == failure.status)
            #expect(try response.json()["error"]?["code"]?.stringValue == failure.code)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains(failure.fragment) == true)
            #expect(!response.body.contains(FakeOpenAIUpstream.secretMarker))
            if failure.model == "fail-429" { #expect(response.header("retry-after") == "9") }
        }
    }

    @Test func embeddingsAreRefused() async throws {
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post("/v1/embeddings", #"{"model":"claude/x","input":"hi"}"#, headers: authHeaders)
            #expect(response.status == 400)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("no embeddings API") == true)
        }
    }

    @Test func unsupportedParametersAreRefusedOrDropped() async throws {
        let body = #"{"model":"haiku","messages":[{"role":"user","content":"x"}],"n":2,"seed":7,"logprobs":true}"#
        try await withGateway(config: Self.config()) { gateway in
            let response = try await gateway.post("/v1/chat/completions", body, headers: authHeaders)
            #expect(response.status == 400)
            let message = try #require(try response.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("`claude`"))
            #expect(message.contains("`n`"))
            #expect(message.contains("`seed`"))
            #expect(message.contains("`logprobs`"))
            #expect(try response.json()["error"]?["param"] == "n")
            #expect(await gateway.anthropic.recorder.requests.isEmpty)
        }
        try await withGateway(config: Self.config(drop: true)) { gateway in
            let response = try await gateway.post("/v1/chat/completions", body, headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-dropped-params") == "n,seed,logprobs")
            let sent = try #require(await gateway.anthropic.recorder.last?.body)
            #expect(sent["n"] == nil)
            #expect(sent["seed"] == nil)
            #expect(sent["logprobs"] == nil)
        }
    }
}

enum JSONEncoderForTests {
    static func encode(_ value: JSONValue) throws -> [UInt8] {
        Array(try JSONCoding.encode(value))
    }
}

@Suite struct AnthropicEdgeCaseTests {
    @Test func redactedThinkingSurvivesStreaming() async throws {
        try await withGateway(config: AnthropicProviderTests.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"claude/redactor","stream":true,"messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            let chunks = try sseEvents(response.body).dropLast().map(decode)
            let block = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["thinking_blocks"]?.arrayValue?.first }.first
            #expect(block == ["type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"])
            // And through the Anthropic door the block comes back as Anthropic wrote it.
            let door = try await gateway.post(
                "/v1/messages", #"{"model":"claude/redactor","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"x"}]}"#,
                headers: AnthropicFrontDoorTests.anthropicHeaders
            )
            let payloads = try sseEvents(door.body).map { try decode(String($0.drop { $0 != "|" }.dropFirst())) }
            #expect(payloads.contains { $0["content_block"] == ["type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"] })
        }
    }

    @Test func promptTooLongGoesToTheContextWindowFallback() async throws {
        let config = AnthropicProviderTests.config().replacingOccurrences(
            of: "targets: [{ provider: claude, model: claude-3-5-haiku-latest }]",
            with: "targets: [{ provider: claude, model: too-long }]\n    context_window_fallbacks: [gpt-test]"
        )
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"haiku","messages":[{"role":"user","content":"long"}]}"#, headers: authHeaders
            )
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-provider") == "fake")
        }
    }

    @Test func anthropicFieldsStayAwayFromOpenAIUpstreams() async throws {
        try await withGateway(config: AnthropicProviderTests.config()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"gpt-test","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":"c"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let messages = try #require(await gateway.upstream.recorder.last?.body["messages"]?.arrayValue)
            #expect(messages[1]["thinking_blocks"] == nil)
            #expect(messages[1]["content"] == "b")
        }
    }

    @Test func simpleContractErrorsKeepTheirShapeBeforeTheController() async throws {
        try await withGateway(config: AnthropicProviderTests.config()) { gateway in
            let response = try await gateway.post("/v1/chat", #"{"model":"gpt-test","messages":[]}"#, headers: [("content-type", "application/json")])
            #expect(response.status == 401)
            let error = try #require(try response.json()["error"])
            #expect(error["code"] == "AUTHENTICATION_ERROR")
            #expect(error["provider"] == .null)
            #expect(error["type"] == nil)
        }
    }
}
