package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One event of an Anthropic Messages stream, decoded from its `data:` JSON.
package enum AnthropicStreamEvent: Sendable, Hashable {
    case messageStart(id: String, model: String, usage: Anthropic.Usage)
    case contentBlockStart(index: Int, block: Anthropic.ContentBlock)
    case contentBlockDelta(index: Int, delta: JSONValue)
    case contentBlockStop(index: Int)
    case messageDelta(stopReason: String?, stopSequence: String?, outputTokens: Int?)
    case messageStop
    case ping
    case error(type: String?)
    case unknown
}

extension AnthropicStreamEvent: Decodable {
    package init(from decoder: any Decoder) throws {
        let raw = try JSONValue(from: decoder)
        switch raw["type"]?.stringValue {
        case "message_start":
            let message = raw["message"]
            let usage = try message?["usage"].map { try JSONCodingBridge.convert($0, to: Anthropic.Usage.self) }
            self = .messageStart(
                id: message?["id"]?.stringValue ?? "",
                model: message?["model"]?.stringValue ?? "",
                usage: usage ?? Anthropic.Usage(inputTokens: 0, outputTokens: 0)
            )
        case "content_block_start":
            let block = try raw["content_block"].map { try JSONCodingBridge.convert($0, to: Anthropic.ContentBlock.self) }
            self = .contentBlockStart(index: raw["index"]?.intValue ?? 0, block: block ?? .other(.null))
        case "content_block_delta":
            self = .contentBlockDelta(index: raw["index"]?.intValue ?? 0, delta: raw["delta"] ?? .null)
        case "content_block_stop":
            self = .contentBlockStop(index: raw["index"]?.intValue ?? 0)
        case "message_delta":
            self = .messageDelta(
                stopReason: raw["delta"]?["stop_reason"]?.stringValue,
                stopSequence: raw["delta"]?["stop_sequence"]?.stringValue,
                outputTokens: raw["usage"]?["output_tokens"]?.intValue
            )
        case "message_stop": self = .messageStop
        case "ping": self = .ping
        case "error": self = .error(type: raw["error"]?["type"]?.stringValue)
        default: self = .unknown
        }
    }
}

/// Re-decodes a `JSONValue` as a typed value.
enum JSONCodingBridge {
    static func convert<T: Decodable>(_ value: JSONValue, to type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: JSONEncoder().encode(value))
    }
}

/// Turns Anthropic stream events into OpenAI-shaped chunks, as a value type with no I/O.
///
/// Text deltas become `content`; `tool_use` blocks become tool calls numbered in order of
/// appearance, their `input_json_delta` pieces become argument deltas unchanged; thinking
/// deltas become `reasoning_content`, and each finished thinking block is also emitted whole
/// (with its signature) as `thinking_blocks`, so a client can send it back byte for byte.
package struct AnthropicStreamTranslator: StreamTranslator {
    let provider: String
    private let decoder = JSONDecoder()
    private var id = ""
    private var model = ""
    private let created: Int
    private var inputUsage = Anthropic.Usage(inputTokens: 0, outputTokens: 0)
    private var outputTokens = 0
    private var finishReason: String?
    /// Anthropic block index → OpenAI tool-call index.
    private var toolIndex: [Int: Int] = [:]
    private var thinking: [Int: (text: String, signature: String)] = [:]
    package private(set) var finished = false
    package var isFinished: Bool { finished }

    package init(created: Int, provider: String = "anthropic") {
        self.created = created
        self.provider = provider
    }

    /// One SSE event (`data:` holds the event's JSON).
    package mutating func translate(_ event: SSEEvent) throws(UpstreamError) -> [ChatChunk] {
        let decoded: AnthropicStreamEvent
        do {
            decoded = try decoder.decode(AnthropicStreamEvent.self, from: Data(event.data.utf8))
        } catch {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "a stream event is not valid JSON")
        }
        return try translate(decoded, provider: provider)
    }

    package func bodyEnded() throws(UpstreamError) -> [ChatChunk] {
        guard finished else { throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended before message_stop") }
        return []
    }

    private func chunk(_ delta: ChatDelta, finish: String? = nil) -> ChatChunk {
        ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta, finishReason: finish)])
    }

    /// The chunks one event produces (often none).
    package mutating func translate(_ event: AnthropicStreamEvent, provider: String) throws(UpstreamError) -> [ChatChunk] {
        switch event {
        case .messageStart(let id, let model, let usage):
            self.id = id
            self.model = model
            inputUsage = usage
            outputTokens = usage.outputTokens
            return [chunk(ChatDelta(role: .assistant, content: ""))]
        case .contentBlockStart(let index, let block):
            switch block {
            case .toolUse(let id, let name, _):
                let position = toolIndex.count
                toolIndex[index] = position
                return [chunk(ChatDelta(toolCalls: [
                    ToolCallDelta(index: position, id: id, type: "function", function: .init(name: name, arguments: ""))
                ]))]
            case .thinking(let text, let signature):
                thinking[index] = (text, signature)
                return []
            case .redactedThinking(let data):
                // Anthropic needs redacted blocks back unchanged on the next turn.
                return [chunk(ChatDelta(extra: ["thinking_blocks": [["type": "redacted_thinking", "data": .string(data)]]]))]
            case .text(let text, _) where !text.isEmpty:
                return [chunk(ChatDelta(content: text))]
            default:
                return []
            }
        case .contentBlockDelta(let index, let delta):
            switch delta["type"]?.stringValue {
            case "text_delta":
                return [chunk(ChatDelta(content: delta["text"]?.stringValue ?? ""))]
            case "input_json_delta":
                guard let position = toolIndex[index] else { return [] }
                let piece = delta["partial_json"]?.stringValue ?? ""
                if piece.isEmpty { return [] }
                return [chunk(ChatDelta(toolCalls: [ToolCallDelta(index: position, function: .init(arguments: piece))]))]
            case "thinking_delta":
                let text = delta["thinking"]?.stringValue ?? ""
                thinking[index, default: ("", "")].text += text
                return [chunk(ChatDelta(extra: ["reasoning_content": .string(text)]))]
            case "signature_delta":
                thinking[index, default: ("", "")].signature += delta["signature"]?.stringValue ?? ""
                return []
            default:
                return []
            }
        case .contentBlockStop(let index):
            guard let block = thinking.removeValue(forKey: index) else { return [] }
            return [chunk(ChatDelta(extra: [
                "thinking_blocks": [["type": "thinking", "thinking": .string(block.text), "signature": .string(block.signature)]]
            ]))]
        case .messageDelta(let stopReason, _, let tokens):
            if let tokens { outputTokens = tokens }
            finishReason = AnthropicTranslation.finishReason(stopReason)
            return [chunk(ChatDelta(), finish: finishReason ?? "stop")]
        case .messageStop:
            finished = true
            var usage = inputUsage
            usage.outputTokens = outputTokens
            return [ChatChunk(id: id, created: created, model: model, choices: [], usage: AnthropicTranslation.usage(usage))]
        case .ping, .unknown:
            return []
        case .error(let type):
            throw UpstreamError(
                .streamInterrupted, provider: provider,
                detail: "the provider reported an error mid-stream", errorType: type
            )
        }
    }
}
