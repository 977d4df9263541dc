import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns decoded ConverseStream messages into core chunks; a value with no I/O.
///
/// Converse numbers content blocks across text and tool use, while OpenAI numbers tool calls
/// alone, so tool blocks are renumbered as they start.
struct BedrockStreamTranslator: Sendable {
    /// A stream failure, before it is given the provider's name.
    struct Failure: Error, Sendable, Hashable {
        var kind: UpstreamError.Kind
        var detail: String
        var errorType: String?
    }

    let id: String
    let model: String
    let created: Int
    private(set) var sawMessageStop = false
    private var toolIndexByBlock: [Int: Int] = [:]

    init(id: String, model: String, created: Int) {
        self.id = id
        self.model = model
        self.created = created
    }

    mutating func translate(_ message: EventStreamMessage) throws(Failure) -> ChatChunk? {
        switch message.messageType {
        case "event":
            break
        case "exception":
            let type = message.exceptionType.flatMap(UpstreamError.known)
            throw Failure(
                kind: .streamInterrupted,
                detail: "the provider reported \(type.map { "a `\($0)`" } ?? "an exception") mid-stream",
                errorType: type
            )
        case "error":
            throw Failure(
                kind: .streamInterrupted,
                detail: "the provider reported an error mid-stream",
                errorType: message.headers[":error-code"]?.stringValue
            )
        default:
            throw Failure(kind: .invalidResponse, detail: "a stream message has no known :message-type")
        }
        switch message.eventType {
        case "messageStart":
            _ = try decode(Bedrock.MessageStartEvent.self, message)
            return chunk(ChatDelta(role: .assistant, content: ""))
        case "contentBlockStart":
            let event = try decode(Bedrock.ContentBlockStartEvent.self, message)
            guard let use = event.start?.toolUse else { return nil }
            let index = toolIndexByBlock.count
            toolIndexByBlock[event.contentBlockIndex] = index
            return chunk(ChatDelta(toolCalls: [
                ToolCallDelta(index: index, id: use.toolUseId, type: "function", function: .init(name: use.name, arguments: ""))
            ]))
        case "contentBlockDelta":
            let event = try decode(Bedrock.ContentBlockDeltaEvent.self, message)
            if let text = event.delta.text {
                return chunk(ChatDelta(content: text))
            }
            if let input = event.delta.toolUse?.input {
                guard let index = toolIndexByBlock[event.contentBlockIndex] else {
                    throw Failure(kind: .invalidResponse, detail: "tool input arrived for a block that never started")
                }
                return chunk(ChatDelta(toolCalls: [ToolCallDelta(index: index, function: .init(arguments: input))]))
            }
            // Reasoning and other deltas have no place in the core chunk yet.
            return nil
        case "contentBlockStop":
            return nil
        case "messageStop":
            let event = try decode(Bedrock.MessageStopEvent.self, message)
            sawMessageStop = true
            return ChatChunk(
                id: id,
                created: created,
                model: model,
                choices: [.init(index: 0, delta: ChatDelta(), finishReason: BedrockTranslation.finishReason(event.stopReason) ?? "stop")]
            )
        case "metadata":
            let event = try decode(Bedrock.MetadataEvent.self, message)
            guard let usage = event.usage else { return nil }
            return ChatChunk(id: id, created: created, model: model, choices: [], usage: BedrockTranslation.usage(usage))
        default:
            // New event types are skipped rather than failing the stream.
            return nil
        }
    }

    /// Keeps a header value only when it is a short name such as `throttlingException`.
    /// Converse stream event names; anything else the provider sent is not repeated.
    static let eventNames: Set<String> = [
        "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
    ]

    static func eventName(_ value: String) -> String? {
        eventNames.contains(value) ? value : nil
    }

    private func chunk(_ delta: ChatDelta) -> ChatChunk {
        ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta)])
    }

    private func decode<T: Decodable>(_ type: T.Type, _ message: EventStreamMessage) throws(Failure) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(message.payload))
        } catch {
            throw Failure(
                kind: .invalidResponse, detail: "a `\(message.eventType.flatMap(Self.eventName) ?? "?")` event is not in the Converse format"
            )
        }
    }
}
