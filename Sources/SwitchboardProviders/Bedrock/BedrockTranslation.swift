import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Core (OpenAI-shaped) requests and answers to Converse and back; pure functions, no I/O.
enum BedrockTranslation {
    /// Why a core request cannot be put into Converse form; the adapter turns it into `.unsupported`.
    struct Unsupported: Error, Sendable {
        var detail: String
        init(_ detail: String) { self.detail = detail }
    }

    // MARK: - Request

    static func converseRequest(_ request: ChatRequest) throws(Unsupported) -> Bedrock.ConverseRequest {
        if let n = request.n, n > 1 {
            throw Unsupported("Converse returns one choice; n=\(n) was asked")
        }
        var system: [Bedrock.SystemBlock] = []
        var turns: [Bedrock.Message] = []

        func append(role: String, _ blocks: [Bedrock.ContentBlock]) {
            guard !blocks.isEmpty else { return }
            // Converse wants user and assistant turns to alternate, so neighbours of one role merge.
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].content += blocks
            } else {
                turns.append(Bedrock.Message(role: role, content: blocks))
            }
        }

        for message in request.messages {
            switch message.role {
            case .system, .developer:
                let text = message.content?.text ?? ""
                if !text.isEmpty { system.append(Bedrock.SystemBlock(text: text)) }
            case .user:
                append(role: "user", try contentBlocks(message.content))
            case .assistant:
                var blocks = try contentBlocks(message.content)
                for call in message.toolCalls ?? [] {
                    blocks.append(.toolUse(Bedrock.ToolUseBlock(
                        toolUseId: call.id,
                        name: call.function.name,
                        input: try toolInput(call)
                    )))
                }
                append(role: "assistant", blocks)
            case .tool:
                guard let id = message.toolCallID else {
                    throw Unsupported("a tool message has no tool_call_id")
                }
                let isError = message.extra["is_error"]?.boolValue == true
                append(role: "user", [.toolResult(Bedrock.ToolResultBlock(
                    toolUseId: id,
                    content: [.init(text: message.content?.text ?? "")],
                    status: isError ? "error" : nil
                ))])
            case .function:
                throw Unsupported("legacy `function` messages are not supported; use tool messages")
            }
        }

        let inference = Bedrock.InferenceConfig(
            maxTokens: request.outputTokenLimit,
            temperature: request.temperature,
            topP: request.topP,
            stopSequences: request.stop.flatMap { $0.values.isEmpty ? nil : $0.values }
        )

        return Bedrock.ConverseRequest(
            messages: turns,
            system: system.isEmpty ? nil : system,
            inferenceConfig: inference.isEmpty ? nil : inference,
            toolConfig: toolConfig(request)
        )
    }

    static func toolConfig(_ request: ChatRequest) -> Bedrock.ToolConfig? {
        guard let tools = request.tools, !tools.isEmpty else { return nil }
        // Converse insists on a toolConfig whenever the history holds tool calls or results, and
        // has no "none" choice: with history the tools stay (auto); without, they are left out.
        let historyHasTools = request.messages.contains { ($0.toolCalls?.isEmpty == false) || $0.role == .tool }
        let choice: Bedrock.ToolChoice?
        switch request.toolChoice {
        case .some(.none):
            guard historyHasTools else { return nil }
            choice = nil
        case nil: choice = nil
        case .some(.auto): choice = .auto
        case .some(.required): choice = .any
        case .some(.function(let name)): choice = .tool(name: name)
        }
        let entries = tools.map { tool in
            Bedrock.ToolEntry(toolSpec: Bedrock.ToolSpec(
                name: tool.function.name,
                description: tool.function.description,
                inputSchema: .init(json: tool.function.parameters ?? ["type": "object", "properties": [:]])
            ))
        }
        return Bedrock.ToolConfig(tools: entries, toolChoice: choice)
    }

    static func contentBlocks(_ content: MessageContent?) throws(Unsupported) -> [Bedrock.ContentBlock] {
        switch content {
        case nil:
            return []
        case .text(let text)?:
            // Converse rejects empty text blocks.
            return text.isEmpty ? [] : [.text(text)]
        case .parts(let parts)?:
            var blocks: [Bedrock.ContentBlock] = []
            for part in parts {
                switch part {
                case .text(let text):
                    if !text.isEmpty { blocks.append(.text(text)) }
                case .imageURL(let url, _):
                    blocks.append(.image(try image(fromDataURL: url)))
                case .other:
                    throw Unsupported("a content part type other than text or image_url")
                }
            }
            return blocks
        }
    }

    /// `data:image/png;base64,....` → `{format: png, source: {bytes: ....}}`; remote URLs are not fetched.
    static func image(fromDataURL url: String) throws(Unsupported) -> Bedrock.ImageBlock {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else {
            throw Unsupported("Bedrock takes images only as data: URLs, not remote links")
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64") else {
            throw Unsupported("image data URLs must be base64-encoded")
        }
        let mediaType = header.dropLast(7).lowercased()
        let formats = ["image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"]
        guard let format = formats[mediaType] else {
            throw Unsupported("image type `\(mediaType)`; Bedrock takes png, jpeg, gif and webp")
        }
        return Bedrock.ImageBlock(format: format, source: .init(bytes: String(url[url.index(after: comma)...])))
    }

    /// The call's arguments as the JSON object Converse wants; empty arguments mean `{}`.
    static func toolInput(_ call: ToolCall) throws(Unsupported) -> JSONValue {
        let text = call.function.arguments
        if text.allSatisfy(\.isWhitespace) { return [:] }
        guard let value = JSONCoding.parseModelOutput(text), case .object = value else {
            throw Unsupported("the arguments of tool call `\(call.id)` are not a JSON object")
        }
        return value
    }

    // MARK: - Response

    static func chatResponse(_ response: Bedrock.ConverseResponse, id: String, model: String, created: Int) -> ChatResponse {
        var texts: [String] = []
        var calls: [ToolCall] = []
        for block in response.output.message?.content ?? [] {
            switch block {
            case .text(let text): texts.append(text)
            case .toolUse(let use): calls.append(ToolCall(id: use.toolUseId, function: .init(name: use.name, arguments: JSONText.compact(use.input))))
            case .image, .toolResult, .other: break
            }
        }
        let text = texts.joined()
        let message = ChatMessage(
            role: .assistant,
            content: text.isEmpty && !calls.isEmpty ? nil : .text(text),
            toolCalls: calls.isEmpty ? nil : calls
        )
        return ChatResponse(
            id: id,
            created: created,
            model: model,
            choices: [.init(index: 0, message: message, finishReason: finishReason(response.stopReason))],
            usage: response.usage.map(usage)
        )
    }

    static func finishReason(_ stopReason: String?) -> String? {
        switch stopReason {
        case nil: return nil
        case "end_turn", "stop_sequence": return "stop"
        case "max_tokens", "model_context_window_exceeded": return "length"
        case "tool_use": return "tool_calls"
        case "guardrail_intervened", "content_filtered": return "content_filter"
        default: return "stop"
        }
    }

    /// Bedrock counts cache reads and writes apart from `inputTokens`; OpenAI's `prompt_tokens`
    /// includes them, with the reads repeated in `prompt_tokens_details.cached_tokens`.
    static func usage(_ usage: Bedrock.TokenUsage) -> Usage {
        let cacheRead = usage.cacheReadInputTokens ?? 0
        let prompt = usage.inputTokens + cacheRead + (usage.cacheWriteInputTokens ?? 0)
        var extra: [String: JSONValue] = [:]
        if usage.cacheReadInputTokens != nil {
            extra["prompt_tokens_details"] = ["cached_tokens": .integer(Int64(cacheRead))]
        }
        return Usage(promptTokens: prompt, completionTokens: usage.outputTokens, extra: extra)
    }
}
