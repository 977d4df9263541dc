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
        try ChatValidation.validate(chat)
        if chat.model.isEmpty {
            chat.model = try modelForCategory(of: chat, request: request)
        }
        return chat
    }

    func model(of wire: ChatRequest) -> String { wire.model }

    /// An OpenAI-format provider's answer goes out as the bytes it came as; others are encoded.
    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        let verbatim = answer.response.upstreamBody
        if !verbatim.isEmpty { return ByteBuffer(bytes: verbatim.bytes) }
        return try JSONBody.encode(answer.response)
    }

    func chunkEncoder(for stream: CallStream, call: ModelCall) -> OpenAIChunkEncoder {
        OpenAIChunkEncoder(includeUsage: stream.clientWantsUsage)
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
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    init(includeUsage: Bool) {
        self.includeUsage = includeUsage
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
        if chunk.upstreamBody.isEmpty {
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
