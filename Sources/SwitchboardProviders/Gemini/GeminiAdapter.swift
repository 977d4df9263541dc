public import AsyncHTTPClient
import NIOCore
import NIOHTTP1
public import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Google Gemini through the AI Studio API (`type: gemini`): `generateContent`,
/// `streamGenerateContent?alt=sse`, `embedContent` / `batchEmbedContents`; key in `x-goog-api-key`.
public struct GeminiAdapter: ProviderAdapter {
    public let name: String
    public let type = ProviderType.gemini
    public let knownModels: [String]
    private let baseURL: String
    private let http: UpstreamHTTP
    private let headers: HTTPHeaders

    public static let defaultBaseURL = "https://generativelanguage.googleapis.com"

    public init(config: ProviderConfig, client: HTTPClient) {
        self.name = config.name
        self.knownModels = config.models
        var base = config.baseURL ?? Self.defaultBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1beta") { base.removeLast("/v1beta".count) }
        self.baseURL = base
        self.http = UpstreamHTTP(client: client, provider: config.name)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        if let key = config.apiKey { headers.add(name: "x-goog-api-key", value: key) }
        for (name, value) in config.headers.sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        self.headers = headers
    }

    public func unsupportedParameters(in request: ChatRequest) -> [String] {
        GeminiTranslation.unsupportedParameters(in: request)
    }

    private func url(_ model: String, _ method: String) -> String {
        let id = model.hasPrefix("models/") ? String(model.dropFirst("models/".count)) : model
        return "\(baseURL)/v1beta/models/\(id.addingPercentEncodingForPathSegment()):\(method)"
    }

    public func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
        let (_, buffer) = try await http.sendAndCollect(
            url: url(request.model, "generateContent"), headers: headers, body: try encode(request), call: call, errorDecoder: .google
        )
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)), body.objectValue != nil else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a generateContent response")
        }
        if body["candidates"] == nil, let reason = body["promptFeedback"]?["blockReason"]?.stringValue {
            // A prompt Gemini refuses is the request's problem, not the target's.
            throw UpstreamError(.status(400), provider: name, detail: "the prompt was blocked", errorType: "PROMPT_BLOCKED", errorCode: reason)
        }
        guard body["candidates"] != nil else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a generateContent response")
        }
        return GeminiTranslation.response(body, model: request.model, created: Int(Date().timeIntervalSince1970))
    }

    public func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        var headers = headers
        headers.add(name: "accept", value: "text/event-stream")
        let response = try await http.send(
            url: url(request.model, "streamGenerateContent") + "?alt=sse", headers: headers, body: try encode(request), call: call,
            errorDecoder: .google
        )
        let body = response.body
        let provider = name
        let model = request.model
        let created = Int(Date().timeIntervalSince1970)
        return ChatStream {
            GeminiChunkSource(iterator: body.makeAsyncIterator(), provider: provider, model: model, created: created)
        }
    }

    public func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
        guard let texts = request.input.texts else {
            throw UpstreamError(.unsupported, provider: name, detail: "Gemini embeds text, not token arrays")
        }
        let model = request.model.hasPrefix("models/") ? request.model : "models/" + request.model
        var requests: [JSONValue] = []
        for text in texts {
            var item: [String: JSONValue] = ["model": .string(model), "content": ["parts": [["text": .string(text)]]]]
            if let dimensions = request.dimensions { item["outputDimensionality"] = .integer(Int64(dimensions)) }
            requests.append(.object(item))
        }
        let body: ByteBuffer
        do {
            body = ByteBuffer(bytes: try JSONEncoder().encode(JSONValue.object(["requests": .array(requests)])))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
        let (_, buffer) = try await http.sendAndCollect(
            url: url(request.model, "batchEmbedContents"), headers: headers, body: body, call: call, errorDecoder: .google
        )
        guard let answer = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)),
            let embeddings = answer["embeddings"]?.arrayValue
        else {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not a batchEmbedContents response")
        }
        let items = embeddings.enumerated().map { index, embedding in
            EmbeddingsResponse.Item(index: index, embedding: .floats(embedding["values"]?.arrayValue?.compactMap(\.doubleValue) ?? []))
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
    public static let google = ErrorBodyDecoder { buffer in
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) else { return Info() }
        var retryAfter: Int?
        for detail in body["error"]?["details"]?.arrayValue ?? [] {
            if let delay = detail["retryDelay"]?.stringValue, delay.hasSuffix("s"), let seconds = Double(delay.dropLast()) {
                retryAfter = Int(seconds.rounded(.up))
            }
        }
        // The message is read only to recognise a context-window error; it is never kept.
        let message = body["error"]?["message"]?.stringValue?.lowercased() ?? ""
        let tooLong = message.contains("exceeds the maximum number of tokens") || message.contains("input token count")
        return Info(type: body["error"]?["status"]?.stringValue, code: tooLong ? "prompt_too_long" : nil, retryAfterSeconds: retryAfter)
    }
}

/// Reads Gemini's SSE (`data: {GenerateContentResponse}` until the connection ends) into core chunks.
struct GeminiChunkSource: ChatChunkSource {
    private var reader: SSEBodyReader
    let provider: String
    let model: String
    let created: Int
    private var ready: [ChatChunk] = []
    private var readyIndex = 0
    private var started = false
    private var finished = false
    private var toolCalls = 0
    private var usage: Usage?
    private var id = ""

    init(iterator: HTTPClientResponse.Body.AsyncIterator, provider: String, model: String, created: Int) {
        self.reader = SSEBodyReader(iterator, provider: provider)
        self.provider = provider
        self.model = model
        self.created = created
    }

    mutating func nextIfReady() throws -> ReadyChunk {
        if readyIndex < ready.count {
            defer { readyIndex += 1 }
            return .chunk(ready[readyIndex])
        }
        if reader.atEnd {
            guard finished else {
                throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended without a finish reason")
            }
            return .end
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
            let events = try await reader.nextEvents()
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            for event in events {
                guard let body = try? JSONDecoder().decode(JSONValue.self, from: Data(event.data.utf8)) else {
                    throw UpstreamError(.invalidResponse, provider: provider, detail: "a stream event is not valid JSON")
                }
                if let error = body["error"] {
                    throw UpstreamError(.streamInterrupted, provider: provider, detail: "the provider reported an error mid-stream", errorType: error["status"]?.stringValue)
                }
                if body["candidates"] == nil, let reason = body["promptFeedback"]?["blockReason"]?.stringValue {
                    throw UpstreamError(.status(400), provider: provider, detail: "the prompt was blocked", errorType: "PROMPT_BLOCKED", errorCode: reason)
                }
                translate(body)
            }
            if reader.atEnd, finished {
                ready.append(ChatChunk(id: id, created: created, model: model, choices: [], usage: usage))
            }
        }
    }

    private mutating func translate(_ body: JSONValue) {
        if id.isEmpty { id = body["responseId"]?.stringValue ?? "gemini-\(created)" }
        if let value = GeminiTranslation.usage(body["usageMetadata"]) { usage = value }
        func chunk(_ delta: ChatDelta, finish: String? = nil) -> ChatChunk {
            ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta, finishReason: finish)])
        }
        if !started {
            started = true
            ready.append(chunk(ChatDelta(role: .assistant, content: "")))
        }
        guard let candidate = body["candidates"]?.arrayValue?.first else { return }
        let parsed = GeminiTranslation.message(from: candidate["content"], callIndexBase: toolCalls, idPrefix: id)
        if !parsed.reasoning.isEmpty { ready.append(chunk(ChatDelta(extra: ["reasoning_content": .string(parsed.reasoning)]))) }
        if !parsed.text.isEmpty { ready.append(chunk(ChatDelta(content: parsed.text))) }
        for call in parsed.calls {
            ready.append(chunk(ChatDelta(toolCalls: [
                ToolCallDelta(index: toolCalls, id: call.id, type: "function", function: .init(name: call.function.name, arguments: call.function.arguments))
            ])))
            toolCalls += 1
        }
        if let reason = candidate["finishReason"]?.stringValue {
            finished = true
            ready.append(chunk(ChatDelta(), finish: GeminiTranslation.finishReason(reason, hasToolCalls: toolCalls > 0)))
        }
    }
}
