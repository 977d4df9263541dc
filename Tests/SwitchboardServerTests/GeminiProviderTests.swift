import SwitchboardCore
import SwitchboardTesting
import Testing

/// The OpenAI front door in front of Gemini (AI Studio API).
@Suite struct GeminiProviderTests {
    static let config = standardConfig(
        extraProviders: """
              - name: gemini
                type: gemini
                base_url: ${GEMINI_BASE}
                api_key: \(FakeGeminiUpstream.apiKey)
                models: [gemini-2.0-flash]
            """,
        extraModels: """
              - name: flash
                targets: [{ provider: gemini, model: gemini-2.0-flash }]
            """
    )

    @Test func chatWithSystemInstructionAndGenerationConfig() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"again"}],"temperature":0.4,"top_p":0.9,"max_tokens":64,"stop":["END"],"response_format":{"type":"json_object"}}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: again")
            #expect(json["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            #expect(json["usage"]?["prompt_tokens"] == 8)
            #expect(json["usage"]?["completion_tokens"] == 4)
            #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 2)
            let sent = try #require(await gateway.gemini.recorder.last)
            #expect(sent.path == "/v1beta/models/gemini-2.0-flash:generateContent")
            #expect(sent.authorization == FakeGeminiUpstream.apiKey)
            #expect(sent.body["systemInstruction"] == ["parts": [["text": "Be brief."]]])
            #expect(sent.body["contents"] == [
                ["role": "user", "parts": [["text": "hi"]]],
                ["role": "model", "parts": [["text": "hello"]]],
                ["role": "user", "parts": [["text": "again"]]],
            ])
            let generation = try #require(sent.body["generationConfig"])
            #expect(generation["temperature"] == 0.4)
            #expect(generation["topP"] == 0.9)
            #expect(generation["maxOutputTokens"] == 64)
            #expect(generation["stopSequences"] == ["END"])
            #expect(generation["responseMimeType"] == "application/json")
        }
    }

    @Test func functionCallingWithSchemaCleanupAndThoughtSignatures() async throws {
        try await withGateway(config: Self.config) { gateway in
            let tools = """
                [{"type":"function","function":{"name":"weather","description":"w","parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
                  "properties":{"city":{"type":["string","null"],"default":"Paris"},"unit":{"const":"c"},"place":{"$ref":"#/$defs/Place"}},"required":["city"],
                  "$defs":{"Place":{"type":"object","properties":{"lat":{"type":"number"}},"additionalProperties":false}}}}}]
                """
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"gemini/signer","messages":[{"role":"user","content":"weather?"}],"tools":\#(tools),"tool_choice":"required"}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let choice = try #require(try response.json()["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
            #expect(call["function"]?["name"] == "weather")
            #expect(call["function"]?["arguments"] == #"{"city":"Paris","days":3}"#)
            let id = try #require(call["id"]?.stringValue)
            #expect(id.hasSuffix(FakeGeminiUpstream.thoughtSignature))

            let sent = try #require(await gateway.gemini.recorder.last?.body)
            let parameters = try #require(sent["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue?.first?["parameters"])
            #expect(parameters["$schema"] == nil)
            #expect(parameters["additionalProperties"] == nil)
            #expect(parameters["$defs"] == nil)
            #expect(parameters["properties"]?["city"] == ["type": "string", "nullable": true])
            #expect(parameters["properties"]?["unit"] == ["enum": ["c"]])
            #expect(parameters["properties"]?["place"] == ["type": "object", "properties": ["lat": ["type": "number"]]])
            #expect(sent["toolConfig"] == ["functionCallingConfig": ["mode": "ANY"]])

            // The tool result goes back as a functionResponse by name, the signature on its call.
            let followUp = """
                {"model":"gemini/signer","messages":[{"role":"user","content":"weather?"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"\(id)","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
                 {"role":"tool","tool_call_id":"\(id)","content":"{\\"temp\\":22}"}]}
                """
            let second = try await gateway.post("/v1/chat/completions", followUp, headers: authHeaders)
            #expect(second.status == 200)
            let contents = try #require(await gateway.gemini.recorder.last?.body["contents"]?.arrayValue)
            #expect(contents[1] == ["role": "model", "parts": [["functionCall": ["name": "weather", "args": ["city": "Paris"]], "thoughtSignature": .string(FakeGeminiUpstream.thoughtSignature)]]])
            #expect(contents[2] == ["role": "user", "parts": [["functionResponse": ["name": "weather", "response": ["temp": 22]]]]])
        }
    }

    @Test func streamingOverSSE() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map(decode)
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "echo: one two")
            #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
            #expect(chunks.last?["usage"]?["total_tokens"] == 12)
            #expect(await gateway.gemini.recorder.last?.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")

            let tools = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"flash","stream":true,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":{"type":"function","function":{"name":"weather"}}}"#,
                headers: authHeaders
            )
            let toolChunks = try sseEvents(tools.body).dropLast().map(decode)
            let delta = toolChunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first }.first
            #expect(delta?["function"]?["name"] == "weather")
            #expect(delta?["function"]?["arguments"] == #"{"city":"Paris","days":3}"#)
            #expect(toolChunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls" })
            #expect(await gateway.gemini.recorder.last?.body["toolConfig"] == ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": ["weather"]]])
        }
    }

    @Test func cutStreamIsAnError() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gemini/cut","stream":true,"messages":[{"role":"user","content":"a b c"}]}"#, headers: authHeaders
            )
            #expect(sseEvents(response.body).last?.hasPrefix("error|") == true)
        }
    }

    @Test func embeddings() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/embeddings", #"{"model":"gemini/text-embedding-004","input":["a","b"],"dimensions":3}"#, headers: authHeaders
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["data"]?.arrayValue?.count == 2)
            #expect(json["data"]?.arrayValue?.last?["embedding"]?.arrayValue?.compactMap(\.doubleValue) == [0.5, 1.0, -0.25])
            let sent = try #require(await gateway.gemini.recorder.last)
            #expect(sent.path == "/v1beta/models/text-embedding-004:batchEmbedContents")
            #expect(sent.body["requests"]?.arrayValue?.first == ["model": "models/text-embedding-004", "content": ["parts": [["text": "a"]]], "outputDimensionality": 3])
        }
    }

    struct Failure: Sendable, CustomTestStringConvertible {
        var model: String
        var status: Int
        var fragment: String
        var testDescription: String { model }
    }

    @Test(arguments: [
        Failure(model: "fail-400", status: 400, fragment: "INVALID_ARGUMENT"),
        Failure(model: "fail-403", status: 502, fragment: "credentials"),
        Failure(model: "fail-429", status: 429, fragment: "RESOURCE_EXHAUSTED"),
        Failure(model: "fail-500", status: 502, fragment: "INTERNAL"),
        Failure(model: "invalid-json", status: 502, fragment: "invalid response"),
    ])
    func upstreamErrors(_ failure: Failure) async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gemini/\#(failure.model)","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == failure.status)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains(failure.fragment) == true)
            #expect(!response.body.contains(FakeOpenAIUpstream.secretMarker))
            // Google's retry hint lives in the error details, not in a header.
            if failure.model == "fail-429" { #expect(response.header("retry-after") == "12") }
        }
    }

    /// Gemini answers a bad key with 400 `INVALID_ARGUMENT` + `API_KEY_INVALID`: the gateway's
    /// credential failed, not the client's request — the next target serves, or a 502 says so.
    @Test func anInvalidKeyIsTheGatewaysCredentialFailingNotA400() async throws {
        let config = standardConfig(
            extraProviders: """
                  - name: gemini
                    type: gemini
                    base_url: ${GEMINI_BASE}
                    api_key: \(FakeGeminiUpstream.apiKey)
                  - name: badkey
                    type: gemini
                    base_url: ${GEMINI_BASE}
                    api_key: not-the-right-key
                """,
            extraModels: """
                  - name: guarded
                    targets: [{ provider: badkey, model: gemini-2.5-flash }, { provider: gemini, model: gemini-2.5-flash }]
                """
        )
        try await withGateway(config: config) { gateway in
            let alone = try await gateway.post(
                "/v1/chat/completions", #"{"model":"badkey/gemini-2.5-flash","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(alone.status == 502)
            #expect(try alone.json()["error"]?["code"] == "UPSTREAM_ERROR")
            #expect(try alone.json()["error"]?["message"]?.stringValue?.contains("rejected the gateway's credentials") == true)
            #expect(!alone.body.contains("not-the-right-key"))
            let failedOver = try await gateway.post(
                "/v1/chat/completions", #"{"model":"guarded","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(failedOver.status == 200)
            #expect(failedOver.header("x-switchboard-provider") == "gemini")
            #expect(failedOver.header("x-switchboard-attempts") == "2")
        }
    }

    @Test func blockedPromptIsA400() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gemini/blocked","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == 400)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("PROMPT_BLOCKED") == true)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("SAFETY") == true)
        }
    }

    @Test func logprobsAreRefused() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"flash","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":2}"#,
                headers: authHeaders
            )
            #expect(response.status == 400)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("`gemini` (gemini) does not support `logprobs`, `top_logprobs`") == true)
        }
    }

    @Test func anthropicDoorInFrontOfGemini() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post(
                "/v1/messages", #"{"model":"flash","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: AnthropicFrontDoorTests.anthropicHeaders
            )
            #expect(try response.json()["content"] == [["type": "text", "text": "echo: hi"]])
            #expect(try response.json()["usage"]?["input_tokens"] == 6)
        }
    }
}
