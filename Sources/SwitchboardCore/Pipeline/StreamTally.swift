/// Counts what passed through a stream, so usage is known even when the provider never reported it.
package struct StreamTally: Sendable {
    private let promptEstimate: Int
    private var completionBytes = 0
    /// The provider's own usage, when its final chunk carried it.
    package private(set) var reportedUsage: Usage?

    package init(request: ChatRequest) {
        self.promptEstimate = TokenEstimator.estimatePrompt(request.messages)
    }

    package mutating func observe(_ chunk: ChatChunk) {
        if let usage = chunk.usage { reportedUsage = usage }
        for choice in chunk.choices {
            completionBytes += choice.delta.content?.utf8.count ?? 0
            for call in choice.delta.toolCalls ?? [] {
                completionBytes += call.function?.arguments?.utf8.count ?? 0
            }
        }
    }

    /// The provider's usage, or the prompt's estimate and ~4 bytes a token of what was streamed.
    package var usage: Usage {
        if let reportedUsage { return reportedUsage }
        return Usage(promptTokens: promptEstimate, completionTokens: completionBytes == 0 ? 0 : max(1, (completionBytes + 3) / 4))
    }
}
