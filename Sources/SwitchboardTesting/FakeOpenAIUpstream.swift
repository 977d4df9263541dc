package import Hummingbird
import HTTPTypes
import Logging
import NIOCore
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a fake upstream saw.
package actor UpstreamRecorder {
    package struct Received: Sendable {
        package var path: String
        package var authorization: String?
        package var requestID: String?
        package var body: JSONValue
        /// The body's bytes as they came (kept for `/v1/responses`).
        package var raw: [UInt8] = []
    }

    package private(set) var requests: [Received] = []
    /// Streams whose client went away before the stream was finished.
    package private(set) var disconnectedStreams = 0
    package private(set) var completedStreams = 0

    package init() {}

    func append(_ request: Received) { requests.append(request) }

    /// How many chat requests for `model` arrived, this one included.
    func countCall(model: String) -> Int {
        callsByModel[model, default: 0] += 1
        return callsByModel[model, default: 0]
    }

    private var callsByModel: [String: Int] = [:]

    /// Chat requests the fake received for a model.
    package func calls(model: String) -> Int {
        requests.filter { $0.path == "/v1/chat/completions" && $0.body["model"]?.stringValue == model }.count
    }
    func streamDisconnected() { disconnectedStreams += 1 }
    func streamCompleted() { completedStreams += 1 }

    package var last: Received? { requests.last }
}

/// A fake OpenAI API speaking the real wire format, with faults chosen by the request's `model`.
///
/// Models: any name answers normally (echoing the last user message as `echo: <text>`), except
/// `fail-400`, `fail-401`, `fail-404`, `fail-429`, `fail-500`, `fail-503`, `fail-echo-key` (OpenAI error bodies
/// that contain ``secretMarker``, which must never reach a client), `slow` (answers after 3 s),
/// `invalid-json` (200 with a body that is not JSON), `die-mid-stream` (two chunks, then the
/// connection drops), `endless-stream` (a chunk every 20 ms until the client leaves), and
/// `slow-stream` (10 chunks 100 ms apart), `flaky` (every other call fails with 500),
/// `slow-first-chunk` (stream head at once, first chunk after 3 s) and `stall-stream` (one chunk,
/// then silence for 10 s).
package struct FakeOpenAIUpstream: Sendable {
    package static let secretMarker = "UPSTREAM-SECRET-DETAIL-7f3a"
    package static let apiKey = "upstream-test-key"

    /// Model `verbatim` answers exactly these bytes: spacing, key order, `1.50` and an unknown
    /// extension field that decoding and re-encoding would all change.
    package static let verbatimBody = """
        {"id": "chatcmpl-verbatim", "object": "chat.completion", "created": 1700000000, "model": "verbatim",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "exact bytes"}, "finish_reason": "stop",
                      "x_extension": {"z": 1, "a": [1.50, 2e3]}}],
         "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}, "service_tier": "default"}
        """

    /// Model `verbatim`, streamed: each string is one event's `data`, sent as it is.
    package static let verbatimStream = [
        #"{"id":"chatcmpl-v","object":"chat.completion.chunk","created":1700000000,"model":"verbatim","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        #"{"model":"verbatim","object":"chat.completion.chunk","id":"chatcmpl-v","created":1700000000,"choices":[{"index":0,"delta":{"content":"exact "},"x_score":1.50,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-v","object":"chat.completion.chunk","created":1700000000,"model":"verbatim","choices":[{"index":0,"delta":{"content":"bytes"},"finish_reason":"stop"}]}"#,
        #"{"id":"chatcmpl-v","object":"chat.completion.chunk","created":1700000000,"model":"verbatim","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
    ]

    package let recorder = UpstreamRecorder()

    package init() {}

    package func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let recorder = self.recorder
        router.post("v1/chat/completions") { request, context -> Response in
            let body = try await Self.readBody(request)
            await recorder.append(.init(
                path: "/v1/chat/completions",
                authorization: request.headers[.authorization],
                requestID: request.headers[HTTPField.Name("x-request-id")!],
                body: body
            ))
            if request.headers[.authorization] != "Bearer \(Self.apiKey)" {
                return Self.error(status: 401, type: "invalid_request_error", code: "invalid_api_key")
            }
            let model = body["model"]?.stringValue ?? ""
            let call = await recorder.countCall(model: model)
            if let failure = Self.failure(for: model) { return failure }
            if model == "flaky", call % 2 == 1 { return Self.error(status: 500, type: "server_error", code: nil) }
            if model == "slow" { try await Task.sleep(for: .seconds(3)) }
            if model == "verbatim" {
                if body["stream"]?.boolValue == true {
                    return Response(
                        status: .ok, headers: [.contentType: "text/event-stream"],
                        body: .init(byteBuffer: ByteBuffer(string: Self.verbatimStream.map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"))
                    )
                }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: Self.verbatimBody)))
            }
            if model == "stall-body" {
                // The head and half the answer, then nothing: only a deadline covering the body ends it.
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: String(Self.verbatimBody.prefix(60))))
                    // Long past the test's 1 s timeout; the truncated body would then be a 502, not a 504.
                    try await Task.sleep(for: .seconds(2))
                    try await writer.finish(nil)
                })
            }
            if model == "invalid-json" {
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "<html>oops</html>")))
            }
            if body["stream"]?.boolValue == true {
                return Self.stream(body, model: model, recorder: recorder)
            }
            return Self.completion(body, model: model)
        }
        Self.addResponses(to: router, recorder: recorder)
        router.post("v1/embeddings") { request, context -> Response in
            let body = try await Self.readBody(request)
            await recorder.append(.init(
                path: "/v1/embeddings",
                authorization: request.headers[.authorization],
                requestID: request.headers[HTTPField.Name("x-request-id")!],
                body: body
            ))
            let inputs: [String]
            switch body["input"] {
            case .string(let text): inputs = [text]
            case .array(let items): inputs = items.compactMap(\.stringValue)
            default: inputs = []
            }
            // `bow-embed`: a bag-of-words vector, so texts with the same words (in any case, order
            // or punctuation) are similar; `slow-embed` answers after 2 s; `fail-embed` fails.
            let model = body["model"]?.stringValue ?? ""
            if model == "fail-embed" { return Self.error(status: 500, type: "server_error", code: nil) }
            if model == "slow-embed" { try await Task.sleep(for: .seconds(2)) }
            let data: [JSONValue] = inputs.enumerated().map { index, text in
                let vector: [Double] = model == "bow-embed" || model == "slow-embed" ? Self.bagOfWords(text) : [0.25, -0.5, 0.125]
                return ["object": "embedding", "index": .integer(Int64(index)), "embedding": .array(vector.map(JSONValue.double))]
            }
            return Self.json([
                "object": "list",
                "data": .array(data),
                "model": body["model"] ?? "",
                "usage": ["prompt_tokens": .integer(Int64(inputs.count * 2)), "total_tokens": .integer(Int64(inputs.count * 2))],
            ])
        }
        // Azure OpenAI: deployment in the path, `api-version` in the query, key in `api-key`;
        // answers carry content-filter results.
        // The model list, OpenRouter-style: one entry priced (per token) with a context length.
        router.get("v1/models") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer \(Self.apiKey)" else {
                return Self.error(status: 401, type: "invalid_request_error", code: "invalid_api_key")
            }
            return Self.json([
                "object": "list",
                "data": [
                    ["id": "fake-model", "object": "model", "created": 1_700_000_000, "owned_by": "fake"],
                    [
                        "id": "fake-large", "object": "model", "created": 1_700_000_000, "owned_by": "fake", "context_length": 128_000,
                        "pricing": ["prompt": "0.0000025", "completion": "0.00001"], "top_provider": ["max_completion_tokens": 16_384],
                    ],
                ],
            ])
        }
        router.get("openai/deployments") { request, _ -> Response in
            guard request.headers[HTTPField.Name("api-key")!] == Self.apiKey else {
                return Self.error(status: 401, type: "invalid_request_error", code: "invalid_api_key")
            }
            return Self.json(["object": "list", "data": [["id": "prod-gpt", "model": "gpt-4o", "object": "deployment"]]])
        }
        router.post("openai/deployments/{deployment}/chat/completions") { request, context -> Response in
            let body = try await Self.readBody(request)
            let deployment = context.parameters.get("deployment") ?? ""
            await recorder.append(.init(
                path: "/openai/deployments/\(deployment)/chat/completions?api-version=\(request.uri.queryParameters.get("api-version") ?? "")",
                authorization: request.headers[HTTPField.Name("api-key")!],
                requestID: request.headers[HTTPField.Name("x-request-id")!],
                body: body
            ))
            guard request.headers[HTTPField.Name("api-key")!] == Self.apiKey, request.uri.queryParameters.get("api-version") != nil else {
                return Self.error(status: 401, type: "invalid_request_error", code: "401")
            }
            if let failure = Self.failure(for: deployment) { return failure }
            if body["stream"]?.boolValue == true {
                return Self.stream(body, model: deployment, recorder: recorder, azure: true)
            }
            let filters: JSONValue = ["hate": ["filtered": false, "severity": "safe"], "violence": ["filtered": false, "severity": "safe"]]
            guard case .object(var object) = Self.completionJSON(body, model: deployment) else { return Self.completion(body, model: deployment) }
            object["prompt_filter_results"] = [["prompt_index": 0, "content_filter_results": filters]]
            if case .array(var choices)? = object["choices"], case .object(var first)? = choices.first {
                first["content_filter_results"] = filters
                choices[0] = .object(first)
                object["choices"] = .array(choices)
            }
            return Self.json(.object(object))
        }
        var logger = Logger(label: "fake-openai")
        logger.logLevel = .critical
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    static func readBody(_ request: Request) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: 50 * 1024 * 1024)
        return try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))
    }

    static func failure(for model: String) -> Response? {
        switch model {
        case "fail-400": return error(status: 400, type: "invalid_request_error", code: "context_length_exceeded")
        case "fail-401": return error(status: 401, type: "invalid_request_error", code: "invalid_api_key")
        case "fail-404": return error(status: 404, type: "invalid_request_error", code: "model_not_found")
        case "fail-429":
            var response = error(status: 429, type: "rate_limit_error", code: "rate_limit_exceeded")
            response.headers[.retryAfter] = "7"
            return response
        case "fail-500": return error(status: 500, type: "server_error", code: nil)
        // A provider that quotes the credential it was sent as its error type and code.
        case "fail-echo-key": return error(status: 500, type: apiKey, code: apiKey)
        case "fail-503": return error(status: 503, type: "server_error", code: nil)
        default: return nil
        }
    }

    /// 64 buckets of word counts (FNV-1a of each lower-cased word).
    package static func bagOfWords(_ text: String) -> [Double] {
        var vector = [Double](repeating: 0, count: 64)
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }
        for word in words {
            var hash: UInt32 = 2_166_136_261
            for byte in word.utf8 {
                hash ^= UInt32(byte)
                hash = hash &* 16_777_619
            }
            vector[Int(hash % 64)] += 1
        }
        return vector
    }

    static func error(status: Int, type: String, code: String?) -> Response {
        let body: JSONValue = [
            "error": [
                "message": .string("Upstream says no: \(secretMarker) sk-live-abcdef1234567890"),
                "type": .string(type),
                "param": nil,
                "code": code.map(JSONValue.string) ?? nil,
            ]
        ]
        var response = json(body)
        response.status = HTTPResponse.Status(code: status)
        return response
    }

    static func json(_ value: JSONValue) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func lastUserText(_ body: JSONValue) -> String {
        guard case .array(let messages) = body["messages"] else { return "" }
        for message in messages.reversed() where message["role"]?.stringValue == "user" {
            if let text = message["content"]?.stringValue { return text }
            if case .array(let parts) = message["content"] {
                return parts.compactMap { $0["text"]?.stringValue }.joined()
            }
        }
        return ""
    }

    static func toolName(_ body: JSONValue) -> String? {
        guard case .array(let tools) = body["tools"], let first = tools.first?["function"]?["name"]?.stringValue else {
            return nil
        }
        if body["tool_choice"]?.stringValue == "required" { return first }
        if let named = body["tool_choice"]?["function"]?["name"]?.stringValue { return named }
        return nil
    }

    static let toolArguments = #"{"city":"Paris","units":"celsius","days":[1,2,3]}"#

    static func completion(_ body: JSONValue, model: String) -> Response {
        json(completionJSON(body, model: model))
    }

    static func completionJSON(_ body: JSONValue, model: String) -> JSONValue {
        let text = "echo: " + lastUserText(body)
        var message: JSONValue = ["role": "assistant", "content": .string(text), "refusal": nil]
        var finish = model == "truncated" ? "length" : "stop"
        if let tool = toolName(body) {
            message = [
                "role": "assistant", "content": nil, "refusal": nil,
                "tool_calls": [["id": "call_abc123", "type": "function", "function": ["name": .string(tool), "arguments": .string(toolArguments)]]],
            ]
            finish = "tool_calls"
        }
        return .object([
            "id": "chatcmpl-fake1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": .string(model),
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
            "choices": [["index": 0, "message": message, "logprobs": nil, "finish_reason": .string(finish)]],
            "usage": [
                "prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                "prompt_tokens_details": ["cached_tokens": 3],
            ],
        ])
    }

    static func chunk(_ model: String, delta: JSONValue, finish: String? = nil, includeUsageField: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": .string(model), "system_fingerprint": "fp_fake",
            "choices": [["index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish.map(JSONValue.string) ?? nil]],
        ]
        if includeUsageField { object["usage"] = nil }
        return .object(object)
    }

    static func event(_ value: JSONValue) -> ByteBuffer {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n")
    }

    static func stream(_ body: JSONValue, model: String, recorder: UpstreamRecorder, azure: Bool = false) -> Response {
        let includeUsage = body["stream_options"]?["include_usage"]?.boolValue == true
        let text = "echo: " + lastUserText(body)
        let tool = toolName(body)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                do {
                    if azure {
                        // Azure opens with a chunk that has no choices, only the prompt's filter results.
                        try await writer.write(event([
                            "id": "", "object": "", "created": 0, "model": "", "choices": [],
                            "prompt_filter_results": [["prompt_index": 0, "content_filter_results": ["hate": ["filtered": false, "severity": "safe"]]]],
                        ]))
                    }
                    if model == "slow-first-chunk" { try await Task.sleep(for: .seconds(3)) }
                    try await writer.write(event(chunk(model, delta: ["role": "assistant", "content": "", "refusal": nil], includeUsageField: includeUsage)))
                    switch model {
                    case "endless-stream":
                        while true {
                            try await Task.sleep(for: .milliseconds(20))
                            try await writer.write(event(chunk(model, delta: ["content": "tick "], includeUsageField: includeUsage)))
                        }
                    case "stall-stream":
                        try await writer.write(event(chunk(model, delta: ["content": "stalling "], includeUsageField: includeUsage)))
                        try await Task.sleep(for: .seconds(10))
                    case "die-mid-stream":
                        try await writer.write(event(chunk(model, delta: ["content": "partial "], includeUsageField: includeUsage)))
                        // Let the bytes leave and be read before the connection drops (a reset can discard
                        // unread bytes; a loaded run needs more than 100 ms), so the test sees them arrive.
                        try await Task.sleep(for: .milliseconds(500))
                        throw FakeUpstreamError.droppedConnection
                    default:
                        break
                    }
                    if let tool {
                        try await writer.write(event(chunk(model, delta: [
                            "tool_calls": [["index": 0, "id": "call_abc123", "type": "function", "function": ["name": .string(tool), "arguments": ""]]]
                        ], includeUsageField: includeUsage)))
                        // Split the arguments into many small deltas, as real providers do.
                        var remaining = Substring(toolArguments)
                        while !remaining.isEmpty {
                            let piece = remaining.prefix(5)
                            remaining = remaining.dropFirst(5)
                            try await writer.write(event(chunk(model, delta: [
                                "tool_calls": [["index": 0, "function": ["arguments": .string(String(piece))]]]
                            ], includeUsageField: includeUsage)))
                        }
                        try await writer.write(event(chunk(model, delta: [:], finish: "tool_calls", includeUsageField: includeUsage)))
                    } else {
                        let words = text.split(separator: " ", omittingEmptySubsequences: false)
                        for (index, word) in words.enumerated() {
                            if model == "slow-stream" { try await Task.sleep(for: .milliseconds(100)) }
                            let piece = index == 0 ? String(word) : " " + word
                            try await writer.write(event(chunk(model, delta: ["content": .string(piece)], includeUsageField: includeUsage)))
                        }
                        try await writer.write(event(chunk(model, delta: [:], finish: "stop", includeUsageField: includeUsage)))
                    }
                    if includeUsage {
                        try await writer.write(event([
                            "id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 1_700_000_000,
                            "model": .string(model), "system_fingerprint": "fp_fake", "choices": [],
                            "usage": ["prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18],
                        ]))
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                    await recorder.streamCompleted()
                } catch FakeUpstreamError.droppedConnection {
                    throw FakeUpstreamError.droppedConnection
                } catch {
                    await recorder.streamDisconnected()
                    throw error
                }
            }
        )
    }
}

enum FakeUpstreamError: Error {
    case droppedConnection
}
