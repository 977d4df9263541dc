import SwitchboardCore
import SwitchboardTesting
import Testing

@Suite struct ChatCompletionsTests {
    @Test func nonStreamPassesThroughAndRewritesModel() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"gpt-test","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}],
                 "seed":42,"stop":["\\n\\n"],"n":1,"temperature":0.2,"response_format":{"type":"json_object"},
                 "logprobs":true,"x_custom_field":{"nested":[1,2]},"user":"u-1","metadata":{"category":"chat"}}
                """,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["object"] == "chat.completion")
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: hello")
            #expect(json["usage"]?["total_tokens"] == 18)
            // Fields the core does not model survive the round trip.
            #expect(json["service_tier"] == "default")
            #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 3)
            #expect(response.header("x-switchboard-provider") == "fake")
            #expect(response.header("x-switchboard-model") == "fake-model")
            #expect(response.header("x-request-id")?.isEmpty == false)
            #expect(Double(response.header("x-switchboard-latency-ms") ?? "") != nil)
            #expect(Double(response.header("x-switchboard-overhead-ms") ?? "") != nil)

            let sent = try #require(await gateway.upstream.recorder.last)
            #expect(sent.body["model"] == "fake-model")
            #expect(sent.body["seed"] == 42)
            #expect(sent.body["stop"] == ["\n\n"])
            #expect(sent.body["n"] == 1)
            #expect(sent.body["temperature"] == 0.2)
            #expect(sent.body["response_format"] == ["type": "json_object"])
            #expect(sent.body["logprobs"] == true)
            #expect(sent.body["x_custom_field"] == ["nested": [1, 2]])
            #expect(sent.body["user"] == "u-1")
            // Gateway extensions stay at the gateway.
            #expect(sent.body["metadata"] == nil)
            #expect(sent.body["stream"] == nil)
            #expect(sent.authorization == "Bearer \(FakeOpenAIUpstream.apiKey)")
            #expect(sent.requestID == response.header("x-request-id"))
        }
    }

    @Test func toolCallsRoundTrip() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"fake/fake-model","messages":[{"role":"user","content":"weather?"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","description":"w",
                   "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
                 "tool_choice":"required","parallel_tool_calls":false}
                """,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let choice = try #require(try response.json()["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
            #expect(call["function"]?["name"] == "get_weather")
            #expect(call["function"]?["arguments"]?.stringValue == #"{"city":"Paris","units":"celsius","days":[1,2,3]}"#)
            #expect(choice["message"]?["content"] == .null)

            let sent = try #require(await gateway.upstream.recorder.last)
            #expect(sent.body["tool_choice"] == "required")
            #expect(sent.body["parallel_tool_calls"] == false)
            #expect(sent.body["tools"]?.arrayValue?.first?["function"]?["parameters"]?["required"] == ["city"])

            // The tool result goes back with the assistant turn intact.
            let followUp = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"gpt-test","messages":[{"role":"user","content":"weather?"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
                 {"role":"tool","tool_call_id":"call_abc123","content":"22C"},{"role":"user","content":"thanks"}]}
                """,
                headers: authHeaders
            )
            #expect(followUp.status == 200)
            let messages = try #require(await gateway.upstream.recorder.last?.body["messages"]?.arrayValue)
            #expect(messages.count == 4)
            #expect(messages[1]["tool_calls"]?.arrayValue?.first?["function"]?["arguments"] == #"{"city":"Paris"}"#)
            #expect(messages[2]["tool_call_id"] == "call_abc123")
        }
    }

    @Test func modelResolution() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            // provider/model addresses a provider directly.
            let direct = try await gateway.post(
                "/v1/chat/completions", #"{"model":"fake/other-model","messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(direct.status == 200)
            #expect(direct.header("x-switchboard-model") == "other-model")
            #expect(await gateway.upstream.recorder.last?.body["model"] == "other-model")

            // A provider's listed model is found by its bare name.
            let bare = try await gateway.post(
                "/v1/chat/completions", #"{"model":"fake-model","messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(bare.status == 200)
            #expect(bare.header("x-switchboard-provider") == "fake")

            let unknown = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(unknown.status == 404)
            let error = try unknown.json()["error"]
            #expect(error?["code"] == "MODEL_NOT_FOUND")
            #expect(error?["type"] == "invalid_request_error")
            #expect(error?["param"] == "model")
            let message = try #require(error?["message"]?.stringValue)
            #expect(message.contains("`gpt-9`"))
            #expect(message.contains("gpt-test"))
            #expect(message.contains("fake/fake-model"))

            let unknownProvider = try await gateway.post(
                "/v1/chat/completions", #"{"model":"nobody/model","messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(unknownProvider.status == 404)
        }
    }

    @Test func mockProviderIsDeterministic() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let body = #"{"model":"mock/echo","messages":[{"role":"user","content":"repeat after me"}]}"#
            let first = try await gateway.post("/v1/chat/completions", body, headers: authHeaders)
            let second = try await gateway.post("/v1/chat/completions", body, headers: authHeaders)
            #expect(first.status == 200)
            let firstJSON = try first.json()
            #expect(firstJSON["choices"]?.arrayValue?.first?["message"]?["content"] == "repeat after me")
            #expect(firstJSON["usage"]?["completion_tokens"] == 4)
            var a = firstJSON.objectValue ?? [:]
            var b = try second.json().objectValue ?? [:]
            a["id"] = nil
            b["id"] = nil
            #expect(a == b)
        }
    }

    @Test func embeddingsPassThrough() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/embeddings", #"{"model":"gpt-test","input":["a","b"],"dimensions":3}"#, headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["object"] == "list")
            #expect(json["data"]?.arrayValue?.count == 2)
            #expect(json["data"]?.arrayValue?.last?["index"] == 1)
            #expect(json["data"]?.arrayValue?.first?["embedding"] == [0.25, -0.5, 0.125])
            #expect(json["usage"]?["prompt_tokens"] == 4)
            let sent = try #require(await gateway.upstream.recorder.last)
            #expect(sent.path == "/v1/embeddings")
            #expect(sent.body["model"] == "fake-model")
            #expect(sent.body["dimensions"] == 3)

            let mock = try await gateway.post(
                "/v1/embeddings", #"{"model":"mock/embed","input":"hello","dimensions":4}"#, headers: authHeaders
            )
            #expect(mock.status == 200)
            #expect(try mock.json()["data"]?.arrayValue?.first?["embedding"]?.arrayValue?.count == 4)

            let empty = try await gateway.post("/v1/embeddings", #"{"model":"gpt-test","input":[]}"#, headers: authHeaders)
            #expect(empty.status == 400)
            #expect(try empty.json()["error"]?["code"] == "VALIDATION_ERROR")
        }
    }

    @Test func modelsEndpointsAndAliases() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            for prefix in ["/v1", "/api/v1", "/openai/v1"] {
                let list = try await gateway.get("\(prefix)/models", headers: authHeaders)
                #expect(list.status == 200)
                let ids = try list.json()["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                #expect(ids.contains("gpt-test"))
                #expect(ids.contains("fake/fake-model"))
                #expect(ids.contains("mock/echo"))

                let chat = try await gateway.post(
                    "\(prefix)/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}"#,
                    headers: authHeaders
                )
                #expect(chat.status == 200)
            }
            let one = try await gateway.get("/v1/models/fake/fake-model", headers: authHeaders)
            #expect(one.status == 200)
            #expect(try one.json()["id"] == "fake/fake-model")
            #expect(try one.json()["object"] == "model")
            let alias = try await gateway.get("/v1/models/gpt-test", headers: authHeaders)
            #expect(try alias.json()["owned_by"] == "switchboard")
            let missing = try await gateway.get("/v1/models/nothing-here", headers: authHeaders)
            #expect(missing.status == 404)
            #expect(try missing.json()["error"]?["code"] == "MODEL_NOT_FOUND")
        }
    }

    @Test func simpleChatContract() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let response = try await gateway.post(
                "/v1/chat",
                #"{"provider":"fake","model":"fake-model","messages":[{"role":"user","content":"hello"}],"temperature":0.7,"top_p":1.0,"max_tokens":512}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["text"] == "echo: hello")
            #expect(json["provider"] == "fake")
            #expect(json["model"] == "fake-model")
            #expect(json["tokens_in"] == 11)
            #expect(json["tokens_out"] == 7)
            #expect(json["latency_ms"]?.intValue != nil)
            let sent = try #require(await gateway.upstream.recorder.last)
            #expect(sent.body["max_tokens"] == 512)
            #expect(sent.body["top_p"]?.doubleValue == 1.0)

            let failed = try await gateway.post(
                "/v1/chat", #"{"provider":"fake","model":"fail-500","messages":[{"role":"user","content":"hello"}]}"#,
                headers: authHeaders
            )
            #expect(failed.status == 502)
            let error = try failed.json()["error"]
            #expect(error?["code"] == "UPSTREAM_ERROR")
            #expect(error?["provider"] == "fake")
            #expect(error?["message"]?.stringValue?.contains("HTTP 500") == true)
            #expect(!failed.body.contains(FakeOpenAIUpstream.secretMarker))

            let invalid = try await gateway.post("/v1/chat", #"{"model":"x"}"#, headers: authHeaders)
            #expect(invalid.status == 400)
            #expect(try invalid.json()["error"]?["code"] == "VALIDATION_ERROR")
            #expect(try invalid.json()["error"]?["message"]?.stringValue?.contains("messages") == true)
        }
    }
}
