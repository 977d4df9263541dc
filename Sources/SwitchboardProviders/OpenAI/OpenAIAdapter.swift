package import AsyncHTTPClient
import NIOCore
import NIOHTTP1
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI's Chat Completions and Embeddings APIs, and every server that speaks them
/// (Groq, Mistral, OpenRouter, Ollama, vLLM, llama.cpp) by `base_url`.
///
/// The core vocabulary is OpenAI-shaped, so this adapter mostly passes requests through:
/// unknown fields ride along in `extra` both ways.
package struct OpenAIAdapter: ProviderAdapter, ModelListing {
    package let name: String
    package let type: ProviderType
    package let knownModels: [String]
    private let baseURL: String
    private let http: UpstreamHTTP
    private let headers: HTTPHeaders
    /// Azure OpenAI's `api-version`, when this is an Azure deployment.
    private let azureAPIVersion: String?
    /// `responses: native`: Responses-API calls go to the upstream's own `/responses`.
    package let servesResponses: Bool

    package static let defaultBaseURL = "https://api.openai.com/v1"

    package init(config: ProviderConfig, client: HTTPClient) {
        self.name = config.name
        self.type = config.type
        self.knownModels = config.models
        self.baseURL = UpstreamEndpoint.base(config.baseURL, default: Self.defaultBaseURL)
        self.http = UpstreamHTTP(client: client, provider: config.name)
        let azure = config.type == .azure
        self.azureAPIVersion = azure ? (config.settings["api_version"] ?? AzureProvider.defaultAPIVersion) : nil
        self.servesResponses = ResponsesMode.isNative(config)
        // Azure takes its key in `api-key`; an Entra ID token goes in `Authorization` via `headers`.
        let credential = config.apiKey.map { azure ? (name: "api-key", value: $0) : (name: "authorization", value: "Bearer \($0)") }
        self.headers = UpstreamEndpoint.headers(credential: credential, extra: config.headers)
    }

    package func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
        if servesResponses, let native = request.gatewayExtensions.nativeResponses {
            let body = try OpenAIResponses.body(for: request, native: native, provider: name)
            let (_, buffer) = try await http.sendAndCollect(
                url: responsesURL, headers: headers(requestID: call.requestID), body: ByteBuffer(bytes: body), call: call
            )
            return try OpenAIResponses.answer(Array(buffer.readableBytesView), provider: name)
        }
        let body = try encode(request)
        let (_, buffer) = try await http.sendAndCollect(
            url: url("chat/completions", model: request.model),
            headers: headers(requestID: call.requestID),
            body: body,
            call: call
        )
        do {
            var response = try JSONDecoder().decode(ChatResponse.self, from: Data(buffer.readableBytesView))
            response.upstreamBody = VerbatimBody(Array(buffer.readableBytesView))
            return response
        } catch {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a chat completion")
        }
    }

    package func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        var headers = headers(requestID: call.requestID)
        headers.add(name: "accept", value: "text/event-stream")
        let provider = name
        if servesResponses, let native = request.gatewayExtensions.nativeResponses {
            let body = try OpenAIResponses.body(for: request, native: native, provider: name)
            let response = try await http.send(url: responsesURL, headers: headers, body: ByteBuffer(bytes: body), call: call)
            let responseBody = response.body
            return ChatStream {
                FramedChunkSource(body: responseBody, provider: provider, decoder: SSEFrames(), translator: OpenAIResponsesStreamTranslator(provider: provider))
            }
        }
        let body = try encode(request)
        let response = try await http.send(url: url("chat/completions", model: request.model), headers: headers, body: body, call: call)
        let responseBody = response.body
        return ChatStream {
            FramedChunkSource(body: responseBody, provider: provider, decoder: SSEFrames(), translator: OpenAIStreamTranslator(provider: provider))
        }
    }

    package func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
        let body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try JSONCoding.encode(request))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
        let (_, buffer) = try await http.sendAndCollect(
            url: url("embeddings", model: request.model),
            headers: headers(requestID: call.requestID),
            body: body,
            call: call
        )
        do {
            return try JSONDecoder().decode(EmbeddingsResponse.self, from: Data(buffer.readableBytesView))
        } catch {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not an embeddings list")
        }
    }

    /// `GET {base}/models`, or for Azure the resource's deployments (the ids requests address).
    package func listModels(call: UpstreamCall) async throws -> [DiscoveredModel] {
        let url = azureAPIVersion == nil ? baseURL + "/models" : "\(baseURL)/openai/deployments?api-version=2022-12-01"
        let (_, buffer) = try await http.sendAndCollect(url: url, method: .GET, headers: headers(requestID: call.requestID), body: nil, call: call)
        struct Listing: Decodable {
            struct Entry: Decodable {
                struct Pricing: Decodable {
                    var prompt: String?
                    var completion: String?
                }

                struct TopProvider: Decodable {
                    var maxCompletionTokens: Int?

                    enum CodingKeys: String, CodingKey { case maxCompletionTokens = "max_completion_tokens" }
                }

                var id: String
                var contextLength: Int?
                var pricing: Pricing?
                var topProvider: TopProvider?

                enum CodingKeys: String, CodingKey {
                    case id, pricing
                    case contextLength = "context_length"
                    case topProvider = "top_provider"
                }
            }

            var data: [Entry]
        }
        guard let listing = try? JSONDecoder().decode(Listing.self, from: Data(buffer.readableBytesView)) else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a model list")
        }
        // OpenRouter prices per token, as decimal strings.
        func perMillion(_ text: String?) -> Double? { text.flatMap(Double.init).map { ($0 * 1_000_000 * 1_000_000).rounded() / 1_000_000 } }
        return listing.data.map { entry in
            DiscoveredModel(
                id: entry.id, contextWindow: entry.contextLength, maxOutputTokens: entry.topProvider?.maxCompletionTokens,
                inputPerMillionTokens: perMillion(entry.pricing?.prompt), outputPerMillionTokens: perMillion(entry.pricing?.completion)
            )
        }
    }

    /// `{base}/chat/completions`, or for Azure `{base}/openai/deployments/{deployment}/chat/completions?api-version=...`.
    private func url(_ operation: String, model: String) -> String {
        guard let version = azureAPIVersion else { return baseURL + "/" + operation }
        let deployment = PercentEncoding.pathSegment(model)
        return "\(baseURL)/openai/deployments/\(deployment)/\(operation)?api-version=\(version)"
    }

    /// `{base}/responses`; for Azure its v1 API, `{base}/openai/v1/responses` (the model names the deployment).
    private var responsesURL: String {
        azureAPIVersion == nil ? baseURL + "/responses" : baseURL + "/openai/v1/responses"
    }

    private func headers(requestID: String) -> HTTPHeaders {
        var headers = self.headers
        headers.add(name: "x-request-id", value: requestID)
        return headers
    }

    /// Message fields other providers' answers carry (`thinking_blocks` from Anthropic) that
    /// OpenAI-type APIs reject as unknown; they stay at the gateway.
    static let foreignMessageFields = ["thinking_blocks", NativeResponses.outputField]

    private func encode(_ request: ChatRequest) throws -> ByteBuffer {
        var request = request
        for index in request.messages.indices {
            for field in Self.foreignMessageFields { request.messages[index].extra[field] = nil }
        }
        do {
            return ByteBuffer(bytes: try JSONCoding.encode(request))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
    }
}


