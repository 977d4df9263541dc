package import AsyncHTTPClient
import NIOCore
import NIOHTTP1
package import SwitchboardCore

#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Amazon Bedrock through the Converse and ConverseStream APIs, signed with SigV4.
///
/// Requests go to `{base_url or https://bedrock-runtime.{region}.amazonaws.com}/model/{model id}/converse`
/// (`/converse-stream` for streams, answered as `application/vnd.amazon.eventstream`;
/// `/invoke` for Titan and Cohere embeddings).
package struct BedrockAdapter: ProviderAdapter {
    package let name: String
    package let type: ProviderType
    package let knownModels: [String]
    private let endpoint: Endpoint
    private let signer: SigV4Signer
    private let client: HTTPClient
    private let now: @Sendable () -> Date
    /// Largest non-streamed response accepted.
    var maxResponseBytes = 64 * 1024 * 1024

    /// The signing service name of Bedrock Runtime.
    static let signingService = "bedrock"

    /// Where requests go, split the way signing needs it.
    struct Endpoint: Sendable {
        /// `scheme://host[:port]`
        var origin: String
        /// The `host` header: the host, with the port when one was given.
        var host: String
        /// Path prefix from `base_url`, without a trailing slash (usually empty).
        var basePath: String
    }

    /// - Parameters:
    ///   - now: the clock requests are signed with; tests pin it.
    package init(config: ProviderConfig, client: HTTPClient, now: @escaping @Sendable () -> Date = { Date() }) throws(ConfigError) {
        guard let region = config.settings["region"], !region.isEmpty else {
            throw ConfigError("provider `\(config.name)` (type bedrock) has no `region`", line: config.line)
        }
        guard let accessKeyID = config.settings["access_key_id"], !accessKeyID.isEmpty,
            let secret = config.settings["secret_access_key"], !secret.isEmpty
        else {
            throw ConfigError(
                "provider `\(config.name)` (type bedrock) needs `access_key_id` and `secret_access_key`",
                line: config.line
            )
        }
        let base = config.baseURL ?? "https://bedrock-runtime.\(region).amazonaws.com"
        guard let endpoint = Self.endpoint(base) else {
            throw ConfigError("provider `\(config.name)` has a `base_url` that is not an http(s) URL", line: config.line)
        }
        self.name = config.name
        self.type = config.type
        self.knownModels = config.models
        self.endpoint = endpoint
        self.signer = SigV4Signer(
            credentials: SigV4Credentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: config.settings["session_token"]),
            region: region,
            service: Self.signingService
        )
        self.client = client
        self.now = now
    }

    static func endpoint(_ base: String) -> Endpoint? {
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        var path = url.path
        while path.hasSuffix("/") { path.removeLast() }
        return Endpoint(origin: "\(scheme)://\(hostHeader)", host: hostHeader, basePath: path)
    }

    /// `/model/{id}/{operation}` with the id fully percent-encoded, so `:` and `/` of ARNs survive.
    func path(model: String, operation: String) -> String {
        endpoint.basePath + "/model/" + SigV4Signer.uriEncode(model) + "/" + operation
    }

    /// Fields Converse has no place for; refused with a 400 or dropped (`drop_unsupported_params`).
    package func unsupportedParameters(in request: ChatRequest) -> [String] {
        request.parametersSet(among: [
            "n", "seed", "response_format", "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty",
        ])
    }

    package func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
        let body = try encode(request)
        let (response, buffer) = try await sendAndCollect(
            path: path(model: request.model, operation: "converse"),
            body: body,
            accept: "application/json",
            deadline: .now() + .init(call.timeout),
            call: call
        )
        let converse = try decodeJSON(Bedrock.ConverseResponse.self, buffer, what: "a Converse response")
        return BedrockTranslation.chatResponse(
            converse,
            id: "chatcmpl-" + (response.headers.first(name: "x-amzn-requestid") ?? call.requestID),
            model: request.model,
            created: Int(now().timeIntervalSince1970)
        )
    }

    package func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        let body = try encode(request)
        let response = try await send(
            path: path(model: request.model, operation: "converse-stream"),
            body: body,
            accept: "application/vnd.amazon.eventstream",
            deadline: .now() + .init(call.timeout),
            call: call
        )
        let translator = BedrockStreamTranslator(
            id: "chatcmpl-" + (response.headers.first(name: "x-amzn-requestid") ?? call.requestID),
            model: request.model,
            created: Int(now().timeIntervalSince1970)
        )
        let provider = name
        let responseBody = response.body
        return ChatStream {
            FramedChunkSource(
                body: responseBody, provider: provider, decoder: BedrockFrames(provider: provider),
                translator: BedrockEventTranslator(base: translator, provider: provider)
            )
        }
    }

    /// Titan Text Embeddings (one InvokeModel call per input, in order) or Cohere Embed (one call).
    package func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
        guard let family = BedrockEmbeddings.family(of: request.model) else {
            throw UpstreamError(
                .unsupported,
                provider: name,
                detail: "embeddings through Bedrock need a Titan (amazon.titan-embed-*) or Cohere (cohere.embed-*) model"
            )
        }
        guard let texts = request.input.texts else {
            throw UpstreamError(.unsupported, provider: name, detail: "Bedrock embedding models take text, not token arrays")
        }
        let deadline = NIODeadline.now() + .init(call.timeout)
        let path = path(model: request.model, operation: "invoke")
        var vectors: [[Double]] = []
        var tokens = 0
        switch family {
        case .titan:
            for text in texts {
                let body = try encodeJSON(BedrockEmbeddings.TitanRequest(inputText: text, dimensions: request.dimensions))
                let (response, buffer) = try await sendAndCollect(path: path, body: body, accept: "application/json", deadline: deadline, call: call)
                let decoded = try decodeJSON(BedrockEmbeddings.TitanResponse.self, buffer, what: "a Titan embedding")
                vectors.append(decoded.embedding)
                tokens += decoded.inputTextTokenCount ?? Self.inputTokenCount(response.headers) ?? 0
            }
        case .cohere:
            let inputType = request.extra["input_type"]?.stringValue ?? "search_document"
            let body = try encodeJSON(BedrockEmbeddings.CohereRequest(texts: texts, inputType: inputType))
            let (response, buffer) = try await sendAndCollect(path: path, body: body, accept: "application/json", deadline: deadline, call: call)
            vectors = try decodeJSON(BedrockEmbeddings.CohereResponse.self, buffer, what: "a Cohere embedding list").embeddings
            guard vectors.count == texts.count else {
                throw UpstreamError(.invalidResponse, provider: name, detail: "\(vectors.count) embeddings for \(texts.count) inputs")
            }
            tokens = Self.inputTokenCount(response.headers) ?? 0
        }
        let base64 = request.encodingFormat == "base64"
        let items = vectors.enumerated().map { index, vector in
            EmbeddingsResponse.Item(index: index, embedding: base64 ? .base64(EmbeddingVectors.base64Float32(vector)) : .floats(vector))
        }
        return EmbeddingsResponse(
            data: items,
            model: request.model,
            usage: .init(promptTokens: tokens, totalTokens: tokens)
        )
    }

    static func inputTokenCount(_ headers: HTTPHeaders) -> Int? {
        headers.first(name: "x-amzn-bedrock-input-token-count").flatMap { Int($0) }
    }

    private func encodeJSON(_ value: some Encodable) throws -> [UInt8] {
        do {
            return Array(try JSONCoding.encode(value))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw UpstreamError(.invalidResponse, provider: name, detail: "the body is not \(what)")
        }
    }

    private func sendAndCollect(
        path: String,
        body: [UInt8],
        accept: String,
        deadline: NIODeadline,
        call: UpstreamCall
    ) async throws -> (HTTPClient.Response, ByteBuffer) {
        var http = UpstreamHTTP(client: client, provider: name)
        http.maxResponseBytes = maxResponseBytes
        let response = try await http.collect(
            url: endpoint.origin + path, method: .POST, headers: signedHeaders(path: path, body: body, accept: accept),
            body: ByteBuffer(bytes: body), deadline: deadline, logger: call.logger
        )
        let buffer = response.body ?? ByteBuffer()
        guard (200..<300).contains(response.status.code) else {
            throw failure(status: Int(response.status.code), headers: response.headers, body: buffer)
        }
        return (response, buffer)
    }

    private func encode(_ request: ChatRequest) throws -> [UInt8] {
        let converse: Bedrock.ConverseRequest
        do {
            converse = try BedrockTranslation.converseRequest(request)
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: error.detail)
        }
        do {
            return Array(try JSONCoding.encode(converse))
        } catch {
            throw UpstreamError(.unsupported, provider: name, detail: "the request could not be encoded")
        }
    }

    /// Signs and sends one POST; returns once a 2xx head is in, and throws for anything else.
    private func send(path: String, body: [UInt8], accept: String, deadline: NIODeadline, call: UpstreamCall) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: endpoint.origin + path)
        request.method = .POST
        request.headers = signedHeaders(path: path, body: body, accept: accept)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline, logger: call.logger)
        } catch {
            throw UpstreamHTTP.classify(error, provider: name)
        }
        guard (200..<300).contains(response.status.code) else {
            throw await failure(response)
        }
        return response
    }

    /// The request's headers with SigV4's `authorization`, `x-amz-date` (and session token) added.
    private func signedHeaders(path: String, body: [UInt8], accept: String) -> HTTPHeaders {
        var headers: [(name: String, value: String)] = [
            ("host", endpoint.host), ("content-type", "application/json"), ("accept", accept),
        ]
        headers += signer.authorizationHeaders(for: SigV4Request(method: "POST", path: path, headers: headers, body: body), at: now())
        var result = HTTPHeaders()
        for header in headers { result.add(name: header.name, value: header.value) }
        return result
    }

    /// Learns the AWS error type from `x-amzn-errortype` or the body's `__type`; the message is never kept.
    private func failure(_ response: HTTPClientResponse) async -> UpstreamError {
        let body = await UpstreamHTTP.errorBody(response)
        return failure(status: Int(response.status.code), headers: response.headers, body: body)
    }

    private func failure(status: Int, headers: HTTPHeaders, body: ByteBuffer?) -> UpstreamError {
        var errorType = headers.first(name: "x-amzn-errortype").map(Self.shortErrorType)
        if errorType == nil, let body, let decoded = try? JSONDecoder().decode(Bedrock.ErrorBody.self, from: Data(body.readableBytesView)) {
            errorType = decoded.type.map(Self.shortErrorType)
        }
        return UpstreamError(
            .status(status),
            provider: name,
            detail: "HTTP \(status)",
            errorType: errorType,
            retryAfterSeconds: UpstreamHTTP.retryAfter(headers)
        )
    }

    /// `ValidationException:http://internal...` or `com.amazon.coral#ValidationException` → `ValidationException`.
    static func shortErrorType(_ raw: String) -> String {
        var value = Substring(raw)
        if let hash = value.lastIndex(of: "#") { value = value[value.index(after: hash)...] }
        if let colon = value.firstIndex(of: ":") { value = value[..<colon] }
        return String(value)
    }
}
