package import Hummingbird
import HTTPTypes
import Logging
import NIOCore
package import SwitchboardCore
import SwitchboardProviders

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the fake Bedrock saw, for tests to inspect.
package actor BedrockRecorder {
    package struct Received: Sendable {
        /// The path exactly as it arrived, still percent-encoded.
        package var rawPath: String
        package var authorization: String?
        package var securityToken: String?
        package var body: JSONValue
    }

    package private(set) var requests: [Received] = []
    /// Requests refused because their signature did not verify.
    package private(set) var rejectedSignatures = 0

    package init() {}

    func append(_ request: Received) { requests.append(request) }
    func rejected() { rejectedSignatures += 1 }

    package var last: Received? { requests.last }
}

/// A fake Bedrock Runtime: checks the SigV4 signature of every request as AWS would, then answers
/// Converse with JSON and ConverseStream with real event-stream frames.
///
/// The answer depends on the model id in the path: any id echoes the last user text as
/// `echo: <text>`, or answers `tool said: <text>` when the last user turn holds a tool result,
/// or calls the first tool when `toolChoice` is `any` or names a tool. Special ids:
/// `fail-403`, `fail-429`, `fail-500` (AWS error bodies containing ``secretMarker``),
/// `max-tokens` and `guardrail` (those stop reasons), `corrupt-stream` (a frame with a broken
/// checksum after the first delta) and `exception-stream` (a `throttlingException` frame mid-stream).
/// InvokeModel answers Titan and Cohere embedding models.
package struct FakeBedrockUpstream: Sendable {
    package static let secretMarker = "BEDROCK-SECRET-DETAIL-91c4"
    package static let accessKeyID = "AKIDFAKEBEDROCK01"
    package static let secretAccessKey = "fake/Bedrock+Secret/Key0123456789abcdef"
    package static let sessionToken = "FakeSessionToken//+example="
    package static let region = "us-east-1"
    package static let toolInput = #"{"city":"Paris","days":[1,2,3],"units":"celsius"}"#

    package let recorder = BedrockRecorder()
    private let verifier = SigV4Signer(
        credentials: SigV4Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken),
        region: region,
        service: "bedrock"
    )

    package init() {}

    package func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let recorder = self.recorder
        let verifier = self.verifier
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 50 * 1024 * 1024)
            let bytes = Array(body.readableBytesView)
            let rawPath = request.head.path ?? "/"
            let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) ?? .null
            await recorder.append(.init(
                rawPath: rawPath,
                authorization: Self.header(request, "authorization"),
                securityToken: Self.header(request, "x-amz-security-token"),
                body: json
            ))
            if let refusal = Self.verify(request, rawPath: rawPath, body: bytes, verifier: verifier) {
                await recorder.rejected()
                return refusal
            }
            let parts = rawPath.split(separator: "?", maxSplits: 1)[0].split(separator: "/")
            guard parts.count == 3, parts[0] == "model", ["converse", "converse-stream", "invoke"].contains(parts[2]) else {
                return Self.error(status: 404, type: "UnknownOperationException")
            }
            let model = String(decoding: Self.percentDecode(parts[1]), as: UTF8.self)
            if let failure = Self.failure(for: model) { return failure }
            if parts[2] == "invoke" { return Self.invoke(json, model: model) }
            let reply = Self.reply(to: json, model: model)
            return parts[2] == "converse" ? Self.converse(reply) : Self.stream(reply, model: model)
        }
        var logger = Logger(label: "fake-bedrock")
        logger.logLevel = .critical
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    // MARK: - Signature check

    /// Recomputes the signature from the raw request the way AWS does; nil when it matches.
    static func verify(_ request: Request, rawPath: String, body: [UInt8], verifier: SigV4Signer) -> Response? {
        guard let authorization = header(request, "authorization"),
            let parsed = ParsedAuthorization(authorization)
        else {
            return error(status: 403, type: "MissingAuthenticationTokenException")
        }
        guard parsed.accessKeyID == accessKeyID else {
            return error(status: 403, type: "UnrecognizedClientException")
        }
        guard parsed.region == region, parsed.service == "bedrock",
            parsed.signedHeaders.contains("host"), parsed.signedHeaders.contains("x-amz-date"),
            parsed.signedHeaders.contains("x-amz-security-token"),
            header(request, "x-amz-security-token") == sessionToken,
            let amzDate = header(request, "x-amz-date"), amzDate.hasPrefix(parsed.day)
        else {
            return error(status: 403, type: "AccessDeniedException")
        }
        var signed: [(name: String, value: String)] = []
        for name in parsed.signedHeaders {
            guard let value = name == "host" ? (request.head.authority ?? header(request, "host")) : header(request, name) else {
                return error(status: 403, type: "InvalidSignatureException")
            }
            signed.append((name, value))
        }
        let pathAndQuery = rawPath.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let expected = verifier.sign(
            SigV4Request(
                method: request.method.rawValue,
                path: String(pathAndQuery[0]),
                query: pathAndQuery.count > 1 ? String(pathAndQuery[1]) : "",
                headers: signed,
                body: body
            ),
            amzDate: amzDate
        )
        return expected.signature == parsed.signature ? nil : error(status: 403, type: "InvalidSignatureException")
    }

    struct ParsedAuthorization {
        var accessKeyID: String
        var day: String
        var region: String
        var service: String
        var signedHeaders: [String]
        var signature: String

        init?(_ header: String) {
            let prefix = "AWS4-HMAC-SHA256 "
            guard header.hasPrefix(prefix) else { return nil }
            var fields: [String: String] = [:]
            for item in header.dropFirst(prefix.count).split(separator: ",") {
                let pair = item.drop { $0 == " " }.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { return nil }
                fields[String(pair[0])] = String(pair[1])
            }
            guard let credential = fields["Credential"]?.split(separator: "/").map(String.init), credential.count == 5,
                credential[4] == "aws4_request", let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"]
            else { return nil }
            self.accessKeyID = credential[0]
            self.day = credential[1]
            self.region = credential[2]
            self.service = credential[3]
            self.signedHeaders = signedHeaders.split(separator: ";").map(String.init)
            self.signature = signature
        }
    }

    static func header(_ request: Request, _ name: String) -> String? {
        let values = request.headers.filter { $0.name.canonicalName == name }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }

    static func percentDecode(_ text: Substring) -> [UInt8] {
        var result: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                result.append(value)
            } else {
                result.append(byte)
            }
        }
        return result
    }

    // MARK: - Answers

    static func failure(for model: String) -> Response? {
        switch model {
        case "fail-403": return error(status: 403, type: "AccessDeniedException")
        case "fail-429":
            var response = error(status: 429, type: "ThrottlingException")
            response.headers[.retryAfter] = "5"
            return response
        case "fail-500": return error(status: 500, type: "InternalServerException")
        default: return nil
        }
    }

    /// An AWS JSON error: the type in `x-amzn-ErrorType`, a message that must never reach a client.
    static func error(status: Int, type: String) -> Response {
        let body: JSONValue = ["message": .string("Bedrock says no: \(secretMarker) arn:aws:iam::123456789012:user/secret")]
        var response = Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: EventStreamEncoder.json(body)))
        )
        if let name = HTTPField.Name("x-amzn-ErrorType") {
            response.headers[name] = "\(type):http://internal.amazon.com/coral/com.amazon.bedrock/"
        }
        return response
    }

    /// InvokeModel for embedding models: a Titan vector is `[length of the text, 0.5, -0.25]`,
    /// a Cohere one `[length, index, 1]`.
    static func invoke(_ body: JSONValue, model: String) -> Response {
        let answer: JSONValue
        let tokens: Int
        if model.contains("titan-embed"), let text = body["inputText"]?.stringValue {
            tokens = text.count
            answer = ["embedding": [.double(Double(text.count)), 0.5, -0.25], "inputTextTokenCount": .integer(Int64(tokens))]
        } else if model.contains("cohere.embed"), let texts = body["texts"]?.arrayValue?.compactMap(\.stringValue) {
            tokens = texts.reduce(0) { $0 + $1.count }
            let vectors = texts.enumerated().map { index, text -> JSONValue in
                [.double(Double(text.count)), .double(Double(index)), 1.0]
            }
            answer = ["id": "emb-1", "response_type": "embeddings_floats", "embeddings": .array(vectors), "texts": body["texts"] ?? []]
        } else {
            return error(status: 400, type: "ValidationException")
        }
        var response = Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: EventStreamEncoder.json(answer)))
        )
        if let name = HTTPField.Name("x-amzn-bedrock-input-token-count") { response.headers[name] = String(tokens) }
        return response
    }

    /// What the fake model says: text, or a tool call, and why it stopped.
    struct Reply {
        var text: String
        var toolName: String?
        var stopReason: String
    }

    static func reply(to body: JSONValue, model: String) -> Reply {
        let messages = body["messages"]?.arrayValue ?? []
        let lastUser = messages.last { $0["role"]?.stringValue == "user" }
        let blocks = lastUser?["content"]?.arrayValue ?? []
        let results = blocks.compactMap { $0["toolResult"]?["content"]?.arrayValue?.first?["text"]?.stringValue }
        let text = results.isEmpty
            ? "echo: " + blocks.compactMap { $0["text"]?.stringValue }.joined()
            : "tool said: " + results.joined(separator: " | ")
        var toolName: String?
        if results.isEmpty, let choice = body["toolConfig"]?["toolChoice"] {
            toolName = choice["tool"]?["name"]?.stringValue
            if choice["any"] != nil {
                toolName = body["toolConfig"]?["tools"]?.arrayValue?.first?["toolSpec"]?["name"]?.stringValue
            }
        }
        let stopReason: String
        switch model {
        case "max-tokens": stopReason = "max_tokens"
        case "guardrail": stopReason = "guardrail_intervened"
        default: stopReason = toolName == nil ? "end_turn" : "tool_use"
        }
        return Reply(text: text, toolName: toolName, stopReason: stopReason)
    }

    static let usage: JSONValue = ["inputTokens": 11, "outputTokens": 7, "totalTokens": 21, "cacheReadInputTokens": 3]

    static func converse(_ reply: Reply) -> Response {
        var content: [JSONValue] = [["text": .string(reply.text)]]
        if let tool = reply.toolName {
            let input = (try? JSONDecoder().decode(JSONValue.self, from: Data(toolInput.utf8))) ?? [:]
            content = [["text": "Let me look."], ["toolUse": ["toolUseId": "tooluse_abc123", "name": .string(tool), "input": input]]]
        }
        let body: JSONValue = [
            "output": ["message": ["role": "assistant", "content": .array(content)]],
            "stopReason": .string(reply.stopReason),
            "usage": usage,
            "metrics": ["latencyMs": 42],
        ]
        var response = Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: EventStreamEncoder.json(body)))
        )
        if let name = HTTPField.Name("x-amzn-RequestId") { response.headers[name] = "fake-request-1" }
        return response
    }

    static func stream(_ reply: Reply, model: String) -> Response {
        var frames: [[UInt8]] = [EventStreamEncoder.event("messageStart", ["role": "assistant"])]
        var corruptAt: Int?
        var exceptionAt: Int?
        if let tool = reply.toolName {
            frames.append(EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Let me look."]]))
            frames.append(EventStreamEncoder.event("contentBlockStop", ["contentBlockIndex": 0]))
            frames.append(EventStreamEncoder.event("contentBlockStart", [
                "contentBlockIndex": 1, "start": ["toolUse": ["toolUseId": "tooluse_abc123", "name": .string(tool)]],
            ]))
            // The input arrives as JSON text cut into small pieces, as Bedrock sends it.
            var remaining = Substring(toolInput)
            while !remaining.isEmpty {
                let piece = remaining.prefix(5)
                remaining = remaining.dropFirst(5)
                frames.append(EventStreamEncoder.event("contentBlockDelta", [
                    "contentBlockIndex": 1, "delta": ["toolUse": ["input": .string(String(piece))]],
                ]))
            }
            frames.append(EventStreamEncoder.event("contentBlockStop", ["contentBlockIndex": 1]))
        } else {
            let words = reply.text.split(separator: " ", omittingEmptySubsequences: false)
            for (index, word) in words.enumerated() {
                let piece = index == 0 ? String(word) : " " + word
                frames.append(EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": .string(piece)]]))
                if index == 0 {
                    if model == "corrupt-stream" { corruptAt = frames.count }
                    if model == "exception-stream" { exceptionAt = frames.count }
                }
            }
            frames.append(EventStreamEncoder.event("contentBlockStop", ["contentBlockIndex": 0]))
        }
        frames.append(EventStreamEncoder.event("messageStop", ["stopReason": .string(reply.stopReason)]))
        frames.append(EventStreamEncoder.event("metadata", ["usage": usage, "metrics": ["latencyMs": 42]]))
        if let corruptAt {
            var broken = EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": " broken"]])
            broken[broken.count - 6] ^= 0x20
            frames.insert(broken, at: corruptAt)
        }
        if let exceptionAt {
            frames.insert(EventStreamEncoder.exception("throttlingException", ["message": .string("slow down \(secretMarker)")]), at: exceptionAt)
            frames.removeSubrange((exceptionAt + 1)...)
        }
        let bytes = frames.flatMap { $0 }
        return Response(
            status: .ok,
            headers: [.contentType: "application/vnd.amazon.eventstream"],
            body: ResponseBody { writer in
                // Odd-sized writes, so frames straddle reads on the gateway's side.
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + 37, bytes.count)
                    try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
                    offset = end
                }
                try await writer.finish(nil)
            }
        )
    }
}
