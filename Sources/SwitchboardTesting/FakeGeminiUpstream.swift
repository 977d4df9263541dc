package import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A fake Gemini API (AI Studio, v1beta) speaking the real wire format: `x-goog-api-key`,
/// `models/{model}:generateContent`, `:streamGenerateContent?alt=sse` (no terminator; the last
/// chunk has `finishReason` and `usageMetadata`), `:batchEmbedContents`. Models `fail-400`,
/// `fail-429`, `fail-500` answer Google error bodies containing ``FakeOpenAIUpstream/secretMarker``;
/// `signer` answers a function call carrying a thought signature.
package struct FakeGeminiUpstream: Sendable {
    package static let apiKey = "gemini-test-key"
    package static let thoughtSignature = "CiQBVKhc7qSignature/+=="
    package let recorder = UpstreamRecorder()

    package init() {}

    package func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let recorder = self.recorder
        router.get("v1beta/models") { request, _ -> Response in
            guard request.headers[HTTPField.Name("x-goog-api-key")!] == Self.apiKey else { return Response(status: .forbidden) }
            return FakeOpenAIUpstream.json([
                "models": [
                    [
                        "name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                        "supportedGenerationMethods": ["generateContent", "countTokens"],
                    ],
                    ["name": "models/aqa", "inputTokenLimit": 7168, "outputTokenLimit": 1024, "supportedGenerationMethods": ["generateAnswer"]],
                ],
            ])
        }
        router.post("v1beta/models/{call}") { request, context -> Response in
            let body = try await FakeOpenAIUpstream.readBody(request)
            let call = context.parameters.get("call") ?? ""
            let pieces = call.split(separator: ":", maxSplits: 1).map(String.init)
            let model = pieces.first ?? ""
            let method = pieces.count > 1 ? pieces[1] : ""
            await recorder.append(.init(
                path: "/v1beta/models/\(call)" + (request.uri.query.map { "?" + $0 } ?? ""),
                authorization: request.headers[HTTPField.Name("x-goog-api-key")!], requestID: nil, body: body
            ))
            guard request.headers[HTTPField.Name("x-goog-api-key")!] == Self.apiKey else {
                // What the real API answers for a bad key: a 400 whose ErrorInfo names the key.
                return Self.error(status: 400, status: "INVALID_ARGUMENT", reason: "API_KEY_INVALID")
            }
            switch model {
            case "fail-400": return Self.error(status: 400, status: "INVALID_ARGUMENT")
            case "fail-403": return Self.error(status: 403, status: "PERMISSION_DENIED")
            case "fail-429": return Self.error(status: 429, status: "RESOURCE_EXHAUSTED")
            case "invalid-json":
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "[1,2")))
            case "fail-500": return Self.error(status: 500, status: "INTERNAL")
            case "blocked":
                return FakeOpenAIUpstream.json(["promptFeedback": ["blockReason": "SAFETY"], "usageMetadata": ["promptTokenCount": 3, "totalTokenCount": 3]])
            default: break
            }
            switch method {
            case "generateContent":
                return FakeOpenAIUpstream.json(Self.answer(body, model: model, final: true))
            case "streamGenerateContent":
                return Self.stream(body, model: model)
            case "batchEmbedContents":
                let requests = body["requests"]?.arrayValue ?? []
                return FakeOpenAIUpstream.json(["embeddings": .array(requests.enumerated().map { index, _ in
                    ["values": [.double(0.5), .double(Double(index)), -0.25]]
                })])
            default:
                return Self.error(status: 404, status: "NOT_FOUND")
            }
        }
        var logger = Logger(label: "fake-gemini")
        logger.logLevel = .critical
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    static func error(status code: Int, status: String, reason: String? = nil) -> Response {
        var error: [String: JSONValue] = [
            "code": .integer(Int64(code)), "message": .string("Gemini says no \(FakeOpenAIUpstream.secretMarker)"), "status": .string(status),
        ]
        if code == 429 {
            error["details"] = [["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"]]
        }
        if let reason {
            error["details"] = [["@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": .string(reason), "domain": "googleapis.com"]]
        }
        var response = FakeOpenAIUpstream.json(["error": .object(error)])
        response.status = HTTPResponse.Status(code: code)
        return response
    }

    static func lastUserText(_ body: JSONValue) -> String {
        for content in (body["contents"]?.arrayValue ?? []).reversed() where content["role"] == "user" {
            let text = (content["parts"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            if !text.isEmpty { return text }
        }
        return ""
    }

    static let usage: JSONValue = ["promptTokenCount": 8, "candidatesTokenCount": 4, "totalTokenCount": 12, "cachedContentTokenCount": 2]

    static func answer(_ body: JSONValue, model: String, final: Bool) -> JSONValue {
        var parts: [JSONValue]
        let mode = body["toolConfig"]?["functionCallingConfig"]?["mode"]?.stringValue
        if mode == "ANY", let name = body["tools"]?.arrayValue?.first?["functionDeclarations"]?.arrayValue?.first?["name"] {
            var part: [String: JSONValue] = ["functionCall": ["name": name, "args": ["city": "Paris", "days": 3]]]
            if model == "signer" { part["thoughtSignature"] = .string(thoughtSignature) }
            parts = [.object(part)]
        } else {
            parts = [["text": .string("echo: " + lastUserText(body))]]
        }
        var answer: [String: JSONValue] = [
            "candidates": [["content": ["role": "model", "parts": .array(parts)], "finishReason": "STOP", "index": 0]],
            "modelVersion": .string(model),
            "responseId": "gemini-resp-1",
        ]
        if final { answer["usageMetadata"] = usage }
        return .object(answer)
    }

    static func stream(_ body: JSONValue, model: String) -> Response {
        let complete = answer(body, model: model, final: true)
        let isToolCall = complete["candidates"]?.arrayValue?.first?["content"]?["parts"]?.arrayValue?.first?["functionCall"] != nil
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                func send(_ value: JSONValue) async throws {
                    let data = (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                    try await writer.write(ByteBuffer(string: "data: \(data)\r\n\r\n"))
                }
                if isToolCall {
                    try await send(complete)
                } else {
                    let words = ("echo: " + lastUserText(body)).split(separator: " ").map(String.init)
                    for (index, word) in words.enumerated() {
                        let last = index == words.count - 1
                        var candidate: [String: JSONValue] = ["content": ["role": "model", "parts": [["text": .string(index == 0 ? word : " " + word)]]], "index": 0]
                        if last { candidate["finishReason"] = "STOP" }
                        var chunk: [String: JSONValue] = ["candidates": [.object(candidate)], "modelVersion": .string(model), "responseId": "gemini-resp-1"]
                        if last { chunk["usageMetadata"] = usage }
                        try await send(.object(chunk))
                        if model == "cut" && index == 0 {
                            throw FakeUpstreamError.droppedConnection
                        }
                    }
                }
                try await writer.finish(nil)
            }
        )
    }
}
