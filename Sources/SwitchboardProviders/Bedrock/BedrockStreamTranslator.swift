import NIOCore
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

/// Converse stream messages into core chunks for the shared chunk source: the translator above,
/// with its failures named for the provider; the stream ends properly only after `messageStop`.
struct BedrockEventTranslator: StreamTranslator {
    var base: BedrockStreamTranslator
    let provider: String

    /// Bedrock sends its usage (`metadata`) after `messageStop`: the body is read to its end.
    var isFinished: Bool { false }

    mutating func translate(_ message: EventStreamMessage) throws(UpstreamError) -> [ChatChunk] {
        do {
            return try base.translate(message).map { [$0] } ?? []
        } catch {
            throw UpstreamError(error.kind, provider: provider, detail: error.detail, errorType: error.errorType)
        }
    }

    func bodyEnded() throws(UpstreamError) -> [ChatChunk] {
        guard base.sawMessageStop else {
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended before messageStop")
        }
        return []
    }
}

/// AWS event-stream frames, checksums verified.
struct BedrockFrames: FrameDecoder {
    var decoder = EventStreamDecoder()
    let provider: String

    mutating func feed(_ bytes: ByteBufferView) throws(UpstreamError) -> [EventStreamMessage] {
        do {
            return try decoder.feed(bytes)
        } catch {
            throw corrupt(error)
        }
    }

    var pendingFailure: UpstreamError? { decoder.failure.map(corrupt) }

    mutating func finish() throws(UpstreamError) -> [EventStreamMessage] {
        do {
            try decoder.finish()
            return []
        } catch {
            throw corrupt(error)
        }
    }

    private func corrupt(_ error: EventStreamError) -> UpstreamError {
        if error.kind == .truncated {
            return UpstreamError(.streamInterrupted, provider: provider, detail: "the event stream ended inside a message")
        }
        return UpstreamError(.invalidResponse, provider: provider, detail: "the event stream is corrupt (\(error.detail))")
    }
}
