import SwitchboardCore
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI's Responses API over real HTTP, on SQLite and (when `.ci/run` provides one)
/// PostgreSQL, bridged to OpenAI-format, Anthropic and Gemini fakes: stored responses and their
/// chains, the exact stream event sequences, function calling over two turns, `store: false`,
/// and every refusal in OpenAI's error shape.
@Suite struct ResponsesTests {
    static var backends: [String] { ConversationTests.backends }

    static let providersConfig = standardConfig(
        extraProviders: """
              - name: claude
                type: anthropic
                base_url: ${ANTHROPIC_BASE}
                api_key: \(FakeAnthropicUpstream.apiKey)
                models: [claude-test]
              - name: gemini
                type: gemini
                base_url: ${GEMINI_BASE}
                api_key: \(FakeGeminiUpstream.apiKey)
                models: [gemini-2.0-flash]
            """,
        extraModels: """
              - name: sonnet
                targets: [{ provider: claude, model: claude-test }]
              - name: flash
                targets: [{ provider: gemini, model: gemini-2.0-flash }]
              - name: small-window
                targets: [{ provider: fake, model: fake-model }]
                context_window: 2600
              - name: cut-short
                targets: [{ provider: fake, model: truncated }]
              - name: dying
                targets: [{ provider: fake, model: die-mid-stream }]
              - name: slow-model
                targets: [{ provider: fake, model: slow }]
            """
    )

    /// A gateway on `backend`, and a fresh user's key.
    func withResponses<Result: Sendable>(
        _ backend: String, config: String = ResponsesTests.providersConfig,
        _ body: @Sendable (GatewayTestContext, [(String, String)]) async throws -> Result
    ) async throws -> Result {
        try await withGateway(config: config, database: backend == "postgres" ? ConversationTests.postgresURL : nil) { gateway in
            let key = try await gateway.createKey(#"{"name":"responses","user_id":"u-\#(UUID().uuidString)","role":"user"}"#)
            return try await body(gateway, bearer(key.secret))
        }
    }

    /// The `event:` names and `data:` objects of a Responses stream.
    static func events(_ body: String) throws -> [(name: String, data: JSONValue)] {
        try sseEvents(body).map { event in
            let parts = event.split(separator: "|", maxSplits: 1).map(String.init)
            #expect(parts.count == 2, "every frame is named: \(event)")
            return (parts[0], try decode(parts.count == 2 ? parts[1] : "{}"))
        }
    }

    /// The text of a response's message items.
    static func outputText(_ response: JSONValue) -> String {
        (response["output"]?.arrayValue ?? []).filter { $0["type"] == "message" }
            .flatMap { $0["content"]?.arrayValue ?? [] }.compactMap { $0["text"]?.stringValue }.joined()
    }

    @Test(arguments: backends) func aStoredResponseReadsBackAndItsChainContinuesWithoutTheInstructions(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            let created = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","input":"hello there","instructions":"Be brief.","metadata":{"topic":"greeting"}}"#,
                headers: headers
            )
            #expect(created.status == 200)
            let response = try created.json()
            let id = try #require(response["id"]?.stringValue)
            #expect(id.hasPrefix("resp_"))
            #expect(response["object"] == "response")
            #expect(response["status"] == "completed")
            #expect(response["model"] == "fake-model")
            #expect(response["instructions"] == "Be brief.")
            #expect(response["metadata"] == ["topic": "greeting"])
            #expect(response["previous_response_id"] == .null)
            #expect(response["output"]?[0]?["type"] == "message")
            #expect(response["output"]?[0]?["role"] == "assistant")
            #expect(response["output"]?[0]?["content"]?[0]?["type"] == "output_text")
            #expect(Self.outputText(response) == "echo: hello there")
            let usage = try #require(response["usage"])
            #expect((usage["input_tokens"]?.intValue ?? 0) > 0)
            #expect(usage["total_tokens"]?.intValue == (usage["input_tokens"]?.intValue ?? 0) + (usage["output_tokens"]?.intValue ?? 0))
            #expect(usage["input_tokens_details"]?["cached_tokens"] != nil)
            #expect(usage["output_tokens_details"]?["reasoning_tokens"] != nil)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(ConversationTests.transcript(sent["messages"]) == ["system: Be brief.", "user: hello there"])

            // Read back at once: the same response.
            let read = try await gateway.get("/v1/responses/\(id)", headers: headers)
            #expect(read.status == 200)
            let stored = try read.json()
            #expect(stored["id"]?.stringValue == id)
            #expect(stored["output"] == response["output"])
            #expect(stored["instructions"] == "Be brief.")
            #expect(stored["metadata"] == ["topic": "greeting"])
            #expect(stored["created_at"] == response["created_at"])
            #expect(stored["usage"]?["output_tokens"] == response["usage"]?["output_tokens"])
            let items = try await gateway.get("/v1/responses/\(id)/input_items", headers: headers).json()
            #expect(items["object"] == "list")
            #expect(items["data"]?.arrayValue?.count == 1)
            #expect(items["data"]?[0]?["type"] == "message")
            #expect(items["data"]?[0]?["role"] == "user")
            #expect(items["data"]?[0]?["content"]?[0] == ["type": "input_text", "text": "hello there"])
            #expect(items["has_more"] == false)

            // The chain goes on from the response, without its instructions.
            let next = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"and again","previous_response_id":"\#(id)"}"#, headers: headers)
            #expect(next.status == 200)
            let second = try next.json()
            #expect(second["previous_response_id"]?.stringValue == id)
            #expect(second["instructions"] == .null)
            let resent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(ConversationTests.transcript(resent["messages"]) == ["user: hello there", "assistant: echo: hello there", "user: and again"])
            // Continuing the same response again makes a sibling: the conversation has two branches.
            let sibling = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"or else","previous_response_id":"\#(id)"}"#, headers: headers)
            #expect(sibling.status == 200)
            let conversation = try #require(next.header("x-switchboard-conversation-id"))
            #expect(sibling.header("x-switchboard-conversation-id") == conversation)
            let branches = try await gateway.get("/v1/conversations/\(conversation)/branches", headers: headers).json()
            #expect(branches["data"]?.arrayValue?.count == 2)
            let path = try await gateway.get("/v1/conversations/\(conversation)/messages", headers: headers).json()["data"]
            #expect(ConversationTests.transcript(path) == ["user: hello there", "assistant: echo: hello there", "user: or else", "assistant: echo: or else"])

            // Another owner: a 404 on every door, as if it never was.
            let other = bearer(try await gateway.createKey(#"{"name":"other","user_id":"u-\#(UUID().uuidString)","role":"user"}"#).secret)
            #expect(try await gateway.get("/v1/responses/\(id)", headers: other).status == 404)
            #expect(try await gateway.get("/v1/responses/\(id)/input_items", headers: other).status == 404)
            #expect(try await gateway.request(.DELETE, "/v1/responses/\(id)", headers: other).status == 404)
            let stolen = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"x","previous_response_id":"\#(id)"}"#, headers: other)
            #expect(stolen.status == 404)
            #expect(try stolen.json()["error"]?["param"] == "previous_response_id")
            #expect(try stolen.json()["error"]?["type"] == "not_found_error")

            // Deleted: gone for reads and chains; its messages stay in the conversation.
            let deleted = try await gateway.request(.DELETE, "/v1/responses/\(id)", headers: headers)
            #expect(deleted.status == 200)
            #expect(try deleted.json() == ["id": .string(id), "object": "response.deleted", "deleted": true])
            #expect(try await gateway.get("/v1/responses/\(id)", headers: headers).status == 404)
            #expect(try await gateway.request(.DELETE, "/v1/responses/\(id)", headers: headers).status == 404)
            let afterDelete = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"x","previous_response_id":"\#(id)"}"#, headers: headers)
            #expect(afterDelete.status == 404)
            #expect(try await gateway.get("/v1/responses/\(try #require(second["id"]?.stringValue))", headers: headers).status == 200)
        }
    }

    @Test(arguments: backends) func aStreamedTextResponseSendsTheExactEventSequenceAndIsStoredBeforeItEnds(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            let streamed = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"one two three","stream":true}"#, headers: headers)
            #expect(streamed.status == 200)
            #expect(streamed.header("content-type") == "text/event-stream")
            #expect(!streamed.body.contains("[DONE]"))
            let events = try Self.events(streamed.body)
            let names = events.map(\.name)
            let deltas = names.filter { $0 == "response.output_text.delta" }.count
            #expect(deltas >= 2)
            #expect(names == [
                "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            ] + Array(repeating: "response.output_text.delta", count: deltas) + [
                "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
            ])
            #expect(events.map { $0.data["sequence_number"]?.intValue } == (0..<events.count).map { $0 })
            #expect(events.allSatisfy { $0.data["type"]?.stringValue == $0.name })
            let id = try #require(events[0].data["response"]?["id"]?.stringValue)
            #expect(events[0].data["response"]?["status"] == "in_progress")
            #expect(events[0].data["response"]?["output"] == [])
            let item = try #require(events[2].data["item"])
            let itemID = try #require(item["id"]?.stringValue)
            #expect(item["type"] == "message")
            #expect(item["status"] == "in_progress")
            #expect(events[3].data["part"] == ["type": "output_text", "text": "", "annotations": []])
            for event in events[2..<(events.count - 1)] {
                #expect(event.data["output_index"] == 0)
                if event.name != "response.output_item.added", event.name != "response.output_item.done" {
                    #expect(event.data["item_id"]?.stringValue == itemID)
                }
            }
            let text = events.filter { $0.name == "response.output_text.delta" }.compactMap { $0.data["delta"]?.stringValue }.joined()
            #expect(text == "echo: one two three")
            #expect(events[events.count - 4].data["text"]?.stringValue == text)
            #expect(events[events.count - 2].data["item"]?["status"] == "completed")
            let completed = try #require(events.last?.data["response"])
            #expect(completed["id"]?.stringValue == id)
            #expect(completed["status"] == "completed")
            #expect(Self.outputText(completed) == text)
            #expect(completed["output"]?[0]?["id"]?.stringValue == itemID)
            #expect((completed["usage"]?["output_tokens"]?.intValue ?? 0) > 0)

            // State is there the moment the stream ended: read it, and continue from it.
            let read = try await gateway.get("/v1/responses/\(id)", headers: headers)
            #expect(read.status == 200)
            #expect(try read.json()["output"] == completed["output"])
            let next = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"four","previous_response_id":"\#(id)"}"#, headers: headers)
            #expect(next.status == 200)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(ConversationTests.transcript(sent["messages"]) == ["user: one two three", "assistant: echo: one two three", "user: four"])
        }
    }

    /// Function calling over two turns with `previous_response_id`, through an OpenAI-format,
    /// an Anthropic and a Gemini upstream; the second turn's call output reaches each in its own shape.
    @Test(arguments: ["gpt-test", "sonnet", "flash"]) func functionCallingOverTwoTurns(model: String) async throws {
        try await withResponses("sqlite") { gateway, headers in
            let tools = #"[{"type":"function","name":"weather","description":"The weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#
            let first = try await gateway.post(
                "/v1/responses", #"{"model":"\#(model)","input":"weather in Paris?","tools":\#(tools),"tool_choice":"required"}"#, headers: headers
            )
            #expect(first.status == 200)
            let response = try first.json()
            let call = try #require(response["output"]?.arrayValue?.first { $0["type"] == "function_call" })
            #expect(call["name"] == "weather")
            #expect(call["status"] == "completed")
            let callID = try #require(call["call_id"]?.stringValue)
            #expect(JSONCoding.parseModelOutput(call["arguments"]?.stringValue ?? "")?["city"] == "Paris")
            #expect(response["tools"]?[0]?["name"] == "weather")
            #expect(response["tool_choice"] == "required")
            let id = try #require(response["id"]?.stringValue)

            let second = try await gateway.post(
                "/v1/responses",
                #"{"model":"\#(model)","previous_response_id":"\#(id)","tools":\#(tools),"input":[{"type":"function_call_output","call_id":"\#(callID)","output":"sunny, 21C"}]}"#,
                headers: headers
            )
            #expect(second.status == 200)
            #expect(try second.json()["output"]?[0]?["type"] == "message")
            switch model {
            case "sonnet":
                let sent = try #require(await gateway.anthropic.recorder.last?.body)
                let messages = sent["messages"]?.arrayValue ?? []
                #expect(messages.count == 3)
                #expect(messages[1]["content"]?[0]?["type"] == "tool_use")
                #expect(messages[1]["content"]?[0]?["id"]?.stringValue == callID)
                #expect(messages[2]["content"]?[0]?["type"] == "tool_result")
                #expect(messages[2]["content"]?[0]?["tool_use_id"]?.stringValue == callID)
            case "flash":
                let sent = try #require(await gateway.gemini.recorder.last?.body)
                let contents = sent["contents"]?.arrayValue ?? []
                #expect(contents.count == 3)
                #expect(contents[1]["parts"]?[0]?["functionCall"]?["name"] == "weather")
                #expect(contents[2]["parts"]?[0]?["functionResponse"]?["name"] == "weather")
            default:
                let sent = try #require(await gateway.upstream.recorder.last?.body)
                let messages = sent["messages"]?.arrayValue ?? []
                #expect(messages.count == 3)
                #expect(messages[1]["tool_calls"]?[0]?["id"]?.stringValue == callID)
                #expect(messages[2]["role"] == "tool")
                #expect(messages[2]["tool_call_id"]?.stringValue == callID)
                #expect(messages[2]["content"] == "sunny, 21C")
            }
            // The second turn's input items: the call's output.
            let secondID = try #require(try second.json()["id"]?.stringValue)
            let items = try await gateway.get("/v1/responses/\(secondID)/input_items", headers: headers).json()["data"]
            #expect(items?[0]?["type"] == "function_call_output")
            #expect(items?[0]?["call_id"]?.stringValue == callID)
        }
    }

    @Test func aStreamedFunctionCallSendsItsArgumentsEvents() async throws {
        try await withResponses("sqlite") { gateway, headers in
            let streamed = try await gateway.post(
                "/v1/responses",
                #"{"model":"sonnet","stream":true,"input":"weather?","tool_choice":{"type":"function","name":"weather"},"tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}]}"#,
                headers: headers
            )
            #expect(streamed.status == 200)
            let events = try Self.events(streamed.body)
            let names = events.map(\.name)
            let deltas = names.filter { $0 == "response.function_call_arguments.delta" }.count
            #expect(deltas >= 1)
            #expect(names == ["response.created", "response.in_progress", "response.output_item.added"]
                + Array(repeating: "response.function_call_arguments.delta", count: deltas)
                + ["response.function_call_arguments.done", "response.output_item.done", "response.completed"])
            #expect(events.map { $0.data["sequence_number"]?.intValue } == (0..<events.count).map { $0 })
            let added = try #require(events[2].data["item"])
            #expect(added["type"] == "function_call")
            #expect(added["name"] == "weather")
            #expect(added["call_id"] == "toolu_01")
            let arguments = events.filter { $0.name == "response.function_call_arguments.delta" }.compactMap { $0.data["delta"]?.stringValue }.joined()
            #expect(JSONCoding.parseModelOutput(arguments)?["city"] == "Paris")
            #expect(events[events.count - 3].data["arguments"]?.stringValue == arguments)
            #expect(events[events.count - 3].data["item_id"] == added["id"])
            let completed = try #require(events.last?.data["response"])
            #expect(completed["output"]?[0]?["arguments"]?.stringValue == arguments)
            #expect(completed["output"]?[0]?["call_id"] == "toolu_01")
        }
    }

    @Test func storeFalseKeepsNothingAndTakesTheWholeInputAsItCame() async throws {
        try await withResponses("sqlite") { gateway, headers in
            let input = """
                [{"role":"user","content":[{"type":"input_text","text":"weather?"}]},
                 {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA-opaque"},
                 {"type":"function_call","call_id":"call_1","name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"},
                 {"type":"function_call_output","call_id":"call_1","output":"sunny"},
                 {"type":"message","role":"assistant","content":[{"type":"output_text","text":"It is sunny."}]},
                 {"role":"user","content":"thanks"}]
                """
            let answered = try await gateway.post("/v1/responses", #"{"model":"gpt-test","store":false,"input":\#(input)}"#, headers: headers)
            #expect(answered.status == 200)
            let response = try answered.json()
            #expect(response["status"] == "completed")
            #expect(answered.header("x-switchboard-conversation-id") == nil)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            let messages = sent["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "tool", "assistant", "user"])
            #expect(messages[1]["tool_calls"]?[0]?["function"]?["arguments"] == #"{"city":"Paris"}"#)
            #expect(messages[2]["tool_call_id"] == "call_1")
            let id = try #require(response["id"]?.stringValue)
            #expect(try await gateway.get("/v1/responses/\(id)", headers: headers).status == 404)
            let conversations = try await gateway.get("/v1/conversations", headers: headers).json()
            #expect(conversations["data"]?.arrayValue?.isEmpty == true)

            // Continuing a stored response without storing the turn: the chain is the context, nothing is added.
            let kept = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"remember 42"}"#, headers: headers)
            let keptID = try #require(try kept.json()["id"]?.stringValue)
            let conversationID = try #require(kept.header("x-switchboard-conversation-id"))
            let unstored = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","store":false,"input":"what number?","previous_response_id":"\#(keptID)"}"#, headers: headers
            )
            #expect(unstored.status == 200, "body: \(unstored.body)")
            #expect(ConversationTests.transcript(try #require(await gateway.upstream.recorder.last?.body)["messages"])
                == ["user: remember 42", "assistant: echo: remember 42", "user: what number?"])
            let unstoredJSON = try unstored.json()
            #expect(unstoredJSON["previous_response_id"]?.stringValue == keptID)
            #expect(unstored.header("x-switchboard-conversation-id") == nil)
            let unstoredID = try #require(unstoredJSON["id"]?.stringValue)
            #expect(try await gateway.get("/v1/responses/\(unstoredID)", headers: headers).status == 404)
            let items = try await gateway.get("/v1/conversations/\(conversationID)/items", headers: headers).json()
            #expect(items["data"]?.arrayValue?.count == 2)
            let other = bearer(try await gateway.createKey(#"{"name":"other","user_id":"u-\#(UUID().uuidString)","role":"user"}"#).secret)
            let foreign = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","store":false,"input":"x","previous_response_id":"\#(keptID)"}"#, headers: other
            )
            #expect(foreign.status == 404)
        }
    }

    @Test(arguments: backends) func badInputIsRefusedInOpenAIsShape(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            func refused(_ body: String, status: Int = 400, param: String? = nil, saying text: String) async throws {
                let response = try await gateway.post("/v1/responses", body, headers: headers)
                #expect(response.status == status, "\(body)")
                let error = try response.json()["error"]
                #expect(error?["message"]?.stringValue?.contains(text) == true, "\(body): \(response.body)")
                if let param { #expect(error?["param"]?.stringValue == param, "\(body)") }
            }
            let made = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"hi"}"#, headers: headers).json()
            let id = try #require(made["id"]?.stringValue)
            try await refused(#"{"model":"gpt-test","input":"x","previous_response_id":"resp_nope"}"#, status: 404, param: "previous_response_id", saying: "not found")
            try await refused(#"{"model":"gpt-test","input":"x","previous_response_id":"nope"}"#, status: 404, param: "previous_response_id", saying: "not found")
            try await refused(
                #"{"model":"gpt-test","input":"x","previous_response_id":"\#(id)","conversation":"c1"}"#, param: "previous_response_id", saying: "cannot be used together"
            )
            try await refused(#"{"model":"gpt-test","input":[{"type":"web_search_call","id":"ws_1"}]}"#, param: "input[0]", saying: "`web_search_call`")
            try await refused(
                #"{"model":"gpt-test","input":[{"type":"function_call_output","call_id":"call_zzz","output":"x"}]}"#, param: "input", saying: "call_zzz"
            )
            try await refused(
                #"{"model":"gpt-test","previous_response_id":"\#(id)","input":[{"type":"function_call_output","call_id":"call_zzz","output":"x"}]}"#,
                param: "input", saying: "call_zzz"
            )
            try await refused(#"{"model":"gpt-test","input":[{"role":"tool","content":"x"}]}"#, param: "input[0].role", saying: "function_call_output")
            try await refused(#"{"model":"gpt-test","input":"hi","tools":[{"type":"web_search"}]}"#, param: "tools[0]", saying: "`web_search`")
            let pairs = (0..<17).map { #""k\#($0)":"v""# }.joined(separator: ",")
            try await refused(#"{"model":"gpt-test","input":"hi","metadata":{\#(pairs)}}"#, param: "metadata", saying: "16 pairs")
            try await refused(#"{"model":"gpt-test","input":"hi","metadata":{"k":1}}"#, param: "metadata", saying: "must be a string")
            let long = String(repeating: "word ", count: 3000)
            try await refused(#"{"model":"small-window","input":"\#(long)","truncation":"disabled"}"#, param: "input", saying: "context window")
            try await refused(#"{"model":"small-window","store":false,"input":"\#(long)"}"#, param: "input", saying: "context window")
            try await refused(#"{"model":"gpt-test","input":"hi","store":false,"conversation":"c1"}"#, param: "conversation", saying: "store")
            try await refused(#"{"input":"hi"}"#, param: "model", saying: "model")
            try await refused(#"{"model":"gpt-test"}"#, param: "input", saying: "input")
            try await refused(#"{"model":"gpt-test","input":"hi","temperature":3}"#, param: "temperature", saying: "temperature")
            try await refused(#"{"model":"gpt-test","input":"hi","background":true,"store":false}"#, param: "background", saying: "must be stored")
            try await refused(#"{"model":"gpt-test","input":"hi","text":{"format":{"type":"yaml"}}}"#, param: "text.format", saying: "text.format")
            try await refused(#"{"model":"gpt-test","input":7}"#, saying: "input")
            // A long input with `truncation: auto` is cut to fit instead.
            let cut = try await gateway.post(
                "/v1/responses", #"{"model":"small-window","truncation":"auto","store":false,"input":[{"role":"user","content":"\#(long)"},{"role":"user","content":"last"}]}"#,
                headers: headers
            )
            #expect(cut.status == 200)
            #expect(ConversationTests.transcript(try #require(await gateway.upstream.recorder.last?.body)["messages"]) == ["user: last"])
            // Only background responses can be cancelled.
            let cancel = try await gateway.post("/v1/responses/\(id)/cancel", "{}", headers: headers)
            #expect(cancel.status == 400)
            #expect(try cancel.json()["error"]?["message"]?.stringValue?.contains("background") == true)
            #expect(try await gateway.post("/v1/responses/resp_nope/cancel", "{}", headers: headers).status == 404)
            // Items: limit bounds and order.
            #expect(try await gateway.get("/v1/responses/\(id)/input_items?limit=0", headers: headers).status == 400)
            #expect(try await gateway.get("/v1/responses/\(id)/input_items?order=up", headers: headers).status == 400)
        }
    }

    @Test func aConversationParameterAppendsToThatConversation() async throws {
        try await withResponses("sqlite") { gateway, headers in
            let made = try await gateway.post("/v1/conversations", #"{"title":"trip","model":"gpt-test"}"#, headers: headers)
            let conversation = try #require(try made.json()["id"]?.stringValue)
            let first = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"one","conversation":"\#(conversation)"}"#, headers: headers)
            #expect(first.status == 200)
            #expect(try first.json()["conversation"]?["id"]?.stringValue == conversation)
            let second = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"two","conversation":{"id":"\#(conversation)"}}"#, headers: headers)
            #expect(second.status == 200)
            let path = try await gateway.get("/v1/conversations/\(conversation)/messages", headers: headers).json()["data"]
            #expect(ConversationTests.transcript(path) == ["user: one", "assistant: echo: one", "user: two", "assistant: echo: two"])
            let missing = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"x","conversation":"conv_nope"}"#, headers: headers)
            #expect(missing.status == 404)
        }
    }

    /// Through Bedrock (Converse): the answer's text and its function call are two items, and the
    /// call output goes back as a `toolResult` answering the same `toolUseId`.
    @Test func functionCallingOverTwoTurnsThroughBedrock() async throws {
        try await withBedrockGateway { gateway, fake in
            let key = try await gateway.createKey(#"{"name":"responses","user_id":"u-\#(UUID().uuidString)","role":"user"}"#)
            let headers = bearer(key.secret)
            let tools = #"[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]"#
            let first = try await gateway.post(
                "/v1/responses", #"{"model":"claude","input":"weather in Paris?","tools":\#(tools),"tool_choice":"required"}"#, headers: headers
            )
            #expect(first.status == 200, "body: \(first.body)")
            let response = try first.json()
            let output = response["output"]?.arrayValue ?? []
            #expect(output.map { $0["type"]?.stringValue ?? "" } == ["message", "function_call"])
            #expect(Self.outputText(response) == "Let me look.")
            #expect(output.last?["call_id"] == "tooluse_abc123")
            #expect(output.last?["arguments"]?.stringValue.flatMap(JSONCoding.parseModelOutput)?["city"] == "Paris")
            let id = try #require(response["id"]?.stringValue)
            let second = try await gateway.post(
                "/v1/responses",
                #"{"model":"claude","previous_response_id":"\#(id)","tools":\#(tools),"input":[{"type":"function_call_output","call_id":"tooluse_abc123","output":"sunny"}]}"#,
                headers: headers
            )
            #expect(second.status == 200, "body: \(second.body)")
            #expect(Self.outputText(try second.json()) == "tool said: sunny")
            let sent = try #require(await fake.recorder.requests.last?.body)
            let messages = sent["messages"]?.arrayValue ?? []
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["user", "assistant", "user"])
            #expect(messages[1]["content"]?.arrayValue?.contains { $0["toolUse"]?["toolUseId"] == "tooluse_abc123" } == true)
            #expect(messages[2]["content"]?[0]?["toolResult"]?["toolUseId"] == "tooluse_abc123")
        }
    }

    /// The Conversations API on the same conversations: made with first items and metadata, items
    /// listed (newest first, paged), appended, read, deleted out of the tree (a deleted item is out
    /// of the next call's context too), metadata updated; another owner gets 404 throughout.
    @Test(arguments: backends) func theConversationsAPIsItemsAreTheActiveBranch(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            let made = try await gateway.post(
                "/v1/conversations",
                #"{"metadata":{"topic":"trip"},"items":[{"type":"message","role":"user","content":"I like trains."},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Noted."}]}]}"#,
                headers: headers
            )
            #expect(made.status == 201)
            let conversation = try made.json()
            #expect(conversation["object"] == "conversation")
            #expect(conversation["metadata"]?["topic"] == "trip")
            #expect(conversation["created_at"]?.intValue != nil)
            let id = try #require(conversation["id"]?.stringValue)

            let listed = try await gateway.get("/v1/conversations/\(id)/items", headers: headers).json()
            #expect(listed["object"] == "list")
            let items = listed["data"]?.arrayValue ?? []
            #expect(items.map { $0["role"]?.stringValue ?? "" } == ["assistant", "user"])
            #expect(items.first?["content"]?[0]?["type"] == "output_text")
            #expect(items.last?["content"]?[0]?["type"] == "input_text")
            #expect(listed["first_id"] == items.first?["id"])
            #expect(listed["has_more"] == false)
            let userItem = try #require(items.last?["id"]?.stringValue)
            let page = try await gateway.get("/v1/conversations/\(id)/items?order=asc&limit=1", headers: headers).json()
            #expect(page["data"]?[0]?["id"]?.stringValue == userItem)
            #expect(page["has_more"] == true)
            let next = try await gateway.get("/v1/conversations/\(id)/items?order=asc&after=\(userItem)", headers: headers).json()
            #expect(next["data"]?.arrayValue?.count == 1)
            #expect(next["data"]?[0]?["role"] == "assistant")

            // A response in the conversation lands in its items, after what was there.
            let answered = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"and planes?","conversation":"\#(id)"}"#, headers: headers)
            #expect(answered.status == 200)
            #expect(ConversationTests.transcript(try #require(await gateway.upstream.recorder.last?.body)["messages"])
                == ["user: I like trains.", "assistant: Noted.", "user: and planes?"])

            // Appending items: a call and its output; an output answering no call is refused.
            let added = try await gateway.post(
                "/v1/conversations/\(id)/items",
                #"{"items":[{"type":"function_call","call_id":"call_9","name":"lookup","arguments":"{}"},{"type":"function_call_output","call_id":"call_9","output":"found"}]}"#,
                headers: headers
            )
            #expect(added.status == 200, "body: \(added.body)")
            let addedItems = try added.json()["data"]?.arrayValue ?? []
            #expect(addedItems.map { $0["type"]?.stringValue ?? "" } == ["function_call", "function_call_output"])
            let orphan = try await gateway.post(
                "/v1/conversations/\(id)/items", #"{"items":[{"type":"function_call_output","call_id":"call_nope","output":"x"}]}"#, headers: headers
            )
            #expect(orphan.status == 400)
            #expect(try orphan.json()["error"]?["param"] == "items")
            #expect(try await gateway.post("/v1/conversations/\(id)/items", #"{"items":[{"role":"tool","content":"x"}]}"#, headers: headers).status == 400)
            let tooMany = (0..<21).map { _ in #"{"role":"user","content":"x"}"# }.joined(separator: ",")
            #expect(try await gateway.post("/v1/conversations/\(id)/items", #"{"items":[\#(tooMany)]}"#, headers: headers).status == 400)

            // One item read back; deleting the function call takes its output with it.
            let callItem = try #require(addedItems.first?["id"]?.stringValue)
            let read = try await gateway.get("/v1/conversations/\(id)/items/\(callItem)", headers: headers)
            #expect(read.status == 200)
            #expect(try read.json()["call_id"] == "call_9")
            let afterDelete = try await gateway.request(.DELETE, "/v1/conversations/\(id)/items/\(callItem)", headers: headers)
            #expect(afterDelete.status == 200)
            #expect(try afterDelete.json()["object"] == "conversation")
            #expect(try await gateway.get("/v1/conversations/\(id)/items/\(callItem)", headers: headers).status == 404)
            // Deleting the first user item closes the tree up: the next call's context lacks it.
            #expect(try await gateway.request(.DELETE, "/v1/conversations/\(id)/items/\(userItem)", headers: headers).status == 200)
            let remaining = try await gateway.get("/v1/conversations/\(id)/items?order=asc", headers: headers).json()["data"]?.arrayValue ?? []
            #expect(remaining.map { $0["type"]?.stringValue ?? "" } == ["message", "message", "message"])
            #expect(remaining.first?["role"] == "assistant")
            let again = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"ships?","conversation":"\#(id)"}"#, headers: headers)
            #expect(again.status == 200)
            #expect(ConversationTests.transcript(try #require(await gateway.upstream.recorder.last?.body)["messages"])
                == ["assistant: Noted.", "user: and planes?", "assistant: echo: and planes?", "user: ships?"])

            // Metadata is updated by POST; over its limits, refused.
            let updated = try await gateway.post("/v1/conversations/\(id)", #"{"metadata":{"topic":"ships"}}"#, headers: headers)
            #expect(updated.status == 200)
            #expect(try updated.json()["metadata"]?["topic"] == "ships")
            #expect(try await gateway.get("/v1/conversations/\(id)", headers: headers).json()["metadata"]?["topic"] == "ships")
            let seventeen = (0..<17).map { #""k\#($0)":"v""# }.joined(separator: ",")
            #expect(try await gateway.post("/v1/conversations/\(id)", #"{"metadata":{\#(seventeen)}}"#, headers: headers).status == 400)
            #expect(try await gateway.post("/v1/conversations", #"{"metadata":{\#(seventeen)}}"#, headers: headers).status == 400)

            // Another owner: 404 on every item route.
            let other = bearer(try await gateway.createKey(#"{"name":"other","user_id":"u-\#(UUID().uuidString)","role":"user"}"#).secret)
            let firstItem = try #require(remaining.first?["id"]?.stringValue)
            #expect(try await gateway.get("/v1/conversations/\(id)/items", headers: other).status == 404)
            #expect(try await gateway.get("/v1/conversations/\(id)/items/\(firstItem)", headers: other).status == 404)
            #expect(try await gateway.request(.DELETE, "/v1/conversations/\(id)/items/\(firstItem)", headers: other).status == 404)
            #expect(try await gateway.post("/v1/conversations/\(id)/items", #"{"items":[{"role":"user","content":"x"}]}"#, headers: other).status == 404)
            #expect(try await gateway.post("/v1/conversations/\(id)", #"{"metadata":{"a":"b"}}"#, headers: other).status == 404)
            #expect(try await gateway.get("/v1/conversations/\(id)/items/msg_nope", headers: headers).status == 404)

            let deleted = try await gateway.request(.DELETE, "/v1/conversations/\(id)", headers: headers).json()
            #expect(deleted["object"] == "conversation.deleted")
            #expect(deleted["deleted"] == true)
        }
    }

    /// An answer the provider stopped at its token limit is `incomplete` (`max_output_tokens`),
    /// when created and when read back.
    @Test(arguments: backends) func anAnswerCutAtItsLimitIsIncompleteAndReadsBackSo(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            let created = try await gateway.post("/v1/responses", #"{"model":"cut-short","input":"a long story"}"#, headers: headers)
            #expect(created.status == 200, "body: \(created.body)")
            let response = try created.json()
            #expect(response["status"] == "incomplete")
            #expect(response["incomplete_details"]?["reason"] == "max_output_tokens")
            let id = try #require(response["id"]?.stringValue)
            let read = try await gateway.get("/v1/responses/\(id)", headers: headers).json()
            #expect(read["status"] == "incomplete")
            #expect(read["incomplete_details"]?["reason"] == "max_output_tokens")
            #expect(read["output"]?[0]?["status"] == "incomplete")
            // A finished answer still reads back completed.
            let done = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"short"}"#, headers: headers).json()
            let doneID = try #require(done["id"]?.stringValue)
            #expect(try await gateway.get("/v1/responses/\(doneID)", headers: headers).json()["status"] == "completed")
        }
    }

    /// Deleting items leaves the others as they were: a call's item id stays when another call
    /// of its answer goes; the cut call leaves the tool-call index; an answer's text deleted
    /// does not come back empty beside its reasoning; a call's outputs on another branch stay.
    @Test(arguments: backends) func deletingAnItemLeavesTheOthersAsTheyWere(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            let made = try await gateway.post(
                "/v1/conversations",
                #"{"items":[{"role":"user","content":"two lookups"},{"type":"function_call","call_id":"call_a","name":"lookup","arguments":"{}"},{"type":"function_call","call_id":"call_b","name":"lookup","arguments":"{}"},{"type":"function_call_output","call_id":"call_a","output":"A"},{"type":"function_call_output","call_id":"call_b","output":"B"}]}"#,
                headers: headers
            )
            #expect(made.status == 201, "body: \(made.body)")
            let id = try #require(try made.json()["id"]?.stringValue)
            let items = try await gateway.get("/v1/conversations/\(id)/items?order=asc", headers: headers).json()["data"]?.arrayValue ?? []
            #expect(items.map { $0["type"]?.stringValue ?? "" } == ["message", "function_call", "function_call", "function_call_output", "function_call_output"])
            let callA = try #require(items[1]["id"]?.stringValue)
            let callB = try #require(items[2]["id"]?.stringValue)
            #expect(items[2]["call_id"] == "call_b")
            let before = try await gateway.get("/conversations/\(id)", headers: authHeaders).json()
            #expect(Set((before["tool_calls"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }) == ["call_a", "call_b"])

            #expect(try await gateway.request(.DELETE, "/v1/conversations/\(id)/items/\(callA)", headers: headers).status == 200)
            let kept = try await gateway.get("/v1/conversations/\(id)/items/\(callB)", headers: headers)
            #expect(kept.status == 200, "the other call keeps its id")
            #expect(try kept.json()["call_id"] == "call_b")
            let after = try await gateway.get("/v1/conversations/\(id)/items?order=asc", headers: headers).json()["data"]?.arrayValue ?? []
            #expect(after.map { $0["type"]?.stringValue ?? "" } == ["message", "function_call", "function_call_output"])
            #expect(after.last?["call_id"] == "call_b")
            let index = try await gateway.get("/conversations/\(id)", headers: authHeaders).json()
            #expect((index["tool_calls"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == ["call_b"])

            // Only reasoning items: nothing to keep, said so.
            let reasoningOnly = try await gateway.post(
                "/v1/conversations/\(id)/items", #"{"items":[{"type":"reasoning","summary":[]}]}"#, headers: headers
            )
            #expect(reasoningOnly.status == 400)
            #expect(try reasoningOnly.json()["error"]?["param"] == "items")

            // The same call id answered on two sibling branches: deleting one call keeps the other's output.
            let tools = #""tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}],"tool_choice":"required""#
            let root = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"hi"}"#, headers: headers).json()
            let rootID = try #require(root["id"]?.stringValue)
            var outputs: [String] = []
            var calls: [String] = []
            var conversation = ""
            for _ in 0..<2 {
                let asked = try await gateway.post(
                    "/v1/responses", #"{"model":"gpt-test","input":"weather?","previous_response_id":"\#(rootID)",\#(tools)}"#, headers: headers
                )
                let answer = try asked.json()
                conversation = try #require(asked.header("x-switchboard-conversation-id"))
                let call = try #require(answer["output"]?[0])
                #expect(call["call_id"] == "call_abc123")
                calls.append(try #require(call["id"]?.stringValue))
                let answered = try await gateway.post(
                    "/v1/responses",
                    #"{"model":"gpt-test","previous_response_id":"\#(try #require(answer["id"]?.stringValue))","input":[{"type":"function_call_output","call_id":"call_abc123","output":"sunny"}]}"#,
                    headers: headers
                )
                let inputs = try await gateway.get("/v1/responses/\(try #require(try answered.json()["id"]?.stringValue))/input_items", headers: headers).json()
                outputs.append(try #require(inputs["data"]?[0]?["id"]?.stringValue))
            }
            #expect(try await gateway.request(.DELETE, "/v1/conversations/\(conversation)/items/\(calls[0])", headers: headers).status == 200)
            #expect(try await gateway.get("/v1/conversations/\(conversation)/items/\(outputs[0])", headers: headers).status == 404)
            #expect(try await gateway.get("/v1/conversations/\(conversation)/items/\(outputs[1])", headers: headers).status == 200)
            #expect(try await gateway.get("/v1/conversations/\(conversation)/items/\(calls[1])", headers: headers).status == 200)
        }
    }

    /// `tool_choice` `auto` or `none` with no tools says nothing and is taken; `required` is refused.
    @Test func aToolChoiceWithNoToolsIsIgnoredUnlessACallMustBeMade() async throws {
        try await withResponses("sqlite") { gateway, headers in
            for choice in ["auto", "none"] {
                let answered = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"hi","tool_choice":"\#(choice)","store":false}"#, headers: headers)
                #expect(answered.status == 200, "\(choice): \(answered.body)")
                #expect(try #require(await gateway.upstream.recorder.last?.body)["tool_choice"] == nil)
            }
            let required = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"hi","tool_choice":"required","store":false}"#, headers: headers)
            #expect(required.status == 400)
            #expect(try required.json()["error"]?["param"] == "tool_choice")
        }
    }

    /// The conversation limits hold for the Responses and Conversations APIs: first items over
    /// `max_messages` are refused, and `truncation: disabled` refuses a chain longer than
    /// `max_context_messages` instead of dropping its start; a stream that broke off reads back
    /// `failed` with an error OpenAI's SDK knows.
    @Test(arguments: backends) func theConversationLimitsHoldAndABrokenStreamReadsBackFailed(backend: String) async throws {
        let config = Self.providersConfig + "\nconversations:\n  max_context_messages: 4\n  max_messages: 8\n"
        try await withResponses(backend, config: config) { gateway, headers in
            let nine = (0..<9).map { _ in #"{"role":"user","content":"x"}"# }.joined(separator: ",")
            let tooMany = try await gateway.post("/v1/conversations", #"{"items":[\#(nine)]}"#, headers: headers)
            #expect(tooMany.status == 409)
            #expect(try tooMany.json()["error"]?["message"]?.stringValue?.contains("max_messages") == true)

            var previous = try #require(try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"one"}"#, headers: headers).json()["id"]?.stringValue)
            previous = try #require(try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","input":"two","previous_response_id":"\#(previous)"}"#, headers: headers
            ).json()["id"]?.stringValue)
            let refused = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","input":"three","previous_response_id":"\#(previous)","truncation":"disabled"}"#, headers: headers
            )
            #expect(refused.status == 400)
            #expect(try refused.json()["error"]?["message"]?.stringValue?.contains("max_context_messages") == true)
            let cut = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","input":"three","previous_response_id":"\#(previous)","truncation":"auto"}"#, headers: headers
            )
            #expect(cut.status == 200)
            #expect(ConversationTests.transcript(try #require(await gateway.upstream.recorder.last?.body)["messages"])
                == ["assistant: echo: one", "user: two", "assistant: echo: two", "user: three"])

            let broken = try await gateway.post("/v1/responses", #"{"model":"dying","input":"tell me","stream":true}"#, headers: headers)
            let events = try Self.events(broken.body)
            #expect(events.last?.name == "response.failed")
            #expect(events.last?.data["response"]?["error"]?["code"] == "server_error")
            let id = try #require(events.first?.data["response"]?["id"]?.stringValue)
            let read = try await gateway.get("/v1/responses/\(id)", headers: headers)
            #expect(read.status == 200)
            let stored = try read.json()
            #expect(stored["status"] == "failed")
            #expect(stored["error"]?["code"] == "server_error")
            #expect(stored["incomplete_details"] == .null)
        }
    }

    /// `background: true`: answered at once as `queued`, run after the request returned, polled by
    /// `GET` until `completed` (then a stored response like any other); a running one is
    /// `cancel`led and stays so; the owner's alone; what would fail at once fails at once.
    @Test(arguments: backends) func backgroundResponsesRunAfterTheRequestAndCanBeCancelled(backend: String) async throws {
        try await withResponses(backend) { gateway, headers in
            let created = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"later","background":true}"#, headers: headers)
            #expect(created.status == 200, "body: \(created.body)")
            let queued = try created.json()
            #expect(queued["status"] == "queued")
            #expect(queued["background"] == true)
            #expect(queued["output"]?.arrayValue?.isEmpty == true)
            let id = try #require(queued["id"]?.stringValue)
            var polled = JSONValue.null
            for _ in 0..<200 {
                polled = try await gateway.get("/v1/responses/\(id)", headers: headers).json()
                if polled["status"] == "completed" { break }
                #expect(["queued", "in_progress"].contains(polled["status"]?.stringValue ?? ""), "\(polled)")
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(polled["status"] == "completed")
            #expect(polled["background"] == true)
            #expect(Self.outputText(polled) == "echo: later")
            let items = try await gateway.get("/v1/responses/\(id)/input_items", headers: headers).json()
            #expect(items["data"]?[0]?["content"]?[0]?["text"] == "later")
            let next = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"next","previous_response_id":"\#(id)"}"#, headers: headers)
            #expect(next.status == 200)
            #expect(ConversationTests.transcript(try #require(await gateway.upstream.recorder.last?.body)["messages"])
                == ["user: later", "assistant: echo: later", "user: next"])
            // A finished one is answered as it is; a response not made in the background cannot be cancelled.
            #expect(try await gateway.post("/v1/responses/\(id)/cancel", "", headers: headers).json()["status"] == "completed")
            let plainID = try #require(try next.json()["id"]?.stringValue)
            #expect(try await gateway.post("/v1/responses/\(plainID)/cancel", "", headers: headers).status == 400)

            // A slow one, cancelled while it runs.
            let slow = try await gateway.post("/v1/responses", #"{"model":"slow-model","input":"take your time","background":true}"#, headers: headers)
            let slowID = try #require(try slow.json()["id"]?.stringValue)
            let other = bearer(try await gateway.createKey(#"{"name":"other","user_id":"u-\#(UUID().uuidString)","role":"user"}"#).secret)
            #expect(try await gateway.get("/v1/responses/\(slowID)", headers: other).status == 404)
            #expect(try await gateway.post("/v1/responses/\(slowID)/cancel", "", headers: other).status == 404)
            #expect(try await gateway.get("/v1/responses/\(slowID)/input_items", headers: headers).status == 400)
            let cancelled = try await gateway.post("/v1/responses/\(slowID)/cancel", "", headers: headers)
            #expect(cancelled.status == 200)
            #expect(try cancelled.json()["status"] == "cancelled")
            #expect(try await gateway.get("/v1/responses/\(slowID)", headers: headers).json()["status"] == "cancelled")

            // Refused at once.
            let streamed = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"x","background":true,"stream":true}"#, headers: headers)
            #expect(streamed.status == 400)
            #expect(try streamed.json()["error"]?["param"] == "stream")
            let unstored = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"x","background":true,"store":false}"#, headers: headers)
            #expect(unstored.status == 400)
            #expect(try unstored.json()["error"]?["param"] == "background")
            let unknown = try await gateway.post(
                "/v1/responses", #"{"model":"gpt-test","input":"x","background":true,"previous_response_id":"resp_nope"}"#, headers: headers
            )
            #expect(unknown.status == 404)
            #expect(try unknown.json()["error"]?["param"] == "previous_response_id")
        }
    }
}
