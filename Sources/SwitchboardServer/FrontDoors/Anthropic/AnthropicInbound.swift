import SwitchboardCore
import SwitchboardProviders

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `/v1/messages` front door's translation: an Anthropic request into the core vocabulary,
/// and a core answer back into Anthropic's shapes (the provider direction is
/// `AnthropicTranslation`, next to the adapter).
enum AnthropicInbound {
    static func coreRequest(from request: Anthropic.Request) -> ChatRequest {
        var messages: [ChatMessage] = []
        switch request.system {
        case .string(let text)?:
            messages.append(ChatMessage(role: .system, content: .text(text)))
        case .array(let blocks)?:
            let parts = blocks.map { block -> ContentPart in
                if block.objectValue?.count == 2, let text = block["text"]?.stringValue { return .text(text) }
                return .other(block)
            }
            messages.append(ChatMessage(role: .system, content: .parts(parts)))
        default:
            break
        }
        for message in request.messages {
            if message.role == "assistant" {
                messages.append(assistantMessage(message.content))
                continue
            }
            // Tool results become `tool` messages ahead of what else the user said.
            var parts: [ContentPart] = []
            for block in message.content {
                switch block {
                case .toolResult(let id, let content, let isError):
                    var text: MessageContent
                    switch content {
                    case .string(let value)?: text = .text(value)
                    case .array(let items)?:
                        text = .parts(items.map { item in
                            if item["type"] == "text", let value = item["text"]?.stringValue, item.objectValue?.count == 2 {
                                return .text(value)
                            }
                            return .other(item)
                        })
                    case nil: text = .text("")
                    case let other?: text = .text(JSONText.compact(other))
                    }
                    if isError == true, case .text(let value) = text { text = .text("Error: " + value) }
                    messages.append(ChatMessage(role: .tool, content: text, toolCallID: id))
                case .text(let value, let extra):
                    if extra.isEmpty {
                        parts.append(.text(value))
                    } else {
                        var object = extra
                        object["type"] = "text"
                        object["text"] = .string(value)
                        parts.append(.other(.object(object)))
                    }
                case .image(let source, _):
                    if source["type"] == "base64", let media = source["media_type"]?.stringValue, let data = source["data"]?.stringValue {
                        parts.append(.imageURL(url: "data:\(media);base64,\(data)", detail: nil))
                    } else if let url = source["url"]?.stringValue {
                        parts.append(.imageURL(url: url, detail: nil))
                    }
                case .other(let raw):
                    parts.append(.other(raw))
                case .toolUse, .thinking, .redactedThinking:
                    break
                }
            }
            if parts.isEmpty { continue }
            if parts.count == 1, case .text(let only) = parts[0] {
                messages.append(ChatMessage(role: .user, content: .text(only)))
            } else {
                messages.append(ChatMessage(role: .user, content: .parts(parts)))
            }
        }

        var core = ChatRequest(model: request.model, messages: messages)
        core.stream = request.stream ?? false
        core.maxTokens = request.maxTokens
        core.temperature = request.temperature
        core.topP = request.topP
        core.stop = request.stopSequences.map { StopSequences($0) }
        core.tools = request.tools?.map {
            Tool(function: .init(name: $0.name, description: $0.description, parameters: $0.inputSchema))
        }
        if let choice = request.toolChoice {
            switch choice["type"]?.stringValue {
            case "auto": core.toolChoice = .auto
            case "any": core.toolChoice = .required
            case "none": core.toolChoice = ToolChoice.none
            case "tool": core.toolChoice = choice["name"]?.stringValue.map { .function(name: $0) }
            default: break
            }
            if choice["disable_parallel_tool_use"] == true { core.extra["parallel_tool_calls"] = false }
        }
        core.user = request.metadata?["user_id"]?.stringValue
        core.gatewayExtensions.anthropicThinking = request.thinking
        core.gatewayExtensions.anthropicTopK = request.topK
        return core
    }

    static func assistantMessage(_ blocks: [Anthropic.ContentBlock]) -> ChatMessage {
        var text = ""
        var calls: [ToolCall] = []
        var thinking: [JSONValue] = []
        var reasoning = ""
        for block in blocks {
            switch block {
            case .text(let value, _): text += value
            case .toolUse(let id, let name, let input):
                calls.append(ToolCall(id: id, function: .init(name: name, arguments: JSONText.compact(input))))
            case .thinking(let value, let signature):
                reasoning += value
                thinking.append(["type": "thinking", "thinking": .string(value), "signature": .string(signature)])
            case .redactedThinking(let data):
                thinking.append(["type": "redacted_thinking", "data": .string(data)])
            case .image, .toolResult, .other:
                break
            }
        }
        var extra: [String: JSONValue] = [:]
        if !thinking.isEmpty { extra["thinking_blocks"] = .array(thinking) }
        return ChatMessage(
            role: .assistant,
            content: text.isEmpty && !calls.isEmpty ? nil : .text(text),
            toolCalls: calls.isEmpty ? nil : calls,
            extra: extra
        )
    }

    /// A core answer in Anthropic's message shape.
    static func anthropicResponse(from response: ChatResponse, usage: Usage, fallbackID: String) -> Anthropic.Response {
        let choice = response.choices.first
        var content: [Anthropic.ContentBlock] = []
        if case .array(let blocks)? = choice?.message.extra["thinking_blocks"] {
            for block in blocks {
                if let decoded = try? JSONValueDecoder().decode(Anthropic.ContentBlock.self, from: block) { content.append(decoded) }
            }
        }
        let text = choice?.message.content?.text ?? ""
        if !text.isEmpty || (choice?.message.toolCalls ?? []).isEmpty {
            content.append(.text(text, extra: [:]))
        }
        for call in choice?.message.toolCalls ?? [] {
            content.append(.toolUse(id: call.id, name: call.function.name, input: toolInput(call.function.arguments)))
        }
        let id = response.id.hasPrefix("msg_") ? response.id : "msg_" + (response.id.isEmpty ? fallbackID : response.id)
        return Anthropic.Response(
            id: id,
            model: response.model,
            content: content,
            stopReason: AnthropicTranslation.stopReason(choice?.finishReason) ?? "end_turn",
            stopSequence: nil,
            usage: anthropicUsage(usage)
        )
    }

    /// Tool arguments as the JSON object Anthropic's `input` must be.
    static func toolInput(_ arguments: String) -> JSONValue {
        if let value = JSONCoding.parseModelOutput(arguments), case .object = value { return value }
        return [:]
    }

    static func anthropicUsage(_ usage: Usage) -> Anthropic.Usage {
        let cached = usage.cachedPromptTokens
        let created = usage.extra["cache_creation_input_tokens"]?.intValue ?? 0
        return Anthropic.Usage(
            inputTokens: max(0, usage.promptTokens - cached - created),
            outputTokens: usage.completionTokens,
            cacheCreationInputTokens: created,
            cacheReadInputTokens: cached
        )
    }
}

/// Writes a core chunk stream as Anthropic's event sequence, as a value type with no I/O:
/// `message_start`, `ping`, per block `content_block_start` / `content_block_delta` (text,
/// `input_json_delta`, thinking) / `content_block_stop`, then `message_delta` and `message_stop`.
struct AnthropicEventEncoder: Sendable {
    struct Event: Sendable, Hashable {
        var name: String
        var data: JSONValue
    }

    private enum Block: Equatable {
        case text
        case thinking
        case redacted
        case tool(Int)
    }

    private let id: String
    private let model: String
    private let inputEstimate: Int
    private var started = false
    private var index = -1
    private var open: Block?
    private var stopReason: String?
    private var usage: Usage?
    private var outputBytes = 0

    init(id: String, model: String, inputEstimate: Int) {
        self.id = id
        self.model = model
        self.inputEstimate = inputEstimate
    }

    private mutating func start() -> [Event] {
        guard !started else { return [] }
        started = true
        return [
            Event(name: "message_start", data: [
                "type": "message_start",
                "message": [
                    "id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                    "content": [], "stop_reason": nil, "stop_sequence": nil,
                    "usage": ["input_tokens": .integer(Int64(inputEstimate)), "output_tokens": 1],
                ],
            ]),
            Event(name: "ping", data: ["type": "ping"]),
        ]
    }

    private mutating func openBlock(_ block: Block, content: JSONValue) -> [Event] {
        var events = closeBlock()
        index += 1
        open = block
        events.append(Event(name: "content_block_start", data: ["type": "content_block_start", "index": .integer(Int64(index)), "content_block": content]))
        return events
    }

    private mutating func closeBlock() -> [Event] {
        guard open != nil else { return [] }
        open = nil
        return [Event(name: "content_block_stop", data: ["type": "content_block_stop", "index": .integer(Int64(index))])]
    }

    private func delta(_ delta: JSONValue) -> Event {
        Event(name: "content_block_delta", data: ["type": "content_block_delta", "index": .integer(Int64(index)), "delta": delta])
    }

    mutating func encode(_ chunk: ChatChunk) -> [Event] {
        var events = start()
        if let usage = chunk.usage { self.usage = usage }
        for choice in chunk.choices where choice.index == 0 {
            if let reasoning = choice.delta.extra["reasoning_content"]?.stringValue, !reasoning.isEmpty {
                if open != .thinking { events += openBlock(.thinking, content: ["type": "thinking", "thinking": "", "signature": ""]) }
                events.append(delta(["type": "thinking_delta", "thinking": .string(reasoning)]))
            }
            if case .array(let blocks)? = choice.delta.extra["thinking_blocks"] {
                for block in blocks {
                    if block["type"] == "redacted_thinking" {
                        events += openBlock(.redacted, content: block)
                        events += closeBlock()
                        continue
                    }
                    guard let signature = block["signature"]?.stringValue, !signature.isEmpty else { continue }
                    if open != .thinking {
                        events += openBlock(.thinking, content: ["type": "thinking", "thinking": "", "signature": ""])
                        if let text = block["thinking"]?.stringValue, !text.isEmpty {
                            events.append(delta(["type": "thinking_delta", "thinking": .string(text)]))
                        }
                    }
                    events.append(delta(["type": "signature_delta", "signature": .string(signature)]))
                    events += closeBlock()
                }
            }
            if let text = choice.delta.content, !text.isEmpty {
                if open != .text { events += openBlock(.text, content: ["type": "text", "text": ""]) }
                outputBytes += text.utf8.count
                events.append(delta(["type": "text_delta", "text": .string(text)]))
            }
            for call in choice.delta.toolCalls ?? [] {
                if call.id != nil || call.function?.name != nil || open != .tool(call.index) {
                    if open != .tool(call.index) {
                        events += openBlock(.tool(call.index), content: [
                            "type": "tool_use", "id": .string(call.id ?? "toolu_\(call.index)"),
                            "name": .string(call.function?.name ?? ""), "input": [:],
                        ])
                    }
                }
                if let piece = call.function?.arguments, !piece.isEmpty {
                    outputBytes += piece.utf8.count
                    events.append(delta(["type": "input_json_delta", "partial_json": .string(piece)]))
                }
            }
            if let finish = choice.finishReason {
                stopReason = AnthropicTranslation.stopReason(finish)
            }
        }
        return events
    }

    /// The closing events, once the core stream has ended.
    mutating func finish() -> [Event] {
        var events = start()
        events += closeBlock()
        let final = usage.map(AnthropicInbound.anthropicUsage)
        var usageObject: [String: JSONValue] = [
            "output_tokens": .integer(Int64(final?.outputTokens ?? max(1, (outputBytes + 3) / 4)))
        ]
        if let final {
            usageObject["input_tokens"] = .integer(Int64(final.inputTokens))
            usageObject["cache_read_input_tokens"] = .integer(Int64(final.cacheReadInputTokens ?? 0))
            usageObject["cache_creation_input_tokens"] = .integer(Int64(final.cacheCreationInputTokens ?? 0))
        }
        events.append(Event(name: "message_delta", data: [
            "type": "message_delta",
            "delta": ["stop_reason": .string(stopReason ?? "end_turn"), "stop_sequence": nil],
            "usage": .object(usageObject),
        ]))
        events.append(Event(name: "message_stop", data: ["type": "message_stop"]))
        return events
    }
}
