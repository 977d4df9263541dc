import Hummingbird
import NIOCore
import SwitchboardCore
import SwitchboardProviders

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/messages`: Anthropic's Messages API for any provider behind the gateway. Requests,
/// answers, stream events and errors are Anthropic-shaped.
struct AnthropicMessagesDoor: ChatFrontDoor {
    let defaultMaxTokens: Int

    func chatRequest(from wire: Anthropic.Request, request: Request) throws(GatewayError) -> ChatRequest {
        try Self.validate(wire)
        var chat = AnthropicInbound.coreRequest(from: wire)
        if chat.maxTokens == nil { chat.maxTokens = defaultMaxTokens }
        return chat
    }

    func model(of wire: Anthropic.Request) -> String { wire.model }

    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        try JSONBody.encode(AnthropicInbound.anthropicResponse(from: answer.response, usage: answer.usage, fallbackID: call.context.requestID))
    }

    func chunkEncoder(for stream: CallStream, call: ModelCall) -> AnthropicChunkEncoder {
        let messages = call.request.chat?.messages ?? []
        return AnthropicChunkEncoder(
            events: AnthropicEventEncoder(
                id: "msg_" + call.context.requestID, model: stream.servedBy.model, inputEstimate: TokenEstimator.estimatePrompt(messages)
            )
        )
    }

    static func validate(_ wire: Anthropic.Request) throws(GatewayError) {
        guard !wire.messages.isEmpty else {
            throw GatewayError.validation("`messages` must contain at least one message.", param: "messages")
        }
        for (index, message) in wire.messages.enumerated() where message.role != "user" && message.role != "assistant" {
            throw GatewayError.validation(
                "`messages[\(index)].role` must be `user` or `assistant`, not `\(message.role)`; put system text in `system`.",
                param: "messages[\(index)].role"
            )
        }
        if let maxTokens = wire.maxTokens, maxTokens < 1 {
            throw GatewayError.validation("`max_tokens` must be at least 1.", param: "max_tokens")
        }
        if let temperature = wire.temperature, !(0...2).contains(temperature) {
            throw GatewayError.validation("`temperature` must be between 0 and 2.", param: "temperature")
        }
        if wire.model.isEmpty {
            throw GatewayError.validation("`model` must not be empty.", param: "model")
        }
    }
}

/// Anthropic's SSE: `event: <name>` + `data: <json>` for each event the core chunks become.
struct AnthropicChunkEncoder: ChunkEncoder {
    var events: AnthropicEventEncoder

    mutating func append(_ chunk: ChatChunk, to buffer: inout ByteBuffer) throws {
        for event in events.encode(chunk) {
            try Self.write(name: event.name, data: event.data, to: &buffer)
        }
    }

    mutating func finish(into buffer: inout ByteBuffer) throws {
        for event in events.finish() {
            try Self.write(name: event.name, data: event.data, to: &buffer)
        }
    }

    func failure(_ error: GatewayError, requestID: String, into buffer: inout ByteBuffer) {
        if (try? Self.write(name: "error", data: AnthropicErrorRendering.body(error), to: &buffer)) == nil {
            buffer.writeString("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"stream failed\"}}\n\n")
        }
    }

    static func write<Body: Encodable>(name: String, data: Body, to buffer: inout ByteBuffer) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        buffer.writeString("event: \(name)\ndata: ")
        buffer.writeBytes(try encoder.encode(data))
        buffer.writeString("\n\n")
    }
}

/// `POST /v1/messages/count_tokens`, governed like any model call (the provider is called).
struct CountTokensEndpoint: Sendable {
    let pipeline: CallPipeline
    let bodyReader: RequestBodyReader

    struct TokenCount: Encodable {
        var input_tokens: Int
    }

    @Sendable func handle(request: Request, context: AuthenticatedContext) async throws -> Response {
        let (wire, data) = try await bodyReader.decodeKeepingBody(Anthropic.Request.self, from: request)
        let call = ModelCall(.countTokens(AnthropicInbound.coreRequest(from: wire)), context: context.callContext(body: data))
        if wire.model.isEmpty {
            let error = GatewayError.validation("`model` must not be empty.", param: "model")
            pipeline.refuse(call, error)
            throw error
        }
        let answer = try await pipeline.countTokens(call)
        var response = try JSONBody.response(TokenCount(input_tokens: answer.inputTokens))
        CallHeaders.served(&response.headers, servedBy: answer.servedBy, cost: nil, notes: answer.notes, elapsed: .now - context.start)
        if answer.estimated { response.headers[.switchboardTokenCount] = "estimated" }
        return response
    }
}

/// GatewayError in Anthropic's error shape.
enum AnthropicErrorRendering {
    static func type(of code: GatewayError.Code) -> String {
        switch code {
        case .validationError, .conflict: return "invalid_request_error"
        case .authenticationError: return "authentication_error"
        case .permissionDenied: return "permission_error"
        case .modelNotFound, .notFound: return "not_found_error"
        case .rateLimitExceeded, .budgetExceeded: return "rate_limit_error"
        case .upstreamError, .upstreamTimeout, .internalError: return "api_error"
        }
    }

    static func body(_ error: GatewayError) -> Anthropic.ErrorBody {
        Anthropic.ErrorBody(type: type(of: error.code), message: error.message)
    }
}
