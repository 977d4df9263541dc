import Hummingbird
import SwitchboardCore

/// The Conversations API's items: a conversation's items are the messages of its active branch
/// as Responses items (a message, a reasoning summary, function calls, function call outputs),
/// with the ids `GET /v1/responses/{id}/input_items` gives them. Adding items appends them at
/// the active branch's head; deleting one takes its message out of the tree.
extension ConversationsController {
    struct ItemsBody: Decodable {
        var items: [JSONValue]
    }

    /// Items as messages, at most 20, every function call output answering a call among them
    /// or in `earlier`.
    static func messages(fromItems items: [JSONValue], after earlier: [ChatMessage] = []) throws(GatewayError) -> [ChatMessage] {
        guard items.count <= 20 else {
            throw GatewayError.validation("`items` can hold at most 20 items at a time; it has \(items.count).", param: "items")
        }
        let messages = try ResponsesInbound.messages(from: items, field: "items")
        if let callID = ChatMessage.unansweredToolOutput(in: messages, after: earlier) {
            throw GatewayError.validation("No tool call found for function call output with call_id \(callID).", param: "items")
        }
        return messages
    }

    /// The active branch's messages with their items, oldest first.
    func items(of conversation: Conversation, _ owner: String) async throws(GatewayError) -> [(message: StoredMessage, items: [Responses.OutputItem])] {
        let (active, _) = try await branch(conversation, owner, id: conversation.activeBranchID)
        return try await path(active, owner).map { ($0, ResponsesOutbound.inputItems(of: $0)) }
    }

    @Sendable func listItems(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        let all = try await items(of: found, owner).flatMap(\.items)
        metrics.count(.read)
        return try JSONBody.response(try ResponsesController.page(all, request, of: "this conversation"))
    }

    @Sendable func addItems(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        let body = try await bodyReader.decode(ItemsBody.self, from: request)
        guard !body.items.isEmpty else { throw GatewayError.validation("`items` must hold at least one item.", param: "items") }
        let found = try await conversation(owner, context)
        let earlier = try await items(of: found, owner).map(\.message.message)
        let messages = try Self.messages(fromItems: body.items, after: earlier)
        guard !messages.isEmpty else {
            throw GatewayError.validation("`items` holds only `reasoning` items, which are not kept here: add a message or a function call.", param: "items")
        }
        let turn = ConversationTurn(conversationID: found.id, newMessages: messages)
        let stored = try await stage.store(turn, principal: context.principal)
        metrics.count(.append)
        let added = stored.messages.flatMap(ResponsesOutbound.inputItems(of:))
        return try JSONBody.response(Responses.ItemList(data: added, first_id: added.first?.id, last_id: added.last?.id, has_more: false))
    }

    @Sendable func showItem(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        let (_, item) = try await item(in: found, owner, context)
        metrics.count(.read)
        return try JSONBody.response(item)
    }

    /// Takes the item out of the conversation and answers the conversation. An item is all or
    /// part of one stored message: a message alone in its message goes with it (its place in the
    /// tree closes up); one of several (an answer's text, reasoning or one of its function calls)
    /// is cut from it. A function call goes with the outputs that answer it.
    @Sendable func deleteItem(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        let found = try await conversation(owner, context)
        let (stored, item) = try await item(in: found, owner, context)
        var remove: [String] = []
        var rewrite: [String: ChatMessage] = [:]
        var droppedCalls: Set<String> = []
        if ResponsesOutbound.inputItems(of: stored).count == 1 {
            remove.append(stored.id)
            droppedCalls.formUnion((stored.message.toolCalls ?? []).map(\.id))
        } else {
            var message = stored.message
            switch item {
            case .reasoning: message.extra["reasoning_content"] = nil
            case .message: message.content = nil
            case .functionCall(_, let callID, _, _, _):
                message.toolCalls?.removeAll { $0.id == callID }
                if message.toolCalls?.isEmpty == true { message.toolCalls = nil }
                droppedCalls.insert(callID)
            case .functionCallOutput: break
            case .native(let id, let native):
                // A native answer: the item leaves its output items, and what it was leaves the message.
                let raw = message.extra[NativeResponses.outputField]?.arrayValue ?? []
                let named = ResponsesOutbound.nativeItems(raw, base: stored.id)
                message.extra[NativeResponses.outputField] = .array(zip(raw, named).filter { $0.1.id != id }.map(\.0))
                switch native["type"]?.stringValue {
                case "message"?: message.content = nil
                case "reasoning"?: message.extra["reasoning_content"] = nil
                case "function_call"?:
                    let callID = native["call_id"]?.stringValue ?? ""
                    message.toolCalls?.removeAll { $0.id == callID }
                    if message.toolCalls?.isEmpty == true { message.toolCalls = nil }
                    droppedCalls.insert(callID)
                default: break
                }
            }
            rewrite[stored.id] = message
        }
        if !droppedCalls.isEmpty {
            // The outputs answering the call are below it; another branch's same call id is its own.
            let all = try await StoreAccess.run { try await store.messages(owner: owner, conversationID: found.id) }
            let below = Self.descendants(of: stored.id, in: all)
            remove += all.filter { below.contains($0.id) && $0.message.role == .tool && droppedCalls.contains($0.message.toolCallID ?? "") }.map(\.id)
        }
        let removed = try await StoreAccess.run { [remove, rewrite] in
            try await store.removeMessages(owner: owner, conversationID: found.id, ids: remove, rewrite: rewrite)
        }
        guard removed, let after = try await StoreAccess.run({ try await store.conversation(owner: owner, id: found.id) }) else {
            throw ConversationStage.unknownConversation(found.id)
        }
        metrics.count(.update)
        return try AdminController.json(ConversationView(after))
    }

    /// The ids of the messages below `id` in the tree.
    static func descendants(of id: String, in messages: [StoredMessage]) -> Set<String> {
        var children: [String: [String]] = [:]
        for message in messages {
            if let parent = message.parentID { children[parent, default: []].append(message.id) }
        }
        var found: Set<String> = []
        var pending = children[id] ?? []
        while let next = pending.popLast() {
            guard found.insert(next).inserted else { continue }
            pending += children[next] ?? []
        }
        return found
    }

    /// The item the path names, with its message; any message of the conversation's tree.
    private func item(in conversation: Conversation, _ owner: String, _ context: Context) async throws(GatewayError) -> (StoredMessage, Responses.OutputItem) {
        let id = try Self.parameter("item", context)
        let notFound = GatewayError(.notFound, "Item with id '\(id)' not found.", param: "item_id")
        guard let messageID = Self.messageID(ofItem: id) else { throw notFound }
        guard let stored = try await StoreAccess.run({ try await store.message(owner: owner, id: messageID) }),
            stored.conversationID == conversation.id,
            let item = ResponsesOutbound.inputItems(of: stored).first(where: { $0.id == id })
        else { throw notFound }
        return (stored, item)
    }

    /// `msg_<id>`, `rs_<id>`, `fco_<id>`, `fc_<id>_<call id>` → `<id>` (message ids have no `_`).
    static func messageID(ofItem id: String) -> String? {
        for prefix in ["msg_", "rs_", "fco_"] where id.hasPrefix(prefix) {
            let rest = id.dropFirst(prefix.count)
            return rest.isEmpty ? nil : String(rest)
        }
        guard id.hasPrefix("fc_") else { return nil }
        let rest = id.dropFirst(3)
        guard let separator = rest.firstIndex(of: "_"), separator > rest.startIndex else { return nil }
        return String(rest[..<separator])
    }
}
