package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Gemini's SSE (`data: {GenerateContentResponse}` until the connection closes) into core
/// chunks; a value with no I/O. A role chunk first; thought text as `reasoning_content`; text;
/// each function call as a whole tool call; the finish reason; at the end of the body a usage
/// chunk with the last usage reported. A stream that closes without a finish reason broke off.
package struct GeminiStreamTranslator: StreamTranslator {
    let provider: String
    let model: String
    let created: Int
    private let decoder = JSONDecoder()
    private var id = ""
    private var started = false
    private var finishedReason = false
    private var toolCalls = 0
    private var usage: Usage?

    /// Gemini has no terminator event: the body is read to its end.
    package var isFinished: Bool { false }

    package init(provider: String, model: String, created: Int) {
        self.provider = provider
        self.model = model
        self.created = created
    }

    package mutating func translate(_ event: SSEEvent) throws(UpstreamError) -> [ChatChunk] {
        let body: Gemini.Response
        do {
            body = try decoder.decode(Gemini.Response.self, from: Data(event.data.utf8))
        } catch {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "a stream event is not valid JSON")
        }
        if let error = body.error {
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the provider reported an error mid-stream", errorType: error.status)
        }
        if let blocked = GeminiTranslation.blocked(body, provider: provider) { throw blocked }
        return chunks(for: body)
    }

    package func bodyEnded() throws(UpstreamError) -> [ChatChunk] {
        guard finishedReason else {
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended without a finish reason")
        }
        return [ChatChunk(id: id, created: created, model: model, choices: [], usage: usage)]
    }

    private func chunk(_ delta: ChatDelta, finish: String? = nil) -> ChatChunk {
        ChatChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: delta, finishReason: finish)])
    }

    private mutating func chunks(for body: Gemini.Response) -> [ChatChunk] {
        var chunks: [ChatChunk] = []
        if id.isEmpty { id = body.responseId ?? "gemini-\(created)" }
        if let value = GeminiTranslation.usage(body.usageMetadata) { usage = value }
        if !started {
            started = true
            chunks.append(chunk(ChatDelta(role: .assistant, content: "")))
        }
        guard let candidate = body.candidates?.first else { return chunks }
        let parsed = GeminiTranslation.message(from: candidate.content, callIndexBase: toolCalls, idPrefix: id)
        if !parsed.reasoning.isEmpty { chunks.append(chunk(ChatDelta(extra: ["reasoning_content": .string(parsed.reasoning)]))) }
        if !parsed.text.isEmpty { chunks.append(chunk(ChatDelta(content: parsed.text))) }
        for call in parsed.calls {
            chunks.append(chunk(ChatDelta(toolCalls: [
                ToolCallDelta(index: toolCalls, id: call.id, type: "function", function: .init(name: call.function.name, arguments: call.function.arguments))
            ])))
            toolCalls += 1
        }
        if let reason = candidate.finishReason {
            finishedReason = true
            chunks.append(chunk(ChatDelta(), finish: GeminiTranslation.finishReason(reason, hasToolCalls: toolCalls > 0)))
        }
        return chunks
    }
}
