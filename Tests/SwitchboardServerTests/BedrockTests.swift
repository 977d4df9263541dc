import SwitchboardCore
import SwitchboardTesting
import Testing

/// The model the `claude` alias routes to: an inference-profile ARN, with `:` and `/` to encode.
let bedrockARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"

/// A gateway whose provider `aws` (type bedrock) points at a fake Bedrock that checks every signature.
func withBedrockGateway<Result: Sendable>(
    secretAccessKey: String = FakeBedrockUpstream.secretAccessKey,
    _ body: @Sendable @escaping (GatewayTestContext, FakeBedrockUpstream) async throws -> Result
) async throws -> Result {
    let fake = FakeBedrockUpstream()
    return try await withLiveServer({ onRunning in fake.makeApplication(onRunning: onRunning) }) { port, _ in
        let config = standardConfig(
            extraProviders: """
                  - name: aws
                    type: bedrock
                    region: \(FakeBedrockUpstream.region)
                    base_url: http://127.0.0.1:\(port)
                    access_key_id: \(FakeBedrockUpstream.accessKeyID)
                    secret_access_key: "\(secretAccessKey)"
                    session_token: "\(FakeBedrockUpstream.sessionToken)"
                    models: [plain]
                """,
            extraModels: """
                  - name: claude
                    targets: [{ provider: aws, model: "\(bedrockARN)" }]
                """
        )
        return try await withGateway(config: config) { gateway in try await body(gateway, fake) }
    }
}

/// The embedding vectors of an embeddings response, as numbers (JSON `3.0` reads back as an integer).
func vectors(_ json: JSONValue) -> [[Double]] {
    (json["data"]?.arrayValue ?? []).map { ($0["embedding"]?.arrayValue ?? []).compactMap(\.doubleValue) }
}

let weatherTool = """
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]
    """

@Suite struct BedrockTests {
    @Test func plainChatIsSignedAndTranslated() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","messages":[{"role":"user","content":"hello"}],"max_tokens":64,"temperature":0.3,"top_p":0.9,"stop":["END"]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200, "body: \(response.body)")
            let json = try response.json()
            #expect(json["object"] == "chat.completion")
            let choice = try #require(json["choices"]?.arrayValue?.first)
            #expect(choice["message"]?["role"] == "assistant")
            #expect(choice["message"]?["content"] == "echo: hello")
            #expect(choice["finish_reason"] == "stop")
            #expect(json["usage"]?["prompt_tokens"] == 14)
            #expect(json["usage"]?["completion_tokens"] == 7)
            #expect(json["usage"]?["total_tokens"] == 21)
            #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 3)
            #expect(response.header("x-switchboard-provider") == "aws")

            let sent = try #require(await fake.recorder.last)
            #expect(
                sent.rawPath
                    == "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
            )
            #expect(sent.securityToken == FakeBedrockUpstream.sessionToken)
            #expect(sent.authorization?.contains("SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token") == true)
            #expect(sent.body["messages"] == [["role": "user", "content": [["text": "hello"]]]])
            #expect(sent.body["inferenceConfig"] == ["maxTokens": 64, "temperature": 0.3, "topP": 0.9, "stopSequences": ["END"]])
            #expect(sent.body["system"] == nil)
            #expect(sent.body["toolConfig"] == nil)
            #expect(await fake.recorder.rejectedSignatures == 0)
        }
    }

    @Test func systemAndDeveloperMessagesBecomeSystemBlocks() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"aws/plain","max_completion_tokens":10,"messages":[{"role":"system","content":"be brief"},
                 {"role":"developer","content":"no emoji"},{"role":"user","content":[{"type":"text","text":"look "},
                 {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
                """,
                headers: authHeaders
            )
            #expect(response.status == 200, "body: \(response.body)")
            #expect(try response.json()["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: look ")
            let sent = try #require(await fake.recorder.last)
            #expect(sent.rawPath == "/model/plain/converse")
            #expect(sent.body["system"] == [["text": "be brief"], ["text": "no emoji"]])
            #expect(sent.body["inferenceConfig"] == ["maxTokens": 10])
            #expect(sent.body["messages"] == [[
                "role": "user",
                "content": [["text": "look "], ["image": ["format": "png", "source": ["bytes": "iVBORw0KGgo="]]]],
            ]])
        }
    }

    @Test func toolCallsAndToolResultsRoundTrip() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","messages":[{"role":"user","content":"weather?"}],\#(weatherTool),"tool_choice":"required"}"#,
                headers: authHeaders
            )
            #expect(response.status == 200, "body: \(response.body)")
            let choice = try #require(try response.json()["choices"]?.arrayValue?.first)
            #expect(choice["finish_reason"] == "tool_calls")
            #expect(choice["message"]?["content"] == "Let me look.")
            let call = try #require(choice["message"]?["tool_calls"]?.arrayValue?.first)
            #expect(call["id"] == "tooluse_abc123")
            #expect(call["type"] == "function")
            #expect(call["function"]?["name"] == "get_weather")
            #expect(call["function"]?["arguments"]?.stringValue == FakeBedrockUpstream.toolInput)
            let sent = try #require(await fake.recorder.last)
            #expect(sent.body["toolConfig"]?["toolChoice"] == ["any": [:]])
            #expect(sent.body["toolConfig"]?["tools"] == [[
                "toolSpec": [
                    "name": "get_weather", "description": "Weather for a city",
                    "inputSchema": ["json": ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]]],
                ]
            ]])

            // Two tool results in a row and the next user message merge into one user turn.
            let followUp = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"claude","messages":[{"role":"user","content":"weather?"},
                 {"role":"assistant","content":"Let me look.","tool_calls":[
                   {"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
                   {"id":"t2","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}]},
                 {"role":"tool","tool_call_id":"t1","content":"22C"},{"role":"tool","tool_call_id":"t2","content":"3C"},
                 {"role":"user","content":"thanks"}],\(weatherTool),"tool_choice":{"type":"function","function":{"name":"get_weather"}}}
                """,
                headers: authHeaders
            )
            #expect(followUp.status == 200, "body: \(followUp.body)")
            #expect(try followUp.json()["choices"]?.arrayValue?.first?["message"]?["content"] == "tool said: 22C | 3C")
            let second = try #require(await fake.recorder.last)
            #expect(second.body["toolConfig"]?["toolChoice"] == ["tool": ["name": "get_weather"]])
            #expect(second.body["messages"] == [
                ["role": "user", "content": [["text": "weather?"]]],
                ["role": "assistant", "content": [
                    ["text": "Let me look."],
                    ["toolUse": ["toolUseId": "t1", "name": "get_weather", "input": ["city": "Paris"]]],
                    ["toolUse": ["toolUseId": "t2", "name": "get_weather", "input": ["city": "Oslo"]]],
                ]],
                ["role": "user", "content": [
                    ["toolResult": ["toolUseId": "t1", "content": [["text": "22C"]]]],
                    ["toolResult": ["toolUseId": "t2", "content": [["text": "3C"]]]],
                    ["text": "thanks"],
                ]],
            ])
        }
    }

    @Test func toolChoiceNoneSendsNoTools() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","messages":[{"role":"user","content":"hi"}],\#(weatherTool),"tool_choice":"none"}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            #expect(await fake.recorder.last?.body["toolConfig"] == nil)
        }
    }

    @Test(arguments: [("max-tokens", "length"), ("guardrail", "content_filter")])
    func stopReasonsAreMapped(model: String, finishReason: String) async throws {
        try await withBedrockGateway { gateway, _ in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"aws/\#(model)","messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            #expect(try response.json()["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == finishReason)

            let streamed = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"aws/\#(model)","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders
            )
            let chunks = try sseEvents(streamed.body).dropLast().map(decode)
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == finishReason)
        }
    }

    @Test func streamsTextAndUsage() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two three"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map(decode)
            #expect(chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == "assistant")
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "echo: one two three")
            let finish = chunks.compactMap { $0["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue }
            #expect(finish == ["stop"])
            let usage = try #require(chunks.last)
            #expect(usage["choices"] == [])
            #expect(usage["usage"]?["prompt_tokens"] == 14)
            #expect(usage["usage"]?["completion_tokens"] == 7)
            #expect(usage["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 3)
            #expect(await fake.recorder.last?.rawPath.hasSuffix("/converse-stream") == true)

            await gateway.flushRecords()
            let record = try #require(try await gateway.gateway.store.recent(limit: 1).first)
            #expect(record.stream)
            #expect(record.promptTokens == 14)
            #expect(record.completionTokens == 7)
            #expect(!record.usageEstimated)
        }
    }

    @Test func streamedToolArgumentsReassemble() async throws {
        try await withBedrockGateway { gateway, _ in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","stream":true,"messages":[{"role":"user","content":"weather?"}],\#(weatherTool),"tool_choice":"required"}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let chunks = try sseEvents(response.body).dropLast().map(decode)
            let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"] }
            let toolDeltas = deltas.compactMap { $0["tool_calls"]?.arrayValue?.first }
            #expect(toolDeltas.count > 3)
            // Text came in block 0, the tool in block 1; OpenAI numbers the tool call 0.
            #expect(toolDeltas.allSatisfy { $0["index"] == 0 })
            #expect(toolDeltas.first?["id"] == "tooluse_abc123")
            #expect(toolDeltas.first?["function"]?["name"] == "get_weather")
            let arguments = toolDeltas.compactMap { $0["function"]?["arguments"]?.stringValue }.joined()
            #expect(arguments == FakeBedrockUpstream.toolInput)
            #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == "Let me look.")
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        }
    }

    struct FailureCase: Sendable, CustomTestStringConvertible {
        var model: String
        var status: Int
        var code: String
        var fragments: [String]
        var retryAfter: String?
        var testDescription: String { model }
    }

    @Test(arguments: [
        FailureCase(model: "fail-403", status: 502, code: "UPSTREAM_ERROR", fragments: ["credentials", "HTTP 403", "AccessDeniedException"]),
        FailureCase(model: "fail-429", status: 429, code: "RATE_LIMIT_EXCEEDED", fragments: ["HTTP 429", "ThrottlingException"], retryAfter: "5"),
        FailureCase(model: "fail-500", status: 502, code: "UPSTREAM_ERROR", fragments: ["HTTP 500", "InternalServerException"]),
    ])
    func upstreamErrorsAreMappedWithoutTheBody(_ testCase: FailureCase) async throws {
        try await withBedrockGateway { gateway, _ in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"aws/\#(testCase.model)","messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == testCase.status)
            let error = try #require(try response.json()["error"])
            #expect(error["code"]?.stringValue == testCase.code)
            let message = try #require(error["message"]?.stringValue)
            for fragment in testCase.fragments {
                #expect(message.contains(fragment), "message was: \(message)")
            }
            #expect(response.header("retry-after") == testCase.retryAfter)
            #expect(!response.body.contains(FakeBedrockUpstream.secretMarker))
            #expect(!response.body.contains("Bedrock says no"))
            #expect(!response.body.contains("arn:aws:iam"))
        }
    }

    @Test func wrongSecretKeyIsRejectedBySignature() async throws {
        try await withBedrockGateway(secretAccessKey: "not/the+right/secret") { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 502)
            let message = try #require(try response.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("rejected the gateway's credentials"), "message was: \(message)")
            #expect(message.contains("InvalidSignatureException"))
            #expect(!response.body.contains(FakeBedrockUpstream.secretMarker))
            #expect(await fake.recorder.rejectedSignatures >= 1)
        }
    }

    @Test func corruptFrameBecomesAnSSEErrorEvent() async throws {
        try await withBedrockGateway { gateway, _ in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"aws/corrupt-stream","stream":true,"messages":[{"role":"user","content":"one two three"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let events = sseEvents(response.body)
            let error = try #require(events.first { $0.hasPrefix("error|") })
            let payload = try decode(String(error.dropFirst(6)))
            let message = try #require(payload["error"]?["message"]?.stringValue)
            #expect(message.contains("corrupt"), "message was: \(message)")
            #expect(!response.body.contains(" broken"))
            // What arrived intact before the bad frame was passed on.
            let text = events.compactMap { try? decode($0) }
                .compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "echo:")
        }
    }

    @Test func exceptionFrameBecomesAnSSEErrorEvent() async throws {
        try await withBedrockGateway { gateway, _ in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"aws/exception-stream","stream":true,"messages":[{"role":"user","content":"one two"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let error = try #require(sseEvents(response.body).first { $0.hasPrefix("error|") })
            #expect(error.contains("throttlingException"), "event was: \(error)")
            #expect(!response.body.contains(FakeBedrockUpstream.secretMarker))
        }
    }

    @Test func embeddingsOfOtherModelsAreRefused() async throws {
        try await withBedrockGateway { gateway, _ in
            let response = try await gateway.post("/v1/embeddings", #"{"model":"aws/plain","input":"x"}"#, headers: authHeaders)
            #expect(response.status == 400)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("Titan") == true)
        }
    }

    @Test func titanEmbeddingsOneCallPerInput() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/embeddings",
                #"{"model":"aws/amazon.titan-embed-text-v2:0","input":["abc","de"],"dimensions":256}"#,
                headers: authHeaders
            )
            #expect(response.status == 200, "body: \(response.body)")
            let json = try response.json()
            #expect(vectors(json) == [[3, 0.5, -0.25], [2, 0.5, -0.25]])
            #expect(json["data"]?.arrayValue?.map { $0["index"] } == [0, 1])
            #expect(json["usage"]?["prompt_tokens"] == 5)
            let requests = await fake.recorder.requests
            #expect(requests.count == 2)
            #expect(requests.first?.rawPath == "/model/amazon.titan-embed-text-v2%3A0/invoke")
            #expect(requests.first?.body == ["inputText": "abc", "dimensions": 256])
            #expect(await fake.recorder.rejectedSignatures == 0)
        }
    }

    @Test func cohereEmbeddingsInOneCall() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/embeddings",
                #"{"model":"aws/cohere.embed-english-v3","input":["abc","de"],"input_type":"search_query"}"#,
                headers: authHeaders
            )
            #expect(response.status == 200, "body: \(response.body)")
            let json = try response.json()
            #expect(vectors(json) == [[3, 0, 1], [2, 1, 1]])
            #expect(json["usage"]?["prompt_tokens"] == 5)
            #expect(await fake.recorder.last?.body == ["texts": ["abc", "de"], "input_type": "search_query"])
        }
    }
}

@Suite struct BedrockUnsupportedParameterTests {
    @Test func seedAndResponseFormatAreRefused() async throws {
        try await withBedrockGateway { gateway, fake in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"claude","messages":[{"role":"user","content":"x"}],"seed":1,"response_format":{"type":"json_object"}}"#,
                headers: authHeaders
            )
            #expect(response.status == 400)
            let message = try #require(try response.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("`aws` (bedrock) does not support `seed`, `response_format`"))
        }
    }
}
