package import Logging

/// What an adapter needs to know about the call it is making.
package struct UpstreamCall: Sendable {
    package var requestID: String
    /// The whole upstream exchange must finish within this, stream included.
    package var timeout: Duration
    package var logger: Logger

    package init(requestID: String, timeout: Duration, logger: Logger) {
        self.requestID = requestID
        self.timeout = timeout
        self.logger = logger
    }
}

/// Translates the core vocabulary to one provider's wire format and back.
///
/// The gateway sets `request.model` to the provider's own model id before calling. Adapters
/// throw ``UpstreamError`` for anything the provider did (or failed to do); the gateway decides
/// what the client sees.
package protocol ProviderAdapter: Sendable {
    /// The provider's configured name (`openai`, `groq`, `claude-eu`, ...).
    var name: String { get }
    var type: ProviderType { get }
    /// Model ids listed for this provider in `/v1/models`.
    var knownModels: [String] { get }

    func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse
    /// Opens a stream; returns once the provider has accepted the request (status and headers received).
    func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream
    func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse

    /// Request fields this provider cannot honour (OpenAI names), so the gateway can refuse
    /// them with a clear 400 — or drop them when the provider is configured to.
    func unsupportedParameters(in request: ChatRequest) -> [String]

    /// The upstream serves OpenAI's Responses API itself (`responses: native`): a call carrying
    /// ``GatewayExtensions/nativeResponses`` goes there as the client sent it.
    var servesResponses: Bool { get }
}

extension ProviderAdapter {
    package func unsupportedParameters(in request: ChatRequest) -> [String] { [] }
    package var servesResponses: Bool { false }
}

/// A provider that can count a prompt's tokens itself (Anthropic's `count_tokens`); the gateway
/// estimates for the others.
package protocol TokenCounting: ProviderAdapter {
    /// - Parameter request: with the provider's own model id.
    func countTokens(_ request: ChatRequest, call: UpstreamCall) async throws -> Int
}

/// A model a provider's own model list names, with what the list says about it.
package struct DiscoveredModel: Sendable, Hashable {
    package var id: String
    package var contextWindow: Int?
    package var maxOutputTokens: Int?
    /// USD per million tokens, when the list prices its models (OpenRouter).
    package var inputPerMillionTokens: Double?
    package var outputPerMillionTokens: Double?

    package init(
        id: String, contextWindow: Int? = nil, maxOutputTokens: Int? = nil, inputPerMillionTokens: Double? = nil, outputPerMillionTokens: Double? = nil
    ) {
        self.id = id
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.inputPerMillionTokens = inputPerMillionTokens
        self.outputPerMillionTokens = outputPerMillionTokens
    }
}

/// A provider that can list its models (`POST /v1/models/refresh`): OpenAI and compatible
/// servers (OpenRouter with prices and context lengths, Ollama, vLLM), Azure deployments,
/// Anthropic, Gemini.
package protocol ModelListing: ProviderAdapter {
    func listModels(call: UpstreamCall) async throws -> [DiscoveredModel]
}
