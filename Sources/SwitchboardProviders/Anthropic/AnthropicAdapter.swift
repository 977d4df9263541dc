package import AsyncHTTPClient
import NIOCore
import NIOHTTP1
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Anthropic's Messages API (`type: anthropic`): `POST {base_url}/v1/messages`, key in `x-api-key`.
package struct AnthropicAdapter: ProviderAdapter, TokenCounting, ModelListing {
    package let name: String
    package let type = ProviderType.anthropic
    package let knownModels: [String]
    private let baseURL: String
    private let http: UpstreamHTTP
    private let headers: HTTPHeaders
    private let defaultMaxTokens: Int

    package static let defaultBaseURL = "https://api.anthropic.com"

    package init(config: ProviderConfig, client: HTTPClient, defaultMaxTokens: Int) {
        self.name = config.name
        self.knownModels = config.models
        self.baseURL = UpstreamEndpoint.base(config.baseURL, default: Self.defaultBaseURL, droppingSuffix: "/v1")
        self.http = UpstreamHTTP(client: client, provider: config.name)
        self.defaultMaxTokens = defaultMaxTokens
        self.headers = UpstreamEndpoint.headers(
            credential: config.apiKey.map { (name: "x-api-key", value: $0) }, fixed: [("anthropic-version", Anthropic.version)], extra: config.headers
        )
    }

    package func unsupportedParameters(in request: ChatRequest) -> [String] {
        AnthropicTranslation.unsupportedParameters(in: request)
    }

    /// `GET {base}/v1/models` (one page of up to 1000).
    package func listModels(call: UpstreamCall) async throws -> [DiscoveredModel] {
        let (_, buffer) = try await http.sendAndCollect(
            url: baseURL + "/v1/models?limit=1000", method: .GET, headers: headers, body: nil, call: call, errorDecoder: .anthropic
        )
        struct Listing: Decodable {
            struct Entry: Decodable { var id: String }
            var data: [Entry]
        }
        guard let listing = try? JSONDecoder().decode(Listing.self, from: Data(buffer.readableBytesView)) else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a model list")
        }
        return listing.data.map { DiscoveredModel(id: $0.id) }
    }

    package func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
        var wire = try translate(request)
        wire.stream = nil
        let (_, buffer) = try await http.sendAndCollect(
            url: baseURL + "/v1/messages", headers: headers, body: try encode(wire), call: call, errorDecoder: .anthropic
        )
        let decoded: Anthropic.Response
        do {
            decoded = try JSONDecoder().decode(Anthropic.Response.self, from: Data(buffer.readableBytesView))
        } catch {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not an Anthropic message")
        }
        return AnthropicTranslation.response(decoded, created: Int(Date().timeIntervalSince1970))
    }

    package func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        var wire = try translate(request)
        wire.stream = true
        var headers = headers
        headers.add(name: "accept", value: "text/event-stream")
        let response = try await http.send(
            url: baseURL + "/v1/messages", headers: headers, body: try encode(wire), call: call, errorDecoder: .anthropic
        )
        let body = response.body
        let provider = name
        let created = Int(Date().timeIntervalSince1970)
        return ChatStream {
            FramedChunkSource(
                body: body, provider: provider, decoder: SSEFrames(), translator: AnthropicStreamTranslator(created: created, provider: provider)
            )
        }
    }

    package func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
        throw UpstreamError(.unsupported, provider: name, detail: "Anthropic has no embeddings API")
    }

    /// Asks Anthropic to count the prompt's tokens (`/v1/messages/count_tokens`).
    package func countTokens(_ request: ChatRequest, call: UpstreamCall) async throws -> Int {
        var wire = try translate(request)
        wire.maxTokens = nil
        wire.stream = nil
        let (_, buffer) = try await http.sendAndCollect(
            url: baseURL + "/v1/messages/count_tokens", headers: headers, body: try encode(wire), call: call, errorDecoder: .anthropic
        )
        struct Count: Decodable { var input_tokens: Int }
        guard let count = try? JSONDecoder().decode(Count.self, from: Data(buffer.readableBytesView)) else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a token count")
        }
        return count.input_tokens
    }

    private func translate(_ request: ChatRequest) throws -> Anthropic.Request {
        do {
            return try AnthropicTranslation.request(from: request, defaultMaxTokens: defaultMaxTokens)
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: error.detail)
        }
    }

    private func encode(_ request: Anthropic.Request) throws -> ByteBuffer {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            return ByteBuffer(bytes: try encoder.encode(request))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
    }
}

extension ErrorBodyDecoder {
    /// `{"type":"error","error":{"type":"overloaded_error","message":...}}`
    package static let anthropic = ErrorBodyDecoder { buffer in
        struct Envelope: Decodable {
            struct Detail: Decodable {
                var type: String?
                var message: String?
            }
            var error: Detail?
        }
        let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(buffer.readableBytesView))
        // The message is read only to recognise a context-window error; it is never kept.
        let tooLong = envelope?.error?.message?.lowercased().contains("prompt is too long") == true
        return Info(type: envelope?.error?.type, code: tooLong ? "prompt_too_long" : nil)
    }
}
