import SwitchboardCore

/// Core answers as Responses objects: for a fresh answer, for a stored one read back, and a
/// stored turn's input as `input_items`. Item ids come from the answer's id, so an answer read
/// back has the ids it was sent with.
enum ResponsesOutbound {
    /// `resp_…` for an answer message id; the message id for a response id (nil: not one of ours).
    static func responseID(forMessage id: String) -> String { "resp_" + id }

    static func messageID(forResponse id: String) -> String? {
        guard id.hasPrefix("resp_"), id.count > 5 else { return nil }
        return String(id.dropFirst(5))
    }

    /// The output items of an answer: its reasoning, its text, its function calls. An answer
    /// with none of them is one empty message.
    static func output(of message: ChatMessage, base: String, status: String) -> [Responses.OutputItem] {
        if case .array(let native)? = message.extra[NativeResponses.outputField] {
            return nativeItems(native, base: base).map { Responses.OutputItem.native(id: $0.id, item: $0.item) }
        }
        var items: [Responses.OutputItem] = []
        if let reasoning = message.extra["reasoning_content"]?.stringValue, !reasoning.isEmpty {
            items.append(.reasoning(id: "rs_" + base, summary: reasoning))
        }
        let text = message.content?.text ?? ""
        let calls = message.toolCalls ?? []
        if !text.isEmpty || (calls.isEmpty && items.isEmpty) {
            items.append(.message(id: "msg_" + base, role: "assistant", status: status, text: text, input: false))
        }
        for (index, call) in calls.enumerated() {
            let callID = call.id.isEmpty ? ConversationIDs.callID(answer: base, index: index) : call.id
            items.append(.functionCall(
                id: functionCallItemID(base: base, callID: callID), callID: callID, name: call.function.name, arguments: call.function.arguments,
                status: status
            ))
        }
        return items
    }

    /// A native upstream's output items under this gateway's ids — its message, reasoning and
    /// function call items named as a bridged answer's are (so they read back, and are found by
    /// the Conversations API, alike); a built-in tool's item keeps the upstream's id.
    static func nativeItems(_ items: [JSONValue], base: String) -> [(id: String, item: JSONValue)] {
        var seen: [String: Int] = [:]
        return items.map { item in
            guard case .object(var fields) = item else { return ("", item) }
            let type = fields["type"]?.stringValue ?? ""
            let ordinal = seen[type, default: 0]
            seen[type] = ordinal + 1
            let suffix = ordinal == 0 ? "" : "_\(ordinal)"
            let id: String
            switch type {
            case "message": id = "msg_" + base + suffix
            case "reasoning": id = "rs_" + base + suffix
            case "function_call": id = functionCallItemID(base: base, callID: fields["call_id"]?.stringValue ?? "")
            default: return (fields["id"]?.stringValue ?? "", item)
            }
            fields["id"] = .string(id)
            return (id, .object(fields))
        }
    }

    /// A function call item's id: its answer's and its call id, so it stays the same when
    /// another call of the answer is deleted.
    static func functionCallItemID(base: String, callID: String) -> String { "fc_\(base)_\(callID)" }

    /// What `status` and `incomplete_details.reason` a finish reason makes; an answer that
    /// broke off before its end (`incomplete`) failed.
    static func status(finishReason: String?, incomplete: Bool) -> (status: String, reason: String?) {
        switch finishReason {
        case "length"?: return ("incomplete", "max_output_tokens")
        case "content_filter"?: return ("incomplete", "content_filter")
        default: return incomplete ? ("failed", nil) : ("completed", nil)
        }
    }

    /// The `error` of a stored answer that broke off.
    static let brokeOff = Responses.ErrorInfo(code: "server_error", message: "The answer broke off before it was complete.")

    static func object(id: String, answer: ChatAnswer, echo: Responses.Echo) -> Responses.Object {
        let choice = answer.response.choices.first
        let (status, reason) = Self.status(finishReason: choice?.finishReason, incomplete: false)
        let message = choice?.message ?? ChatMessage(role: .assistant, content: .text(""))
        return Responses.Object(
            id: id, createdAt: echo.createdAt, status: status, model: answer.servedBy.model,
            output: output(of: message, base: String(id.dropFirst(5)), status: status == "completed" ? "completed" : "incomplete"),
            usage: Responses.Usage(answer.usage), incompleteReason: reason, echo: echo
        )
    }

    /// A stored answer read back.
    static func object(stored: StoredMessage, echo: Responses.Echo) -> Responses.Object {
        let (status, reason) = Self.status(finishReason: echo.finishReason, incomplete: stored.incomplete)
        let prompt = stored.promptTokens ?? 0
        let completion = stored.completionTokens ?? 0
        var object = Responses.Object(
            id: responseID(forMessage: stored.id), createdAt: echo.createdAt > 0 ? echo.createdAt : stored.createdAt, status: status, model: stored.model ?? "",
            output: output(of: stored.message, base: stored.id, status: status == "completed" ? "completed" : "incomplete"),
            usage: Responses.Usage(Usage(promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion)),
            incompleteReason: reason, echo: echo
        )
        if status == "failed" { object.error = brokeOff }
        return object
    }

    /// One stored input message as the items it was (a message, function calls, a call's output).
    static func inputItems(of stored: StoredMessage) -> [Responses.OutputItem] {
        let message = stored.message
        switch message.role {
        case .tool:
            return [.functionCallOutput(id: "fco_" + stored.id, callID: message.toolCallID ?? "", output: message.content?.text ?? "")]
        case .assistant:
            return output(of: message, base: stored.id, status: "completed")
        default:
            return [.message(id: "msg_" + stored.id, role: message.role.rawValue, status: "completed", text: message.content?.text ?? "", input: true)]
        }
    }

}
