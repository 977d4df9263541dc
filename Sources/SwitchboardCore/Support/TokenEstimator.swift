/// A provider-independent token estimate: about four bytes of UTF-8 per token.
///
/// Used only when a provider reports no usage (a stream the client cut short, the mock provider);
/// such records are marked as estimated.
package enum TokenEstimator {
    package static func estimate(_ text: String) -> Int {
        let bytes = text.utf8.count
        return bytes == 0 ? 0 : max(1, (bytes + 3) / 4)
    }

    package static func estimatePrompt(_ messages: [ChatMessage]) -> Int {
        var total = 0
        for message in messages {
            // Each message carries a few tokens of framing (role, separators).
            total += 4
            if let content = message.content { total += estimate(content.text) }
            for call in message.toolCalls ?? [] {
                total += estimate(call.function.name) + estimate(call.function.arguments)
            }
        }
        return total
    }
}
