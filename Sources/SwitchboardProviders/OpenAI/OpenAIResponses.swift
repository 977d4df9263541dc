package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI's own Responses API (`POST {base}/responses`) for a call a Responses client made, on an
/// upstream configured `responses: native`: the client's body goes as it came (its bytes, when
/// the gateway changes nothing), and the answer comes back as a chat answer for the ledger, the
/// cache and the stored conversation, carrying the upstream's response object for the front door.
enum OpenAIResponses {
    // MARK: The request

    /// The body to send: the client's own bytes when nothing changes (the model is the one named
    /// and the gateway keeps nothing); else the client's body with the target's model and, for a
    /// response the gateway stores, the stored chain as input items and nothing kept upstream.
    static func body(for request: ChatRequest, native: NativeResponses, provider: String) throws(UpstreamError) -> [UInt8] {
        guard case .object(var body) = native.body else {
            throw UpstreamError(.unsupported, provider: provider, detail: "the Responses request is not an object")
        }
        if !native.chained, !native.raw.isEmpty, body["model"]?.stringValue == request.model, body["stream"]?.boolValue ?? false == request.stream {
            return native.raw.bytes
        }
        body["model"] = .string(request.model)
        body["stream"] = request.stream ? .bool(true) : nil
        if native.chained {
            // The gateway is the store: the upstream gets the whole chain and keeps none of it.
            for key in ["previous_response_id", "conversation", "background"] { body[key] = nil }
            body["store"] = .bool(false)
            let system = request.messages.prefix { $0.role == .system || $0.role == .developer }
            let rest = request.messages.dropFirst(system.count)
            let prior = rest.dropLast(min(native.inputCount, rest.count))
            let instructions = system.compactMap { $0.content?.text }.filter { !$0.isEmpty }.joined(separator: "\n\n")
            body["instructions"] = instructions.isEmpty ? nil : .string(instructions)
            if !prior.isEmpty {
                var input = prior.flatMap(items(of:))
                switch body["input"] {
                case .string(let text)?: input.append(["role": "user", "content": .string(text)])
                case .array(let items)?: input += items
                default: break
                }
                body["input"] = .array(input)
            }
        }
        do {
            return Array(try JSONCoding.encode(JSONValue.object(body)))
        } catch {
            throw UpstreamError(.unsupported, provider: provider, detail: "the Responses request could not be encoded")
        }
    }

    /// A stored message as the input items it was. An answer a native upstream gave replays its
    /// own output items — reasoning only with its `encrypted_content` (nothing is kept upstream
    /// to look it up by id), messages and calls without their ids, built-in tool calls not at all;
    /// any other message is rebuilt from its text, tool calls and tool results.
    static func items(of message: ChatMessage) -> [JSONValue] {
        switch message.role {
        case .tool:
            return [["type": "function_call_output", "call_id": .string(message.toolCallID ?? ""), "output": .string(message.content?.text ?? "")]]
        case .assistant:
            if case .array(let output)? = message.extra[NativeResponses.outputField] {
                return output.compactMap(replayable)
            }
            var items: [JSONValue] = []
            if let text = message.content?.text, !text.isEmpty { items.append(["role": "assistant", "content": .string(text)]) }
            for call in message.toolCalls ?? [] {
                items.append(["type": "function_call", "call_id": .string(call.id), "name": .string(call.function.name), "arguments": .string(call.function.arguments)])
            }
            return items
        default:
            let role = message.role == .function ? "user" : message.role.rawValue
            switch message.content {
            case .parts(let parts)?:
                return [["role": .string(role), "content": .array(parts.compactMap(inputPart))]]
            case .text(let text)?:
                return [["role": .string(role), "content": .string(text)]]
            case nil:
                return []
            }
        }
    }

    private static func replayable(_ item: JSONValue) -> JSONValue? {
        guard case .object(var fields) = item else { return nil }
        switch fields["type"]?.stringValue {
        case "reasoning":
            guard fields["encrypted_content"]?.stringValue != nil else { return nil }
            return item
        case "message", "function_call":
            fields["id"] = nil
            fields["status"] = nil
            return .object(fields)
        default:
            return nil
        }
    }

    private static func inputPart(_ part: ContentPart) -> JSONValue? {
        switch part {
        case .text(let text): return ["type": "input_text", "text": .string(text)]
        case .imageURL(let url, let detail): return ["type": "input_image", "image_url": .string(url), "detail": .string(detail ?? "auto")]
        case .other(let value):
            guard value["type"]?.stringValue == "file", case .object(let file)? = value["file"] else { return nil }
            return .object(file.merging(["type": "input_file"]) { _, new in new })
        }
    }

    // MARK: The answer

    /// A response object as a chat answer: the message items' text, the function calls, the
    /// reasoning summary, the usage; the output items as they came in ``NativeResponses/outputField``
    /// and the body in `upstreamBody`.
    static func answer(_ bytes: [UInt8], provider: String) throws(UpstreamError) -> ChatResponse {
        let object: Wire.Object
        do {
            object = try JSONDecoder().decode(Wire.Object.self, from: Data(bytes))
        } catch {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "the body is not a response object")
        }
        var response = chatResponse(object)
        response.upstreamBody = VerbatimBody(bytes)
        return response
    }

    static func chatResponse(_ object: Wire.Object) -> ChatResponse {
        var text = ""
        var reasoning = ""
        var calls: [ToolCall] = []
        for item in object.output {
            switch item["type"]?.stringValue {
            case "message":
                for part in item["content"]?.arrayValue ?? [] {
                    text += part["text"]?.stringValue ?? part["refusal"]?.stringValue ?? ""
                }
            case "function_call":
                calls.append(ToolCall(
                    id: item["call_id"]?.stringValue ?? "",
                    function: .init(name: item["name"]?.stringValue ?? "", arguments: item["arguments"]?.stringValue ?? "")
                ))
            case "reasoning":
                reasoning += (item["summary"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n\n")
            default:
                break
            }
        }
        var message = ChatMessage(role: .assistant, content: text.isEmpty && !calls.isEmpty ? nil : .text(text), toolCalls: calls.isEmpty ? nil : calls)
        if !reasoning.isEmpty { message.extra["reasoning_content"] = .string(reasoning) }
        message.extra[NativeResponses.outputField] = .array(object.output)
        let choice = ChatResponse.Choice(index: 0, message: message, finishReason: finishReason(object, calls: !calls.isEmpty))
        return ChatResponse(
            id: object.id, object: NativeResponses.answerObject, created: Int(object.createdAt ?? 0), model: object.model ?? "",
            choices: [choice], usage: object.usage.map(\.core)
        )
    }

    static func finishReason(_ object: Wire.Object, calls: Bool) -> String {
        if object.status == "incomplete" {
            return object.incompleteDetails?.reason == "content_filter" ? "content_filter" : "length"
        }
        return calls ? "tool_calls" : "stop"
    }

    /// The Responses API's shapes this adapter reads.
    enum Wire {
        struct Object: Decodable {
            var id: String
            var createdAt: Double?
            var model: String?
            var status: String?
            var output: [JSONValue]
            var usage: Usage?
            var incompleteDetails: IncompleteDetails?

            enum CodingKeys: String, CodingKey {
                case id, model, status, output, usage
                case createdAt = "created_at"
                case incompleteDetails = "incomplete_details"
            }
        }

        struct IncompleteDetails: Decodable {
            var reason: String?
        }

        struct Usage: Decodable {
            struct InputDetails: Decodable {
                var cachedTokens: Int?
                enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
            }

            struct OutputDetails: Decodable {
                var reasoningTokens: Int?
                enum CodingKeys: String, CodingKey { case reasoningTokens = "reasoning_tokens" }
            }

            var inputTokens: Int
            var outputTokens: Int
            var totalTokens: Int?
            var inputTokensDetails: InputDetails?
            var outputTokensDetails: OutputDetails?

            enum CodingKeys: String, CodingKey {
                case inputTokens = "input_tokens"
                case outputTokens = "output_tokens"
                case totalTokens = "total_tokens"
                case inputTokensDetails = "input_tokens_details"
                case outputTokensDetails = "output_tokens_details"
            }

            /// In chat's terms (cached and reasoning tokens in their chat `_details`).
            var core: SwitchboardCore.Usage {
                var extra: [String: JSONValue] = [:]
                if let cached = inputTokensDetails?.cachedTokens { extra["prompt_tokens_details"] = ["cached_tokens": .integer(Int64(cached))] }
                if let reasoning = outputTokensDetails?.reasoningTokens {
                    extra["completion_tokens_details"] = ["reasoning_tokens": .integer(Int64(reasoning))]
                }
                return SwitchboardCore.Usage(promptTokens: inputTokens, completionTokens: outputTokens, totalTokens: totalTokens, extra: extra)
            }
        }

        /// One stream event: its type, and the fields this adapter reads.
        struct Event: Decodable {
            var type: String
            var outputIndex: Int?
            var delta: String?
            var item: JSONValue?
            var response: Object?

            enum CodingKeys: String, CodingKey {
                case type, delta, item, response
                case outputIndex = "output_index"
            }
        }
    }
}

/// A Responses stream (`event:` + `data:` frames, no `[DONE]`) into core chunks: text, function
/// call arguments and reasoning summary deltas as chat deltas, the final response's usage, finish
/// reason and output items on the last. Every frame rides along as it came (a chunk with no
/// choices for one that says nothing to chat), so a Responses client can get the upstream's bytes.
struct OpenAIResponsesStreamTranslator: StreamTranslator {
    let provider: String
    private let decoder = JSONDecoder()
    private(set) var isFinished = false
    private var id = ""
    private var model = ""
    /// An output index → the tool call index of its function call.
    private var calls: [Int: Int] = [:]

    init(provider: String) {
        self.provider = provider
    }

    mutating func translate(_ event: SSEEvent) throws(UpstreamError) -> [ChatChunk] {
        let parsed: OpenAIResponses.Wire.Event
        do {
            parsed = try decoder.decode(OpenAIResponses.Wire.Event.self, from: Data(event.data.utf8))
        } catch {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "a stream event is not a Responses event")
        }
        var delta = ChatDelta()
        var finish: String?
        var usage: Usage?
        switch parsed.type {
        case "response.created":
            id = parsed.response?.id ?? ""
            model = parsed.response?.model ?? ""
            delta.role = .assistant
        case "response.output_text.delta", "response.refusal.delta":
            delta.content = parsed.delta ?? ""
        case "response.reasoning_summary_text.delta":
            delta.extra["reasoning_content"] = .string(parsed.delta ?? "")
        case "response.output_item.added" where parsed.item?["type"]?.stringValue == "function_call":
            let index = calls.count
            calls[parsed.outputIndex ?? index] = index
            delta.toolCalls = [ToolCallDelta(
                index: index, id: parsed.item?["call_id"]?.stringValue, type: "function",
                function: .init(name: parsed.item?["name"]?.stringValue ?? "", arguments: "")
            )]
        case "response.function_call_arguments.delta":
            guard let index = parsed.outputIndex.flatMap({ calls[$0] }) else { break }
            delta.toolCalls = [ToolCallDelta(index: index, function: .init(arguments: parsed.delta ?? ""))]
        case "response.completed", "response.incomplete":
            isFinished = true
            if let response = parsed.response {
                finish = OpenAIResponses.finishReason(response, calls: !calls.isEmpty)
                usage = response.usage?.core
                delta.extra[NativeResponses.outputField] = .array(response.output)
            }
        case "response.failed", "error":
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the provider reported an error mid-stream")
        default:
            break
        }
        let says = delta.role != nil || delta.content != nil || delta.toolCalls != nil || !delta.extra.isEmpty || finish != nil
        var chunk = ChatChunk(
            id: id, created: 0, model: model, choices: says ? [ChatChunk.Choice(index: 0, delta: delta, finishReason: finish)] : [], usage: usage
        )
        chunk.object = NativeResponses.answerObject
        var frame = Array("event: \(event.event ?? parsed.type)\ndata: ".utf8)
        frame += Array(event.data.utf8)
        frame += Array("\n\n".utf8)
        chunk.upstreamBody = VerbatimBody(frame)
        return [chunk]
    }

    mutating func bodyEnded() throws(UpstreamError) -> [ChatChunk] {
        guard isFinished else {
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended before response.completed")
        }
        return []
    }
}
