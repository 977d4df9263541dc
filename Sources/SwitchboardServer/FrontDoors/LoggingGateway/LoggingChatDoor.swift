import Hummingbird
import NIOCore
import SwitchboardCore

/// The logging gateway's `POST /chat` (seed 003): every turn, its messages and tool calls are
/// stored in the caller's conversation.
///
/// `{conversation_id?, message, messages?, tools?, system_prompt?, provider?, model?}` →
/// `{conversation_id, message_id, content, tool_calls, thoughts, sources}`. A client-chosen
/// `conversation_id` (`test-123`) is created on first use. With `messages` the client keeps
/// the history and it is the call's context; without, the stored path is. A `tool` message
/// answering a stored tool call fills in that call's `result`.
struct LoggingChatDoor: ChatFrontDoor {
    let catalog: ModelCatalog
    let settings: ConversationsConfig

    struct Wire: Decodable {
        var conversationID: String?
        var message: String?
        var messages: [ChatMessage]?
        var tools: [Tool]?
        var toolChoice: ToolChoice?
        var systemPrompt: String?
        var provider: String?
        var model: String?
        var temperature: Double?
        var maxTokens: Int?

        enum CodingKeys: String, CodingKey {
            case message, messages, tools, provider, model, temperature
            case conversationID = "conversation_id"
            case toolChoice = "tool_choice"
            case systemPrompt = "system_prompt"
            case maxTokens = "max_tokens"
        }
    }

    struct Answer: Encodable {
        var conversationID: String?
        var messageID: String?
        var content: String
        var toolCalls: [ToolCall]
        var thoughts: [String]
        var sources: [JSONValue]

        enum CodingKeys: String, CodingKey {
            case content, thoughts, sources
            case conversationID = "conversation_id"
            case messageID = "message_id"
            case toolCalls = "tool_calls"
        }
    }

    func chatRequest(from wire: Wire, request: Request) throws(GatewayError) -> ChatRequest {
        let history = wire.messages ?? []
        // No `message`: the history's last user message is the turn's.
        let text = wire.message ?? (history.last?.role == .user ? history.last?.content?.text : nil) ?? ""
        guard !text.isEmpty || history.contains(where: { $0.role == .tool }) else {
            throw GatewayError.validation("`message` (the user's text) is required.", param: "message")
        }
        var newMessages: [ChatMessage] = []
        if !text.isEmpty {
            newMessages.append(ChatMessage(role: .user, content: .text(text)))
        } else {
            // Only tool answers: they are the turn.
            newMessages = Array(history.reversed().prefix { $0.role == .tool }.reversed())
        }
        var toolResults: [String: String] = [:]
        for message in history where message.role == .tool {
            if let id = message.toolCallID { toolResults[id] = message.content?.text ?? "" }
        }
        var context: ConversationTurn.Context = .stored
        var messages = newMessages
        if !history.isEmpty {
            context = .client
            messages = history
            if !text.isEmpty, history.last?.role != .user || history.last?.content?.text != text {
                messages.append(ChatMessage(role: .user, content: .text(text)))
            }
            if let system = wire.systemPrompt, !messages.contains(where: { $0.role == .system }) {
                messages.insert(ChatMessage(role: .system, content: .text(system)), at: 0)
            }
        }
        var chat = ChatRequest(model: try model(for: wire), messages: messages, temperature: wire.temperature, maxTokens: wire.maxTokens, tools: wire.tools,
            toolChoice: wire.toolChoice
        )
        var turn = ConversationTurn(
            conversationID: wire.conversationID.flatMap { $0.isEmpty ? nil : $0 }, newMessages: newMessages, context: context,
            createIfMissing: true, systemPrompt: wire.systemPrompt
        )
        turn.toolResults = toolResults
        chat.gatewayExtensions.conversation = turn
        try ChatValidation.validate(chat)
        return chat
    }

    /// `model` (with `provider`: that provider's), else `DEFAULT_MODEL`, else the first model on
    /// the provider (`provider`, or `DEFAULT_PROVIDER`); the seed's `google` means Gemini.
    func model(for wire: Wire) throws(GatewayError) -> String {
        var provider = wire.provider.flatMap { $0.isEmpty ? nil : $0 } ?? settings.defaultProvider
        if provider == "google", catalog.provider(named: "google") == nil, catalog.provider(named: "gemini") != nil { provider = "gemini" }
        if let model = wire.model, !model.isEmpty {
            guard let provider, wire.provider != nil else { return model }
            return "\(provider)/\(model)"
        }
        if let model = settings.defaultModel { return model }
        if let provider {
            guard let model = catalog.firstModel(onProvider: provider) else {
                throw GatewayError.validation(
                    "No model is configured on provider `\(provider)`: name a `model`, or set DEFAULT_MODEL.", param: "model"
                )
            }
            return model
        }
        guard let first = catalog.modelNames.first else {
            throw GatewayError.validation("Name a `model` (or a `provider`), or set DEFAULT_MODEL.", param: "model")
        }
        return first
    }

    func model(of wire: Wire) -> String { (try? model(for: wire)) ?? wire.model ?? "" }

    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        let message = answer.response.choices.first?.message
        var thoughts: [String] = []
        if let reasoning = message?.extra["reasoning_content"]?.stringValue, !reasoning.isEmpty { thoughts.append(reasoning) }
        var sources: [JSONValue] = []
        if case .array(let citations)? = answer.response.extra["citations"] { sources += citations }
        if case .array(let annotations)? = message?.extra["annotations"] { sources += annotations }
        return try JSONBody.encode(Answer(
            conversationID: answer.notes.conversation?.conversationID, messageID: answer.notes.conversation?.messageID,
            content: message?.content?.text ?? "", toolCalls: message?.toolCalls ?? [], thoughts: thoughts, sources: sources
        ))
    }

    /// `/chat` has no streaming; a stream is never asked for.
    func chunkEncoder(for stream: CallStream, call: ModelCall) -> OpenAIChunkEncoder {
        OpenAIChunkEncoder(includeUsage: stream.clientWantsUsage)
    }

    func adjust(_ error: GatewayError, wire: Wire?) -> GatewayError {
        var error = error
        if error.provider == nil { error.provider = wire?.provider }
        return error
    }
}

/// `GET /conversations` and `GET /conversations/{id}` (seed 003's monitoring views), across
/// owners: behind `read_usage` (viewers and admins), unlike the seed.
struct ConversationLogController: Sendable {
    typealias Context = AuthenticatedContext

    let store: any ConversationStore
    let journal: any ConversationJournal

    /// On the `/conversations` group.
    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.get(":id", use: show)
    }

    @Sendable func list(request: Request, context: Context) async throws -> Response {
        let limit = try ConversationsController.limit(request, default: 50, maximum: 1000)
        let found = try await StoreAccess.run { try await store.conversations(ConversationQuery(owner: nil, limit: limit)) }
        return try AdminController.json(PageView(data: found.map(ConversationView.init), hasMore: false))
    }

    struct DetailView: Encodable {
        struct ToolCallView: Encodable {
            var id: String
            var messageID: String
            var toolName: String
            var arguments: String
            var result: String?
            var timestamp: Double

            enum CodingKeys: String, CodingKey {
                case id, arguments, result, timestamp
                case messageID = "message_id"
                case toolName = "tool_name"
            }
        }

        var conversation: ConversationView
        var messages: [MessageView]
        var toolCalls: [ToolCallView]

        enum CodingKeys: String, CodingKey {
            case conversation, messages
            case toolCalls = "tool_calls"
        }
    }

    @Sendable func show(request: Request, context: Context) async throws -> Response {
        let id = try ConversationsController.parameter("id", context)
        var query = ConversationQuery(owner: nil, limit: 1)
        query.id = id
        guard let found = try await StoreAccess.run({ [query] in try await store.conversations(query) }).first else {
            throw ConversationStage.unknownConversation(id)
        }
        await journal.settled(owner: found.owner, conversationID: id)
        let messages = try await StoreAccess.run { try await store.messages(owner: found.owner, conversationID: id) }
        let calls = try await StoreAccess.run { try await store.toolCalls(owner: found.owner, conversationID: id) }
        return try AdminController.json(DetailView(
            conversation: ConversationView(found), messages: messages.map { MessageView($0) },
            toolCalls: calls.map {
                DetailView.ToolCallView(
                    id: $0.callID, messageID: $0.messageID, toolName: $0.toolName, arguments: $0.arguments, result: $0.result, timestamp: $0.timestamp
                )
            }
        ))
    }
}
