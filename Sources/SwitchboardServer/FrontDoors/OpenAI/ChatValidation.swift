import SwitchboardCore

/// Checks a decoded chat request for what JSON decoding alone cannot catch.
enum ChatValidation {
    static func validate(_ request: ChatRequest) throws(GatewayError) {
        guard !request.messages.isEmpty else {
            throw GatewayError.validation("`messages` must contain at least one message.", param: "messages")
        }
        try validateParameters(request)
        try validateMessages(request)
    }

    /// The sampling and length parameters alone (a call whose messages the gateway supplies).
    static func validateParameters(_ request: ChatRequest) throws(GatewayError) {
        if let temperature = request.temperature, !(0...2).contains(temperature) {
            throw GatewayError.validation("`temperature` must be between 0 and 2, not \(temperature).", param: "temperature")
        }
        if let topP = request.topP, !(0...1).contains(topP) {
            throw GatewayError.validation("`top_p` must be between 0 and 1, not \(topP).", param: "top_p")
        }
        if let n = request.n, n < 1 || n > 128 {
            throw GatewayError.validation("`n` must be between 1 and 128, not \(n).", param: "n")
        }
        if let maxTokens = request.maxTokens, maxTokens < 1 {
            throw GatewayError.validation("`max_tokens` must be at least 1, not \(maxTokens).", param: "max_tokens")
        }
        if let maxTokens = request.maxCompletionTokens, maxTokens < 1 {
            throw GatewayError.validation(
                "`max_completion_tokens` must be at least 1, not \(maxTokens).", param: "max_completion_tokens"
            )
        }
    }

    static func validateMessages(_ request: ChatRequest) throws(GatewayError) {
        for (index, message) in request.messages.enumerated() {
            switch message.role {
            case .tool:
                guard message.toolCallID != nil else {
                    throw GatewayError.validation(
                        "`messages[\(index)]` has role `tool` but no `tool_call_id`.", param: "messages[\(index)].tool_call_id"
                    )
                }
            case .user, .system, .developer:
                guard message.content != nil else {
                    throw GatewayError.validation(
                        "`messages[\(index)]` with role `\(message.role.rawValue)` needs `content`.",
                        param: "messages[\(index)].content"
                    )
                }
            case .assistant, .function:
                break
            }
        }
        if request.stream == false, request.streamOptions != nil {
            throw GatewayError.validation("`stream_options` is only allowed when `stream` is true.", param: "stream_options")
        }
    }
}
