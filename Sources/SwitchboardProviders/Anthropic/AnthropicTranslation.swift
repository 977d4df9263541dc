package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Core (OpenAI-shaped) ⇄ Anthropic Messages, both directions, with no I/O.
///
/// Outbound (`request(from:)`, `response(_:)`) serves the `anthropic` provider; inbound
/// (`coreRequest(from:)`, `anthropicResponse(from:)`) serves the `/v1/messages` front door.
package enum AnthropicTranslation {
    /// Request fields Anthropic cannot honour, by their OpenAI names.
    package static func unsupportedParameters(in request: ChatRequest) -> [String] {
        request.parametersSet(among: [
            "n", "seed", "response_format", "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty",
        ])
    }

    // MARK: Outbound: core → Anthropic

    /// Builds the Anthropic request. Unsupported parameters are left out (the gateway has already
    /// refused them or decided to drop them).
    package static func request(from core: ChatRequest, defaultMaxTokens: Int) throws(UpstreamError) -> Anthropic.Request {
        var systemBlocks: [JSONValue] = []
        var messages: [Anthropic.Message] = []

        func append(_ role: String, _ blocks: [Anthropic.ContentBlock]) {
            guard !blocks.isEmpty else { return }
            if let last = messages.last, last.role == role {
                // Consecutive turns of one role become one turn; tool results stay first.
                messages[messages.count - 1].content.append(contentsOf: blocks)
            } else {
                messages.append(Anthropic.Message(role: role, content: blocks))
            }
        }

        for message in core.messages {
            switch message.role {
            case .system, .developer:
                switch message.content {
                case .text(let text)?: systemBlocks.append(["type": "text", "text": .string(text)])
                case .parts(let parts)?:
                    for part in parts {
                        switch part {
                        case .text(let text): systemBlocks.append(["type": "text", "text": .string(text)])
                        case .other(let raw): systemBlocks.append(raw)
                        case .imageURL: break
                        }
                    }
                case nil: break
                }
            case .user:
                append("user", try blocks(from: message.content))
            case .assistant:
                var content: [Anthropic.ContentBlock] = []
                // Thinking blocks go back first and unchanged, or the signature check fails.
                if case .array(let thinking)? = message.extra["thinking_blocks"] {
                    for block in thinking {
                        if let decoded = try? JSONDecoder().decode(Anthropic.ContentBlock.self, from: JSONEncoder().encode(block)) {
                            content.append(decoded)
                        }
                    }
                }
                content += try blocks(from: message.content)
                for call in message.toolCalls ?? [] {
                    let input: JSONValue
                    if call.function.arguments.isEmpty {
                        input = [:]
                    } else if let parsed = JSONCoding.parseModelOutput(call.function.arguments),
                        case .object = parsed
                    {
                        input = parsed
                    } else {
                        throw UpstreamError(
                            .unsupported, provider: "anthropic",
                            detail: "the arguments of tool call `\(call.id)` are not a JSON object"
                        )
                    }
                    content.append(.toolUse(id: call.id, name: call.function.name, input: input))
                }
                append("assistant", content)
            case .tool, .function:
                let result: JSONValue?
                switch message.content {
                case .text(let text)?: result = .string(text)
                case .parts(let parts)?:
                    result = .array(parts.map { part in
                        switch part {
                        case .text(let text): return ["type": "text", "text": .string(text)]
                        case .imageURL(let url, _): return (try? JSONEncoder().encode(imageBlock(url: url))).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) } ?? nil
                        case .other(let raw): return raw
                        }
                    })
                case nil: result = nil
                }
                append("user", [.toolResult(toolUseID: message.toolCallID ?? message.name ?? "", content: result, isError: nil)])
            }
        }

        var request = Anthropic.Request(
            model: core.model,
            maxTokens: core.outputTokenLimit ?? defaultMaxTokens,
            messages: messages
        )
        if !systemBlocks.isEmpty {
            let allPlain = systemBlocks.allSatisfy { $0.objectValue?.count == 2 && $0["text"] != nil }
            request.system = allPlain
                ? .string(systemBlocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n\n"))
                : .array(systemBlocks)
        }
        request.temperature = core.temperature.map { min($0, 1) }
        request.topP = core.topP
        request.stopSequences = core.stop?.values
        if let tools = core.tools, core.toolChoice != ToolChoice.none {
            request.tools = tools.map { Anthropic.Tool(name: $0.function.name, description: $0.function.description, inputSchema: $0.function.parameters) }
        }
        var choice: [String: JSONValue]?
        switch core.toolChoice {
        case .auto?: choice = ["type": "auto"]
        case .required?: choice = ["type": "any"]
        case .function(let name)?: choice = ["type": "tool", "name": .string(name)]
        case .none?, nil: choice = nil
        }
        if core.extra["parallel_tool_calls"] == .bool(false), request.tools != nil {
            choice = (choice ?? ["type": "auto"]).merging(["disable_parallel_tool_use": true]) { _, new in new }
        }
        request.toolChoice = choice.map(JSONValue.object)
        if let user = core.user { request.metadata = ["user_id": .string(user)] }
        if let thinking = core.gatewayExtensions.anthropicThinking ?? core.extra["thinking"] { request.thinking = thinking }
        if let topK = core.gatewayExtensions.anthropicTopK ?? core.extra["top_k"]?.intValue { request.topK = topK }
        return request
    }

    static func imageBlock(url: String) -> Anthropic.ContentBlock {
        // data:image/png;base64,AAAA → a base64 source; anything else → a URL source.
        if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","),
            url[url.startIndex..<comma].hasSuffix(";base64")
        {
            let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
            let mediaType = header.dropLast(";base64".count)
            return .image(
                source: ["type": "base64", "media_type": .string(String(mediaType)), "data": .string(String(url[url.index(after: comma)...]))],
                extra: [:]
            )
        }
        return .image(source: ["type": "url", "url": .string(url)], extra: [:])
    }

    static func blocks(from content: MessageContent?) throws(UpstreamError) -> [Anthropic.ContentBlock] {
        switch content {
        case nil: return []
        case .text(let text)?: return text.isEmpty ? [] : [.text(text, extra: [:])]
        case .parts(let parts)?:
            return parts.compactMap { part in
                switch part {
                case .text(let text): return .text(text, extra: [:])
                case .imageURL(let url, _): return imageBlock(url: url)
                case .other(let raw):
                    // A text part with extras (cache_control) keeps them; other parts pass as they are.
                    if raw["type"] == "text", let text = raw["text"]?.stringValue {
                        var extra = raw.objectValue ?? [:]
                        extra["type"] = nil
                        extra["text"] = nil
                        return .text(text, extra: extra)
                    }
                    return .other(raw)
                }
            }
        }
    }

    /// Anthropic's stop reason in OpenAI's words.
    package static func finishReason(_ stopReason: String?) -> String? {
        switch stopReason {
        case "end_turn", "stop_sequence", "pause_turn": return "stop"
        case "max_tokens", "model_context_window_exceeded": return "length"
        case "tool_use": return "tool_calls"
        case "refusal": return "content_filter"
        case nil: return nil
        case let other?: return other
        }
    }

    /// OpenAI's finish reason in Anthropic's words.
    package static func stopReason(_ finishReason: String?) -> String? {
        switch finishReason {
        case "stop": return "end_turn"
        case "length": return "max_tokens"
        case "tool_calls", "function_call": return "tool_use"
        case "content_filter": return "refusal"
        case nil: return nil
        default: return "end_turn"
        }
    }

    package static func usage(_ usage: Anthropic.Usage) -> Usage {
        let cacheRead = usage.cacheReadInputTokens ?? 0
        let cacheWrite = usage.cacheCreationInputTokens ?? 0
        var extra: [String: JSONValue] = ["prompt_tokens_details": ["cached_tokens": .integer(Int64(cacheRead))]]
        if usage.cacheCreationInputTokens != nil { extra["cache_creation_input_tokens"] = .integer(Int64(cacheWrite)) }
        if usage.cacheReadInputTokens != nil { extra["cache_read_input_tokens"] = .integer(Int64(cacheRead)) }
        return Usage(promptTokens: usage.inputTokens + cacheRead + cacheWrite, completionTokens: usage.outputTokens, extra: extra)
    }

    /// An Anthropic answer as a core chat completion.
    package static func response(_ response: Anthropic.Response, created: Int) -> ChatResponse {
        var text = ""
        var reasoning = ""
        var thinkingBlocks: [JSONValue] = []
        var toolCalls: [ToolCall] = []
        for block in response.content {
            switch block {
            case .text(let value, _): text += value
            case .toolUse(let id, let name, let input):
                toolCalls.append(ToolCall(id: id, function: .init(name: name, arguments: JSONText.compact(input))))
            case .thinking(let thinking, let signature):
                reasoning += thinking
                thinkingBlocks.append(["type": "thinking", "thinking": .string(thinking), "signature": .string(signature)])
            case .redactedThinking(let data):
                thinkingBlocks.append(["type": "redacted_thinking", "data": .string(data)])
            case .image, .toolResult, .other: break
            }
        }
        var extra: [String: JSONValue] = [:]
        if !reasoning.isEmpty { extra["reasoning_content"] = .string(reasoning) }
        if !thinkingBlocks.isEmpty { extra["thinking_blocks"] = .array(thinkingBlocks) }
        let message = ChatMessage(
            role: .assistant,
            content: text.isEmpty && !toolCalls.isEmpty ? nil : .text(text),
            toolCalls: toolCalls.isEmpty ? nil : toolCalls,
            extra: extra
        )
        return ChatResponse(
            id: response.id,
            created: created,
            model: response.model,
            choices: [.init(index: 0, message: message, finishReason: finishReason(response.stopReason))],
            usage: usage(response.usage)
        )
    }
}
