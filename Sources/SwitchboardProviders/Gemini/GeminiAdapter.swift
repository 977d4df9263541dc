package import AsyncHTTPClient
import NIOCore
import NIOHTTP1
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Google Gemini through the AI Studio API (`type: gemini`): `generateContent`,
/// `streamGenerateContent?alt=sse`, `embedContent` / `batchEmbedContents`; key in `x-goog-api-key`.
package struct GeminiAdapter: ProviderAdapter, ModelListing {
    package let name: String
    package let type = ProviderType.gemini
    package let knownModels: [String]
    private let baseURL: String
    private let http: UpstreamHTTP
    private let headers: HTTPHeaders

    package static let defaultBaseURL = "https://generativelanguage.googleapis.com"

    package init(config: ProviderConfig, client: HTTPClient) {
        self.name = config.name
        self.knownModels = config.models
        self.baseURL = UpstreamEndpoint.base(config.baseURL, default: Self.defaultBaseURL, droppingSuffix: "/v1beta")
        self.http = UpstreamHTTP(client: client, provider: config.name)
        self.headers = UpstreamEndpoint.headers(credential: config.apiKey.map { (name: "x-goog-api-key", value: $0) }, extra: config.headers)
    }

    package func unsupportedParameters(in request: ChatRequest) -> [String] {
        GeminiTranslation.unsupportedParameters(in: request)
    }

    /// `GET {base}/v1beta/models`: the models that answer `generateContent` (or embed), with their token limits.
    package func listModels(call: UpstreamCall) async throws -> [DiscoveredModel] {
        let (_, buffer) = try await http.sendAndCollect(
            url: baseURL + "/v1beta/models?pageSize=1000", method: .GET, headers: headers, body: nil, call: call, errorDecoder: .google
        )
        struct Listing: Decodable {
            struct Entry: Decodable {
                var name: String
                var inputTokenLimit: Int?
                var outputTokenLimit: Int?
                var supportedGenerationMethods: [String]?
            }

            var models: [Entry]?
        }
        guard let listing = try? JSONDecoder().decode(Listing.self, from: Data(buffer.readableBytesView)) else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a model list")
        }
        return (listing.models ?? []).filter { entry in
            let methods = entry.supportedGenerationMethods ?? ["generateContent"]
            return methods.contains("generateContent") || methods.contains("embedContent")
        }.map { entry in
            DiscoveredModel(
                id: entry.name.hasPrefix("models/") ? String(entry.name.dropFirst("models/".count)) : entry.name,
                contextWindow: entry.inputTokenLimit, maxOutputTokens: entry.outputTokenLimit
            )
        }
    }

    private func url(_ model: String, _ method: String) -> String {
        let id = model.hasPrefix("models/") ? String(model.dropFirst("models/".count)) : model
        return "\(baseURL)/v1beta/models/\(PercentEncoding.pathSegment(id)):\(method)"
    }

    package func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
        let (_, buffer) = try await http.sendAndCollect(
            url: url(request.model, "generateContent"), headers: headers, body: try encode(request), call: call, errorDecoder: .google
        )
        guard let body = try? JSONDecoder().decode(Gemini.Response.self, from: Data(buffer.readableBytesView)) else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a generateContent response")
        }
        if let blocked = GeminiTranslation.blocked(body, provider: name) { throw blocked }
        guard body.candidates != nil else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a generateContent response")
        }
        return GeminiTranslation.response(body, model: request.model, created: Int(Date().timeIntervalSince1970))
    }

    package func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        var headers = headers
        headers.add(name: "accept", value: "text/event-stream")
        let response = try await http.send(
            url: url(request.model, "streamGenerateContent") + "?alt=sse", headers: headers, body: try encode(request), call: call,
            errorDecoder: .google
        )
        let body = response.body
        let translator = GeminiStreamTranslator(provider: name, model: request.model, created: Int(Date().timeIntervalSince1970))
        let provider = name
        return ChatStream {
            FramedChunkSource(body: body, provider: provider, decoder: SSEFrames(), translator: translator)
        }
    }

    package func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
        guard let texts = request.input.texts else {
            throw UpstreamError(.unsupported, provider: name, detail: "Gemini embeds text, not token arrays")
        }
        let model = request.model.hasPrefix("models/") ? request.model : "models/" + request.model
        let batch = Gemini.BatchEmbedRequest(requests: texts.map { text in
            .init(model: model, content: Gemini.Content(role: nil, parts: [Gemini.Part(text: text)]), outputDimensionality: request.dimensions)
        })
        let body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try JSONEncoder().encode(batch))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
        let (_, buffer) = try await http.sendAndCollect(
            url: url(request.model, "batchEmbedContents"), headers: headers, body: body, call: call, errorDecoder: .google
        )
        guard let answer = try? JSONDecoder().decode(Gemini.BatchEmbedResponse.self, from: Data(buffer.readableBytesView)) else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a batchEmbedContents response")
        }
        let items = answer.embeddings.enumerated().map { index, embedding in
            EmbeddingsResponse.Item(index: index, embedding: .floats(embedding.values))
        }
        let tokens = texts.reduce(0) { $0 + TokenEstimator.estimate($1) }
        return EmbeddingsResponse(data: items, model: request.model, usage: .init(promptTokens: tokens, totalTokens: tokens))
    }

    private func encode(_ request: ChatRequest) throws -> ByteBuffer {
        do {
            let body = try GeminiTranslation.request(from: request)
            return ByteBuffer(bytes: try JSONEncoder().encode(body))
        } catch let error as UpstreamError {
            throw UpstreamError(.unsupported, provider: name, detail: error.detail)
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
    }
}

extension ErrorBodyDecoder {
    /// `{"error":{"code":429,"message":...,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"...RetryInfo","retryDelay":"12s"}]}}`
    ///
    /// Gemini answers a bad API key with 400 `INVALID_ARGUMENT` and an `ErrorInfo` whose reason is
    /// `API_KEY_INVALID`: that is the gateway's credential failing, so it is reported as a 401.
    package static let google = ErrorBodyDecoder { buffer in
        guard let body = try? JSONDecoder().decode(Gemini.ErrorBody.self, from: Data(buffer.readableBytesView)), let error = body.error else {
            return Info()
        }
        var retryAfter: Int?
        var credentialsRejected = false
        for detail in error.details ?? [] {
            if let delay = detail.retryDelay, delay.hasSuffix("s"), let seconds = Double(delay.dropLast()) {
                retryAfter = Int(seconds.rounded(.up))
            }
            if let reason = detail.reason, ["API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"].contains(reason) {
                credentialsRejected = true
            }
        }
        // The message is read only to recognise a context-window error; it is never kept.
        let message = error.message?.lowercased() ?? ""
        let tooLong = message.contains("exceeds the maximum number of tokens") || message.contains("input token count")
        var info = Info(
            type: error.status, code: credentialsRejected ? "API_KEY_INVALID" : (tooLong ? "prompt_too_long" : nil), retryAfterSeconds: retryAfter
        )
        if credentialsRejected { info.status = 401 }
        return info
    }
}
