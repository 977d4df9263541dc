package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A deterministic provider for demos, tests and benchmarks.
///
/// It answers with `reply` or, by default, echoes the last user message; waits `latency_ms`
/// before answering; streams in `chunks` pieces `chunk_delay_ms` apart; and reports usage
/// (estimated the same way every time). Asked to use a tool (`tool_choice` required or named),
/// it calls that tool with `{}`.
package struct MockAdapter: ProviderAdapter {
    package let name: String
    package let type = ProviderType.mock
    package let knownModels: [String]
    private let settings: MockSettings

    package init(config: ProviderConfig) {
        self.name = config.name
        self.knownModels = config.models.isEmpty ? ["echo"] : config.models
        self.settings = MockSettings(config.settings)
    }

    package func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
        try await wait(settings.latencyMilliseconds)
        try failRandomly()
        let created = Self.created(for: request)
        let id = "chatcmpl-mock-\(call.requestID)"
        let usage = self.usage(request)
        let choices = (0..<max(1, request.n ?? 1)).map { index in
            if let toolCall = self.toolCall(for: request, index: index) {
                return ChatResponse.Choice(
                    index: index,
                    message: ChatMessage(role: .assistant, content: nil, toolCalls: [toolCall]),
                    finishReason: "tool_calls"
                )
            }
            return ChatResponse.Choice(
                index: index,
                message: ChatMessage(role: .assistant, content: .text(reply(to: request))),
                finishReason: "stop"
            )
        }
        return ChatResponse(id: id, created: created, model: request.model, choices: choices, usage: usage)
    }

    package func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
        try await wait(settings.latencyMilliseconds)
        try failRandomly()
        var chunks: [ChatChunk] = []
        let id = "chatcmpl-mock-\(call.requestID)"
        let created = Self.created(for: request)
        func chunk(_ delta: ChatDelta, finish: String? = nil) -> ChatChunk {
            ChatChunk(id: id, created: created, model: request.model, choices: [.init(index: 0, delta: delta, finishReason: finish)])
        }
        if let toolCall = toolCall(for: request, index: 0) {
            chunks.append(chunk(ChatDelta(role: .assistant, content: nil)))
            chunks.append(
                chunk(ChatDelta(toolCalls: [
                    ToolCallDelta(index: 0, id: toolCall.id, type: "function", function: .init(name: toolCall.function.name, arguments: ""))
                ]))
            )
            chunks.append(chunk(ChatDelta(toolCalls: [ToolCallDelta(index: 0, function: .init(arguments: "{}"))])))
            chunks.append(chunk(ChatDelta(), finish: "tool_calls"))
        } else {
            chunks.append(chunk(ChatDelta(role: .assistant, content: "")))
            for piece in Self.split(reply(to: request), into: settings.chunks) {
                chunks.append(chunk(ChatDelta(content: piece)))
            }
            chunks.append(chunk(ChatDelta(), finish: "stop"))
        }
        chunks.append(ChatChunk(id: id, created: created, model: request.model, choices: [], usage: usage(request)))
        let delay = settings.chunkDelayMilliseconds
        let prepared = chunks
        return ChatStream {
            MockChunkSource(chunks: prepared, delayMilliseconds: delay)
        }
    }

    package func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse {
        try await wait(settings.latencyMilliseconds)
        let dimensions = request.dimensions ?? 8
        let inputs: [String]
        switch request.input {
        case .text(let text): inputs = [text]
        case .texts(let texts): inputs = texts
        case .tokens(let tokens): inputs = [tokens.map(String.init).joined(separator: " ")]
        case .tokenBatches(let batches): inputs = batches.map { $0.map(String.init).joined(separator: " ") }
        }
        let base64 = request.encodingFormat == "base64"
        let data = inputs.enumerated().map { index, text in
            let vector = Self.vector(for: text, dimensions: dimensions)
            return EmbeddingsResponse.Item(index: index, embedding: base64 ? .base64(EmbeddingVectors.base64Float32(vector)) : .floats(vector))
        }
        let tokens = inputs.reduce(0) { $0 + TokenEstimator.estimate($1) }
        return EmbeddingsResponse(data: data, model: request.model, usage: .init(promptTokens: tokens, totalTokens: tokens))
    }

    private func reply(to request: ChatRequest) -> String {
        if let reply = settings.reply { return reply }
        let last = request.messages.last { $0.role == .user }?.content?.text ?? ""
        return last.isEmpty ? "Hello from the mock provider." : last
    }

    private func usage(_ request: ChatRequest) -> Usage {
        let completion = (0..<max(1, request.n ?? 1)).reduce(0) { total, index in
            if let call = toolCall(for: request, index: index) {
                return total + TokenEstimator.estimate(call.function.name) + 1
            }
            return total + TokenEstimator.estimate(reply(to: request))
        }
        return Usage(promptTokens: TokenEstimator.estimatePrompt(request.messages), completionTokens: completion)
    }

    private func toolCall(for request: ChatRequest, index: Int) -> ToolCall? {
        guard let tools = request.tools, !tools.isEmpty else { return nil }
        let name: String
        switch request.toolChoice {
        case .function(let named): name = named
        case .required: name = tools[0].function.name
        default: return nil
        }
        return ToolCall(id: "call_mock_\(index)", function: .init(name: name, arguments: "{}"))
    }

    /// With `failure_rate` set, fails that share of calls with `failure_status`, as a flaky provider would.
    private func failRandomly() throws {
        guard settings.failureRate > 0, Double.random(in: 0..<1) < settings.failureRate else { return }
        throw UpstreamError(
            .status(settings.failureStatus),
            provider: name,
            detail: "HTTP \(settings.failureStatus)",
            errorType: "mock_failure",
            retryAfterSeconds: settings.failureStatus == 429 ? 1 : nil
        )
    }

    private func wait(_ milliseconds: Int) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .milliseconds(milliseconds)) }
    }

    /// A stable timestamp so identical requests give identical answers.
    static func created(for request: ChatRequest) -> Int { 1_700_000_000 }

    static func split(_ text: String, into count: Int) -> [String] {
        let characters = Array(text)
        guard count > 1, characters.count > 1 else { return [text] }
        let size = max(1, (characters.count + count - 1) / count)
        return stride(from: 0, to: characters.count, by: size).map { start in
            String(characters[start..<min(start + size, characters.count)])
        }
    }

    /// A unit vector derived from the text's bytes (FNV-1a), the same on every run.
    static func vector(for text: String, dimensions: Int) -> [Double] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            state = (state ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        var values: [Double] = []
        values.reserveCapacity(dimensions)
        for _ in 0..<max(1, dimensions) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Double(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000)
        }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? values.map { $0 / norm } : values
    }
}

struct MockChunkSource: ChatChunkSource {
    let chunks: [ChatChunk]
    let delayMilliseconds: Int
    private var index = 0

    init(chunks: [ChatChunk], delayMilliseconds: Int) {
        self.chunks = chunks
        self.delayMilliseconds = delayMilliseconds
    }

    mutating func next() async throws -> ChatChunk? {
        guard index < chunks.count else { return nil }
        if index > 0, delayMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(delayMilliseconds))
        }
        defer { index += 1 }
        return chunks[index]
    }
}
