import SwitchboardCore
import SwitchboardTesting
import Testing

/// `POST /v1/messages`: Anthropic's API in front of any provider.
@Suite struct AnthropicFrontDoorTests {
    static let anthropicHeaders: [(String, String)] = [
        ("content-type", "application/json"), ("x-api-key", "sk-test-master"), ("anthropic-version", "2023-06-01"),
    ]
    static let config = AnthropicProviderTests.config()

    @Test func plainMessageBackedByAnOpenAIUpstream() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/messages",
                #"{"model":"gpt-test","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stop_sequences":["END"],"metadata":{"user_id":"u-1"}}"#,
                headers: Self.anthropicHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["type"] == "message")
            #expect(json["role"] == "assistant")
            #expect(json["id"]?.stringValue?.hasPrefix("msg_") == true)
            #expect(json["content"] == [["type": "text", "text": "echo: hi"]])
            #expect(json["stop_reason"] == "end_turn")
            #expect(json["stop_sequence"] == .null)
            // OpenAI's 11 prompt tokens include 3 cached ones: Anthropic counts them apart.
            #expect(json["usage"]?["input_tokens"] == 8)
            #expect(json["usage"]?["cache_read_input_tokens"] == 3)
            #expect(json["usage"]?["output_tokens"] == 7)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(sent["messages"] == [["role": "system", "content": "Be brief."], ["role": "user", "content": "hi"]])
            #expect(sent["max_tokens"] == 256)
            #expect(sent["stop"] == ["END"])
            #expect(sent["user"] == "u-1")
            #expect(sent["metadata"] == nil)
        }
    }

    @Test func toolsAndToolResults() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/messages",
                """
                {"model":"gpt-test","max_tokens":100,"messages":[{"role":"user","content":"weather?"}],
                 "tools":[{"name":"get_weather","description":"w","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
                 "tool_choice":{"type":"any"}}
                """,
                headers: Self.anthropicHeaders
            )
            let json = try response.json()
            #expect(json["stop_reason"] == "tool_use")
            let block = try #require(json["content"]?.arrayValue?.first { $0["type"] == "tool_use" })
            #expect(block["name"] == "get_weather")
            #expect(block["input"] == ["city": "Paris", "units": "celsius", "days": [1, 2, 3]])
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(sent["tool_choice"] == "required")
            #expect(sent["tools"]?.arrayValue?.first?["function"]?["parameters"]?["properties"] == ["city": ["type": "string"]])

            let followUp = try await gateway.post(
                "/v1/messages",
                """
                {"model":"gpt-test","max_tokens":100,"messages":[{"role":"user","content":"weather?"},
                 {"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city":"Paris"}}]},
                 {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":"22C"},{"type":"text","text":"and?"}]}]}
                """,
                headers: Self.anthropicHeaders
            )
            #expect(followUp.status == 200)
            let messages = try #require(await gateway.upstream.recorder.last?.body["messages"]?.arrayValue)
            #expect(messages.count == 4)
            #expect(messages[1]["content"] == "Checking.")
            #expect(messages[1]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == #"{"city":"Paris"}"#)
            #expect(messages[2] == ["role": "tool", "tool_call_id": "toolu_9", "content": "22C"])
            #expect(messages[3] == ["role": "user", "content": "and?"])
        }
    }

    @Test func streamHasAnthropicsExactEventSequence() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/messages", #"{"model":"gpt-test","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"one two"}]}"#,
                headers: Self.anthropicHeaders
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            let events = sseEvents(response.body)
            let names = events.map { String($0.prefix { $0 != "|" }) }
            #expect(names.first == "message_start")
            #expect(names[1] == "ping")
            #expect(names[2] == "content_block_start")
            #expect(names.suffix(3) == ["content_block_stop", "message_delta", "message_stop"])
            #expect(names.dropFirst(3).dropLast(3).allSatisfy { $0 == "content_block_delta" })
            let payloads = try events.map { try decode(String($0.drop { $0 != "|" }.dropFirst())) }
            #expect(payloads[0]["message"]?["role"] == "assistant")
            #expect(payloads[0]["message"]?["content"] == [])
            #expect(payloads[2]["content_block"] == ["type": "text", "text": ""])
            let text = payloads.compactMap { $0["delta"]?["text"]?.stringValue }.joined()
            #expect(text == "echo: one two")
            let delta = payloads[payloads.count - 2]
            #expect(delta["delta"]?["stop_reason"] == "end_turn")
            #expect(delta["usage"]?["output_tokens"] == 7)
            // Every event's `type` matches its SSE event name.
            #expect(zip(names, payloads).allSatisfy { name, payload in payload["type"]?.stringValue == name })
        }
    }

    @Test func streamedToolUseAsInputJSONDeltas() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/messages",
                #"{"model":"gpt-test","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"get_weather"}}"#,
                headers: Self.anthropicHeaders
            )
            let payloads = try sseEvents(response.body).map { try decode(String($0.drop { $0 != "|" }.dropFirst())) }
            let start = try #require(payloads.first { $0["type"] == "content_block_start" && $0["content_block"]?["type"] == "tool_use" })
            #expect(start["content_block"]?["name"] == "get_weather")
            #expect(start["content_block"]?["id"] == "call_abc123")
            #expect(start["content_block"]?["input"] == [:])
            let pieces = payloads.filter { $0["delta"]?["type"] == "input_json_delta" }
            #expect(pieces.count > 3)
            #expect(pieces.compactMap { $0["delta"]?["partial_json"]?.stringValue }.joined() == #"{"city":"Paris","units":"celsius","days":[1,2,3]}"#)
            #expect(payloads.first { $0["type"] == "message_delta" }?["delta"]?["stop_reason"] == "tool_use")
        }
    }

    @Test func anthropicProviderBehindTheAnthropicDoor() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/messages", #"{"model":"haiku","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: Self.anthropicHeaders
            )
            #expect(try response.json()["content"] == [["type": "text", "text": "echo: hi"]])
            #expect(try response.json()["usage"]?["input_tokens"] == 12)
            let thinking = try await gateway.post(
                "/v1/messages", #"{"model":"claude/thinker","max_tokens":50,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}"#,
                headers: Self.anthropicHeaders
            )
            #expect(try thinking.json()["content"]?.arrayValue?.first == ["type": "thinking", "thinking": "Let me think.", "signature": .string(FakeAnthropicUpstream.signature)])
            #expect(await gateway.anthropic.recorder.last?.body["thinking"] == ["type": "enabled", "budget_tokens": 1024])
        }
    }

    @Test func errorsUseAnthropicsShape() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let body = #"{"model":"gpt-test","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#
            let missingKey = try await gateway.post("/v1/messages", body, headers: [("content-type", "application/json")])
            #expect(missingKey.status == 401)
            #expect(try missingKey.json()["type"] == "error")
            #expect(try missingKey.json()["error"]?["type"] == "authentication_error")
            let unknown = try await gateway.post(
                "/v1/messages", #"{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#, headers: Self.anthropicHeaders
            )
            #expect(unknown.status == 404)
            #expect(try unknown.json()["error"]?["type"] == "not_found_error")
            let invalid = try await gateway.post("/v1/messages", "{", headers: Self.anthropicHeaders)
            #expect(invalid.status == 400)
            #expect(try invalid.json()["error"]?["type"] == "invalid_request_error")
            let badRole = try await gateway.post(
                "/v1/messages", #"{"model":"gpt-test","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}"#, headers: Self.anthropicHeaders
            )
            #expect(badRole.status == 400)
            #expect(try badRole.json()["error"]?["message"]?.stringValue?.contains("`system`") == true)
            let upstream = try await gateway.post(
                "/v1/messages", #"{"model":"fake/fail-500","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#, headers: Self.anthropicHeaders
            )
            #expect(upstream.status == 502)
            #expect(try upstream.json()["error"]?["type"] == "api_error")
            #expect(!upstream.body.contains(FakeOpenAIUpstream.secretMarker))
        }
    }

    @Test func countTokens() async throws {
        try await withGateway(config: Self.config, transport: .router) { gateway in
            let counted = try await gateway.post(
                "/v1/messages/count_tokens", #"{"model":"haiku","messages":[{"role":"user","content":"hi"}]}"#, headers: Self.anthropicHeaders
            )
            #expect(counted.status == 200)
            #expect(try counted.json()["input_tokens"] == 42)
            #expect(await gateway.anthropic.recorder.last?.path == "/v1/messages/count_tokens")
            #expect(await gateway.anthropic.recorder.last?.body["model"] == "claude-3-5-haiku-latest")
            let estimated = try await gateway.post(
                "/v1/messages/count_tokens", #"{"model":"gpt-test","messages":[{"role":"user","content":"hello there"}]}"#, headers: Self.anthropicHeaders
            )
            #expect(estimated.status == 200)
            #expect(estimated.header("x-switchboard-token-count") == "estimated")
            #expect((try estimated.json()["input_tokens"]?.intValue ?? 0) > 0)
        }
    }
}
