import Hummingbird
import NIOCore
import SwitchboardCore

/// The unified simple contract of the companion-platform seed: `POST /v1/chat`.
///
/// `{provider?, model, messages, temperature?, top_p?, max_tokens?}` →
/// `{text, provider, model, tokens_in, tokens_out, latency_ms}`; errors as
/// `{"error":{"code","message","provider"}}`, naming the provider the client asked for.
struct SimpleChatDoor: ChatFrontDoor {
    let catalog: ModelCatalog

    struct Wire: Decodable {
        var provider: String?
        var model: String
        var messages: [ChatMessage]
        var temperature: Double?
        var topP: Double?
        var maxTokens: Int?

        enum CodingKeys: String, CodingKey {
            case provider, model, messages, temperature
            case topP = "top_p"
            case maxTokens = "max_tokens"
        }
    }

    struct Answer: Encodable {
        var text: String
        var provider: String
        var model: String
        var tokensIn: Int
        var tokensOut: Int
        var latencyMs: Int

        enum CodingKeys: String, CodingKey {
            case text, provider, model
            case tokensIn = "tokens_in"
            case tokensOut = "tokens_out"
            case latencyMs = "latency_ms"
        }
    }

    func chatRequest(from wire: Wire, request: Request) throws(GatewayError) -> ChatRequest {
        let chat = ChatRequest(
            model: resolveModel(wire), messages: wire.messages, temperature: wire.temperature, topP: wire.topP, maxTokens: wire.maxTokens
        )
        try ChatValidation.validate(chat)
        if wire.model.isEmpty {
            throw GatewayError.validation("`model` must not be empty.", param: "model")
        }
        return chat
    }

    func model(of wire: Wire) -> String { resolveModel(wire) }

    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        try JSONBody.encode(Answer(
            text: answer.response.choices.first?.message.content?.text ?? "",
            provider: answer.servedBy.provider,
            model: answer.servedBy.model,
            tokensIn: answer.usage.promptTokens,
            tokensOut: answer.usage.completionTokens,
            latencyMs: Int((ContinuousClock.now - call.context.started).milliseconds.rounded())
        ))
    }

    /// The simple contract has no streaming; a stream is never asked for.
    func chunkEncoder(for stream: CallStream, call: ModelCall) -> OpenAIChunkEncoder {
        OpenAIChunkEncoder(includeUsage: stream.clientWantsUsage)
    }

    func adjust(_ error: GatewayError, wire: Wire?) -> GatewayError {
        var error = error
        if error.provider == nil { error.provider = wire?.provider }
        return error
    }

    /// `provider` + `model` address that provider directly; the seed's `google` means Gemini.
    private func resolveModel(_ wire: Wire) -> String {
        guard let provider = wire.provider, !provider.isEmpty else { return wire.model }
        if catalog.provider(named: provider) != nil { return "\(provider)/\(wire.model)" }
        if provider == "google", catalog.provider(named: "gemini") != nil { return "gemini/\(wire.model)" }
        return "\(provider)/\(wire.model)"
    }
}
