package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI-style SSE (`data: {chunk}` … `data: [DONE]`) into core chunks, each keeping the
/// provider's bytes so an OpenAI-format client gets them unchanged; a value with no I/O.
package struct OpenAIStreamTranslator: StreamTranslator {
    let provider: String
    private let decoder = JSONDecoder()
    private var sawFinishReason = false
    package private(set) var isFinished = false

    package init(provider: String) {
        self.provider = provider
    }

    package mutating func translate(_ event: SSEEvent) throws(UpstreamError) -> [ChatChunk] {
        if event.data == "[DONE]" {
            isFinished = true
            return []
        }
        var chunk: ChatChunk
        do {
            chunk = try decoder.decode(ChatChunk.self, from: Data(event.data.utf8))
        } catch {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "a stream event is not a chat completion chunk")
        }
        // Data spread over several `data:` lines can't be re-sent as one line verbatim.
        if !event.data.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            chunk.upstreamBody = VerbatimBody(Array(event.data.utf8))
        }
        if event.event == "error" || chunk.extra["error"] != nil {
            let detail = chunk.extra["error"]
            throw UpstreamError(
                .streamInterrupted, provider: provider, detail: "the provider reported an error mid-stream",
                errorType: detail?["type"]?.stringValue, errorCode: detail?["code"]?.stringValue
            )
        }
        if chunk.choices.contains(where: { $0.finishReason != nil }) { sawFinishReason = true }
        return [chunk]
    }

    /// Some compatible servers close after the finish reason without `[DONE]`: that is an end, not a break.
    package mutating func bodyEnded() throws(UpstreamError) -> [ChatChunk] {
        guard isFinished || sawFinishReason else {
            throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream ended before [DONE]")
        }
        return []
    }
}
