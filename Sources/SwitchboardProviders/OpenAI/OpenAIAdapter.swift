public import AsyncHTTPClient
import NIOCore
import NIOHTTP1
public import SwitchboardCore

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
public struct OpenAIAdapter: ProviderAdapter {
    public let name: String
    public let type: ProviderType
    public let knownModels: [String]
    private let baseURL: String
    private let http: UpstreamHTTP
    private let headers: HTTPHeaders
    /// Azure OpenAI's `api-version`, when this is an Azure deployment.
    private let azureAPIVersion: String?

    public static let defaultBaseURL = "https://api.openai.com/v1"

    public init(config: ProviderConfig, client: HTTPClient) {
        self.name = config.name
        self.type = config.type
        self.knownModels = config.models
        var base = config.baseURL ?? Self.defaultBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.http = UpstreamHTTP(client: client, provider: config.name)
        self.azureAPIVersion = config.type == .azure ? (config.settings["api_version"] ?? AzureProvider.defaultAPIVersion) : nil
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        if let key = config.apiKey, !key.isEmpty {
            if config.type == .azure {
                // Azure takes its key in `api-key`; an Entra ID token goes in `Authorization` via `headers`.
                headers.add(name: "api-key", value: key)
            } else {
                headers.add(name: "authorization", value: "Bearer \(key)")
            }
        }
        for (name, value) in config.headers.sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        self.headers = headers
    }

    public func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
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

    public func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        let body = try encode(request)
        var headers = headers(requestID: call.requestID)
        headers.add(name: "accept", value: "text/event-stream")
        let response = try await http.send(url: url("chat/completions", model: request.model), headers: headers, body: body, call: call)
        let provider = name
        let responseBody = response.body
        return ChatStream {
            OpenAIChunkSource(iterator: responseBody.makeAsyncIterator(), provider: provider)
        }
    }

    public func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
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

    /// `{base}/chat/completions`, or for Azure `{base}/openai/deployments/{deployment}/chat/completions?api-version=...`.
    private func url(_ operation: String, model: String) -> String {
        guard let version = azureAPIVersion else { return baseURL + "/" + operation }
        let deployment = model.addingPercentEncodingForPathSegment()
        return "\(baseURL)/openai/deployments/\(deployment)/\(operation)?api-version=\(version)"
    }

    private func headers(requestID: String) -> HTTPHeaders {
        var headers = self.headers
        headers.add(name: "x-request-id", value: requestID)
        return headers
    }

    /// Message fields other providers' answers carry (`thinking_blocks` from Anthropic) that
    /// OpenAI-type APIs reject as unknown; they stay at the gateway.
    static let foreignMessageFields = ["thinking_blocks"]

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

/// Reads OpenAI-style SSE (`data: {chunk}` ... `data: [DONE]`) into core chunks.
struct OpenAIChunkSource: ChatChunkSource {
    var iterator: HTTPClientResponse.Body.AsyncIterator
    let provider: String
    private var parser = SSEParser()
    private var pending: [SSEEvent] = []
    private var pendingIndex = 0
    private var finished = false
    private var sawFinishReason = false
    private var atEnd = false
    private let decoder = JSONDecoder()

    init(iterator: HTTPClientResponse.Body.AsyncIterator, provider: String) {
        self.iterator = iterator
        self.provider = provider
    }

    mutating func nextIfReady() throws -> ReadyChunk {
        while pendingIndex < pending.count {
            let event = pending[pendingIndex]
            pendingIndex += 1
            if let chunk = try handle(event) { return .chunk(chunk) }
            if finished { return .end }
        }
        if finished { return .end }
        guard !atEnd else {
            if sawFinishReason { return .end }
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended before [DONE]")
        }
        return .mustWait
    }

    mutating func next() async throws -> ChatChunk? {
        while true {
            switch try nextIfReady() {
            case .chunk(let chunk): return chunk
            case .end: return nil
            case .mustWait: break
            }
            let buffer: ByteBuffer?
            do {
                buffer = try await iterator.next()
            } catch {
                throw UpstreamHTTP.classify(error, provider: provider)
            }
            guard let buffer else {
                atEnd = true
                pending = parser.finish().map { [$0] } ?? []
                pendingIndex = 0
                continue
            }
            pending = parser.feed(buffer.readableBytesView)
            pendingIndex = 0
        }
    }

    private mutating func handle(_ event: SSEEvent) throws -> ChatChunk? {
        if event.data == "[DONE]" {
            finished = true
            return nil
        }
        var chunk: ChatChunk
        do {
            chunk = try decoder.decode(ChatChunk.self, from: Data(event.data.utf8))
            // Data spread over several `data:` lines can't be re-sent as one line verbatim.
            if !event.data.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
                chunk.upstreamBody = VerbatimBody(Array(event.data.utf8))
            }
        } catch {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "a stream event is not a chat completion chunk")
        }
        if event.event == "error" || chunk.extra["error"] != nil {
            let detail = chunk.extra["error"]
            throw UpstreamError(
                .streamInterrupted,
                provider: provider,
                detail: "the provider reported an error mid-stream",
                errorType: detail?["type"]?.stringValue,
                errorCode: detail?["code"]?.stringValue
            )
        }
        if chunk.choices.contains(where: { $0.finishReason != nil }) { sawFinishReason = true }
        return chunk
    }
}

extension String {
    /// Percent-encodes everything but RFC 3986 unreserved characters, for one path segment.
    func addingPercentEncodingForPathSegment() -> String {
        SigV4Signer.uriEncode(self)
    }
}
