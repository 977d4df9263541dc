import SwitchboardCore

/// A Responses request as the core's chat request: input items become messages, function tools
/// become tools, `text.format` the response format, `instructions` the call's system message.
/// Everything refused is refused here, with a message naming the field or item.
enum ResponsesInbound {
    /// What a request asks for, read once.
    struct Call: Sendable {
        var chat: ChatRequest
        var echo: Responses.Echo
        /// The messages the input adds (the instructions not among them).
        var input: [ChatMessage]
        /// Built-in tools and input items only a native upstream can take.
        var nativeOnly: [NativeResponses.Part] = []
    }

    static func call(from wire: Responses.Request, defaultMaxTokens: Int, now: Double) throws(GatewayError) -> Call {
        guard let model = wire.model, !model.isEmpty else {
            throw GatewayError.validation("Missing required parameter: 'model'.", param: "model")
        }
        guard let input = wire.input else {
            throw GatewayError.validation("Missing required parameter: 'input'.", param: "input")
        }
        if wire.previousResponseID != nil, wire.conversation != nil {
            throw GatewayError.validation(
                "`previous_response_id` and `conversation` cannot be used together: a conversation continues from its own last item.",
                param: "previous_response_id"
            )
        }
        if wire.background == true {
            guard wire.store != false else {
                throw GatewayError.validation("A `background` response must be stored: leave `store` unset or true.", param: "background")
            }
            guard wire.stream != true else {
                throw GatewayError.validation(
                    "`background` responses are not streamed here: create it without `stream`, then poll `GET /v1/responses/{id}`.", param: "stream"
                )
            }
        }
        if let temperature = wire.temperature, !(0...2).contains(temperature) {
            throw GatewayError.validation("`temperature` must be between 0 and 2.", param: "temperature")
        }
        if let topP = wire.topP, !(0...1).contains(topP) {
            throw GatewayError.validation("`top_p` must be between 0 and 1.", param: "top_p")
        }
        if let maxOutput = wire.maxOutputTokens, maxOutput < 16 {
            throw GatewayError.validation("`max_output_tokens` must be at least 16.", param: "max_output_tokens")
        }
        let truncation = wire.truncation ?? "disabled"
        guard truncation == "auto" || truncation == "disabled" else {
            throw GatewayError.validation("`truncation` must be `auto` or `disabled`.", param: "truncation")
        }
        let metadata = try Self.metadata(wire.metadata)
        let messages: [ChatMessage]
        var nativeOnly: [NativeResponses.Part] = []
        switch input {
        case .text(let text): messages = [ChatMessage(role: .user, content: .text(text))]
        case .items(let items):
            // Not stored, items of built-in tools can go to a native upstream as they are.
            let read = try Self.read(items, field: "input", keepingNativeOnly: wire.store == false)
            messages = read.messages
            nativeOnly = read.nativeOnly
        }
        if messages.isEmpty, nativeOnly.isEmpty {
            throw GatewayError.validation("`input` must contain at least one item.", param: "input")
        }
        let (tools, builtIn) = try Self.tools(wire.tools ?? [])
        nativeOnly = builtIn + nativeOnly
        var chat = ChatRequest(
            model: model, messages: (wire.instructions.map { [ChatMessage(role: .system, content: .text($0))] } ?? []) + messages,
            stream: wire.stream ?? false, temperature: wire.temperature, topP: wire.topP, maxCompletionTokens: wire.maxOutputTokens,
            tools: tools.isEmpty ? nil : tools, toolChoice: try Self.toolChoice(wire.toolChoice), responseFormat: try Self.responseFormat(wire.text),
            user: wire.user
        )
        // With no tools, `auto` and `none` say nothing; a call that must be made cannot be.
        if chat.tools == nil, builtIn.isEmpty, let choice = chat.toolChoice {
            guard choice == .auto || choice == ToolChoice.none else {
                throw GatewayError.validation("`tool_choice` needs `tools`.", param: "tool_choice")
            }
            chat.toolChoice = nil
        }
        if let parallel = wire.parallelToolCalls, chat.tools != nil { chat.extra["parallel_tool_calls"] = .bool(parallel) }
        if let effort = wire.reasoning?["effort"]?.stringValue {
            guard ["minimal", "low", "medium", "high"].contains(effort) else {
                throw GatewayError.validation("`reasoning.effort` must be `minimal`, `low`, `medium` or `high`.", param: "reasoning.effort")
            }
            // OpenAI-format upstreams take the effort as it is; Anthropic ones think within a budget.
            chat.extra["reasoning_effort"] = .string(effort)
            let budget = ["minimal": 1024, "low": 1024, "medium": 4096, "high": 16384][effort] ?? 1024
            let ceiling = (wire.maxOutputTokens ?? defaultMaxTokens) - 1
            if ceiling >= 1024 {
                chat.gatewayExtensions.anthropicThinking = ["type": "enabled", "budget_tokens": .integer(Int64(min(budget, ceiling)))]
            }
        }
        chat.gatewayExtensions.metadata = metadata.isEmpty ? nil : .object(metadata.mapValues(JSONValue.string))
        let echo = Responses.Echo(
            instructions: wire.instructions, metadata: metadata, previousResponseID: wire.previousResponseID, conversationID: wire.conversation?.id,
            temperature: wire.temperature, topP: wire.topP, maxOutputTokens: wire.maxOutputTokens, toolChoice: wire.toolChoice ?? "auto",
            tools: wire.tools ?? [], parallelToolCalls: wire.parallelToolCalls ?? true, text: wire.text ?? ["format": ["type": "text"]],
            reasoning: ["effort": wire.reasoning?["effort"] ?? .null, "summary": wire.reasoning?["summary"] ?? .null],
            truncation: truncation, user: wire.user, store: wire.store ?? true, inputCount: messages.count, createdAt: now,
            background: wire.background == true ? true : nil
        )
        return Call(chat: chat, echo: echo, input: messages, nativeOnly: nativeOnly)
    }

    /// `metadata`: at most 16 pairs, keys up to 64 characters, string values up to 512.
    static func metadata(_ value: JSONValue?) throws(GatewayError) -> [String: String] {
        guard let value, value != .null else { return [:] }
        guard let object = value.objectValue else {
            throw GatewayError.validation("`metadata` must be an object of string values.", param: "metadata")
        }
        guard object.count <= 16 else {
            throw GatewayError.validation("`metadata` can hold at most 16 pairs; it has \(object.count).", param: "metadata")
        }
        var pairs: [String: String] = [:]
        for (key, item) in object {
            guard key.count <= 64 else {
                throw GatewayError.validation("`metadata` keys can be at most 64 characters.", param: "metadata")
            }
            guard let text = item.stringValue else {
                throw GatewayError.validation("`metadata.\(key)` must be a string.", param: "metadata")
            }
            guard text.count <= 512 else {
                throw GatewayError.validation("`metadata.\(key)` can be at most 512 characters.", param: "metadata")
            }
            pairs[key] = text
        }
        return pairs
    }

    /// Input items as messages: a function call joins the assistant message before it; a
    /// reasoning item is dropped (its text, or its encrypted content, only an OpenAI model can take).
    static func messages(from items: [JSONValue], field: String = "input") throws(GatewayError) -> [ChatMessage] {
        try read(items, field: field, keepingNativeOnly: false).messages
    }

    /// The same, with items of other types kept aside (for a native upstream) instead of refused when asked.
    static func read(
        _ items: [JSONValue], field: String, keepingNativeOnly: Bool
    ) throws(GatewayError) -> (messages: [ChatMessage], nativeOnly: [NativeResponses.Part]) {
        var messages: [ChatMessage] = []
        var nativeOnly: [NativeResponses.Part] = []
        for (index, item) in items.enumerated() {
            let param = "\(field)[\(index)]"
            guard let object = item.objectValue else {
                throw GatewayError.validation("`\(param)` must be an object.", param: param)
            }
            let type = object["type"]?.stringValue ?? (object["role"] != nil ? "message" : "")
            switch type {
            case "message":
                messages.append(try Self.message(object, param: param))
            case "function_call":
                guard let callID = object["call_id"]?.stringValue, let name = object["name"]?.stringValue else {
                    throw GatewayError.validation("`\(param)`: a `function_call` needs `call_id` and `name`.", param: param)
                }
                let call = ToolCall(id: callID, function: .init(name: name, arguments: object["arguments"]?.stringValue ?? "{}"))
                if var last = messages.last, last.role == .assistant, last.toolCallID == nil {
                    last.toolCalls = (last.toolCalls ?? []) + [call]
                    messages[messages.count - 1] = last
                } else {
                    messages.append(ChatMessage(role: .assistant, content: nil, toolCalls: [call]))
                }
            case "function_call_output":
                guard let callID = object["call_id"]?.stringValue else {
                    throw GatewayError.validation("`\(param)`: a `function_call_output` needs `call_id`.", param: param)
                }
                let output: String
                switch object["output"] {
                case .string(let text)?: output = text
                case .array(let parts)?: output = parts.compactMap { $0["text"]?.stringValue }.joined()
                default: throw GatewayError.validation("`\(param).output` must be a string or a list of parts.", param: param)
                }
                messages.append(ChatMessage(role: .tool, content: .text(output), toolCallID: callID))
            case "reasoning":
                continue
            case "":
                throw GatewayError.validation("`\(param)` needs a `type`.", param: param)
            case let other where keepingNativeOnly:
                nativeOnly.append(NativeResponses.Part(name: "input item `\(other)`", param: param))
            default:
                throw GatewayError.validation(
                    "`\(param)`: input items of type `\(type)` are not supported; send messages, `function_call`, `function_call_output` or `reasoning` items.",
                    param: param
                )
            }
        }
        return (messages, nativeOnly)
    }

    private static func message(_ object: [String: JSONValue], param: String) throws(GatewayError) -> ChatMessage {
        let roleName = object["role"]?.stringValue ?? ""
        let role: ChatRole
        switch roleName {
        case "user": role = .user
        case "assistant": role = .assistant
        case "system": role = .system
        case "developer": role = .developer
        case "tool":
            throw GatewayError.validation(
                "`\(param).role`: `tool` is not a Responses role; send the tool's answer as a `function_call_output` item with its `call_id`.",
                param: "\(param).role"
            )
        default:
            throw GatewayError.validation(
                "`\(param).role` must be `user`, `assistant`, `system` or `developer`.", param: "\(param).role"
            )
        }
        switch object["content"] {
        case .string(let text)?:
            return ChatMessage(role: role, content: .text(text))
        case .array(let parts)?:
            var converted: [ContentPart] = []
            for (index, part) in parts.enumerated() {
                converted.append(try Self.part(part, param: "\(param).content[\(index)]"))
            }
            if converted.allSatisfy({ if case .text = $0 { return true } else { return false } }) {
                return ChatMessage(role: role, content: .text(converted.map { if case .text(let text) = $0 { return text } else { return "" } }.joined()))
            }
            return ChatMessage(role: role, content: .parts(converted))
        default:
            throw GatewayError.validation("`\(param).content` must be a string or a list of content parts.", param: "\(param).content")
        }
    }

    private static func part(_ part: JSONValue, param: String) throws(GatewayError) -> ContentPart {
        switch part["type"]?.stringValue {
        case "input_text"?, "output_text"?, "text"?:
            guard let text = part["text"]?.stringValue else {
                throw GatewayError.validation("`\(param).text` must be a string.", param: param)
            }
            return .text(text)
        case "refusal"?:
            return .text(part["refusal"]?.stringValue ?? "")
        case "input_image"?:
            guard let url = part["image_url"]?.stringValue else {
                throw GatewayError.validation(
                    "`\(param)`: an `input_image` needs an `image_url` (a URL or a data URL); uploaded `file_id`s are not kept here.",
                    param: param
                )
            }
            return .imageURL(url: url, detail: part["detail"]?.stringValue)
        case "input_file"?:
            var file: [String: JSONValue] = [:]
            for key in ["file_data", "file_id", "filename"] { if let value = part[key] { file[key] = value } }
            guard file["file_data"] != nil || file["file_id"] != nil else {
                throw GatewayError.validation("`\(param)`: an `input_file` needs `file_data` or `file_id`.", param: param)
            }
            return .other(["type": "file", "file": .object(file)])
        case let type?:
            throw GatewayError.validation("`\(param)`: content parts of type `\(type)` are not supported.", param: param)
        case nil:
            throw GatewayError.validation("`\(param)` needs a `type`.", param: param)
        }
    }

    /// Function tools, and the built-in tools (web search, file search, …) named, which only a
    /// native upstream (OpenAI's own Responses API) can run.
    static func tools(_ tools: [JSONValue]) throws(GatewayError) -> (tools: [Tool], builtIn: [NativeResponses.Part]) {
        var converted: [Tool] = []
        var builtIn: [NativeResponses.Part] = []
        for (index, tool) in tools.enumerated() {
            let type = tool["type"]?.stringValue ?? ""
            guard !type.isEmpty else { throw GatewayError.validation("`tools[\(index)]` needs a `type`.", param: "tools[\(index)]") }
            guard type == "function" else {
                builtIn.append(NativeResponses.Part(name: "tool `\(type)`", param: "tools[\(index)]"))
                continue
            }
            guard let name = tool["name"]?.stringValue, !name.isEmpty else {
                throw GatewayError.validation("`tools[\(index)].name` is required.", param: "tools[\(index)].name")
            }
            converted.append(Tool(function: .init(
                name: name, description: tool["description"]?.stringValue, parameters: tool["parameters"], strict: tool["strict"]?.boolValue
            )))
        }
        return (converted, builtIn)
    }

    static func toolChoice(_ value: JSONValue?) throws(GatewayError) -> ToolChoice? {
        switch value {
        case nil, .null?: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object(let object)? where object["type"]?.stringValue == "function":
            guard let name = object["name"]?.stringValue else {
                throw GatewayError.validation("`tool_choice.name` is required for a function.", param: "tool_choice")
            }
            return .function(name: name)
        case .object(let object)? where object["type"]?.stringValue.map({ !$0.isEmpty && $0 != "function" }) == true:
            // A built-in tool (or `allowed_tools`): for a native upstream, which reads it from the body.
            return nil
        default:
            throw GatewayError.validation("`tool_choice` must be `auto`, `none`, `required` or `{\"type\": \"function\", \"name\": …}`.", param: "tool_choice")
        }
    }

    /// `text.format` as chat's `response_format`.
    static func responseFormat(_ text: JSONValue?) throws(GatewayError) -> JSONValue? {
        guard let format = text?["format"], format != .null else { return nil }
        switch format["type"]?.stringValue {
        case "text"?: return nil
        case "json_object"?: return ["type": "json_object"]
        case "json_schema"?:
            guard let name = format["name"]?.stringValue, let schema = format["schema"] else {
                throw GatewayError.validation("`text.format` of type `json_schema` needs `name` and `schema`.", param: "text.format")
            }
            var inner: [String: JSONValue] = ["name": .string(name), "schema": schema]
            if let strict = format["strict"] { inner["strict"] = strict }
            if let description = format["description"] { inner["description"] = description }
            return ["type": "json_schema", "json_schema": .object(inner)]
        default:
            throw GatewayError.validation("`text.format.type` must be `text`, `json_object` or `json_schema`.", param: "text.format")
        }
    }
}
