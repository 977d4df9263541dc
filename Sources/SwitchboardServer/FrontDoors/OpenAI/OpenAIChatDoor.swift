import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/chat/completions`: OpenAI's chat completions, the core's own shape.
struct OpenAIChatDoor: ChatFrontDoor {
    let catalog: ModelCatalog

    func chatRequest(from wire: ChatRequest, request: Request) throws(GatewayError) -> ChatRequest {
        var chat = wire
        let extensions = chat.gatewayExtensions
        let stored = extensions.conversationID != nil || extensions.message != nil
        if stored {
            // A stored conversation's turn: `message` (or `messages`) is what the turn adds.
            if let message = extensions.message {
                guard chat.messages.isEmpty else {
                    throw GatewayError.validation("Send `message` or `messages`, not both.", param: "message")
                }
                chat.messages = [message]
            }
            chat.gatewayExtensions.conversation = ConversationTurn(
                conversationID: extensions.conversationID, parentMessageID: extensions.parentMessageID, newMessages: chat.messages
            )
        } else if extensions.parentMessageID != nil {
            throw GatewayError.validation("`parent_message_id` needs the `conversation_id` it belongs to.", param: "parent_message_id")
        }
        try ChatValidation.validate(chat)
        // A conversation's own model stands in for a missing one (the conversation stage sets it).
        if chat.model.isEmpty, !(stored && extensions.conversationID != nil && request.headers[.switchboardCategory] == nil && extensions.category == nil) {
            chat.model = try modelForCategory(of: chat, request: request)
        }
        return chat
    }

    func model(of wire: ChatRequest) -> String { wire.model }

    /// An OpenAI-format provider's answer goes out as the bytes it came as; others are encoded.
    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        let verbatim = answer.response.upstreamBody
        var body = verbatim.isEmpty ? try JSONBody.encode(answer.response) : ByteBuffer(bytes: verbatim.bytes)
        if let note = answer.notes.conversation { body = ConversationFields.splice(note, into: body) }
        return body
    }

    func chunkEncoder(for stream: CallStream, call: ModelCall) -> OpenAIChunkEncoder {
        OpenAIChunkEncoder(includeUsage: stream.clientWantsUsage, conversation: stream.notes.conversation)
    }

    /// The model `routing.categories` names for the request's category, when the client named no model.
    func modelForCategory(of chat: ChatRequest, request: Request) throws(GatewayError) -> String {
        guard let category = request.headers[.switchboardCategory] ?? chat.gatewayExtensions.category else {
            throw GatewayError.validation("Missing required field `model`.", param: "model")
        }
        guard let model = catalog.model(forCategory: category) else {
            let known = catalog.categoryNames
            throw GatewayError.validation(
                "Unknown routing category `\(category)`"
                    + (known.isEmpty ? "; no categories are configured." : "; configured: \(known.joined(separator: ", ")).")
                    + " Name a `model` or a configured category.",
                param: "model"
            )
        }
        return model
    }
}

/// OpenAI's SSE: `data: {chunk}` per chunk, `data: [DONE]` at the end.
///
/// The usage-only chunk (the gateway always asks for one) is passed on only if the client asked
/// for it, and `usage` is stripped from other chunks then; an OpenAI-format provider's chunks go
/// out as its bytes unless something was stripped.
struct OpenAIChunkEncoder: ChunkEncoder {
    let includeUsage: Bool
    /// Added to the first chunk: where the answer goes in its stored conversation.
    private var conversation: ConversationNote?
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    init(includeUsage: Bool, conversation: ConversationNote? = nil) {
        self.includeUsage = includeUsage
        self.conversation = conversation
    }

    mutating func append(_ chunk: ChatChunk, to buffer: inout ByteBuffer) throws {
        var chunk = chunk
        if !includeUsage {
            if chunk.isUsageOnly { return }
            if chunk.usage != nil {
                chunk.usage = nil
                chunk.upstreamBody = .empty
            }
        }
        buffer.writeString("data: ")
        if let note = conversation {
            conversation = nil
            let bytes = chunk.upstreamBody.isEmpty ? ByteBuffer(bytes: try encoder.encode(chunk)) : ByteBuffer(bytes: chunk.upstreamBody.bytes)
            var spliced = ConversationFields.splice(note, into: bytes)
            buffer.writeBuffer(&spliced)
        } else if chunk.upstreamBody.isEmpty {
            buffer.writeBytes(try encoder.encode(chunk))
        } else {
            buffer.writeBytes(chunk.upstreamBody.bytes)
        }
        buffer.writeString("\n\n")
    }

    mutating func finish(into buffer: inout ByteBuffer) throws {
        buffer.writeString("data: [DONE]\n\n")
    }

    func failure(_ error: GatewayError, requestID: String, into buffer: inout ByteBuffer) {
        let data = (try? encoder.encode(OpenAIErrorBody(error, requestID: requestID)))
            ?? Data(#"{"error":{"message":"stream failed","type":"upstream_error","code":"UPSTREAM_ERROR"}}"#.utf8)
        buffer.writeString("event: error\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
    }
}

/// JSON response bodies, encoded once with sorted keys.
enum JSONBody {
    static func encode<T: Encodable>(_ value: T) throws(GatewayError) -> ByteBuffer {
        do {
            return ByteBuffer(bytes: try JSONCoding.encode(value))
        } catch {
            throw GatewayError(.internalError, "The response could not be encoded.")
        }
    }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws(GatewayError) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: try encode(value)))
    }
}

/// `conversation_id`, `message_id`, `parent_message_id` (and `context_dropped_messages` when
/// old turns were left out) written at the start of an answer's JSON object, its other bytes
/// untouched.
enum ConversationFields {
    static func splice(_ note: ConversationNote, into body: ByteBuffer) -> ByteBuffer {
        let bytes = body.readableBytesView
        guard let open = bytes.firstIndex(of: UInt8(ascii: "{")) else { return body }
        var fields = "\"conversation_id\":\(quoted(note.conversationID)),\"message_id\":\(quoted(note.messageID)),"
        fields += "\"parent_message_id\":\(note.parentMessageID.map(quoted) ?? "null")"
        if note.droppedMessages > 0 { fields += ",\"context_dropped_messages\":\(note.droppedMessages)" }
        let rest = bytes[bytes.index(after: open)...]
        let empty = rest.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "}")
        var out = ByteBuffer()
        out.reserveCapacity(bytes.count + fields.utf8.count + 2)
        out.writeBytes(bytes[..<bytes.index(after: open)])
        out.writeString(fields)
        if !empty { out.writeString(",") }
        out.writeBytes(rest)
        return out
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
