import SwitchboardCore

/// A conversation as the API shows it.
struct ConversationView: Encodable {
    var id: String
    var object = "conversation"
    var owner: String
    var title: String?
    var systemPrompt: String?
    var model: String?
    var provider: String?
    var settings: JSONValue?
    var metadata: [String: String]
    var archived: Bool
    var activeBranchID: String
    var messageCount: Int
    var createdAt: Int
    var updatedAt: Int

    init(_ conversation: Conversation) {
        id = conversation.id
        owner = conversation.owner
        title = conversation.title
        systemPrompt = conversation.systemPrompt
        model = conversation.model
        provider = conversation.provider
        settings = conversation.settings
        metadata = conversation.metadata
        archived = conversation.archived
        activeBranchID = conversation.activeBranchID
        messageCount = conversation.messageCount
        createdAt = Int(conversation.createdAt)
        updatedAt = Int(conversation.updatedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, object, owner, title, model, provider, settings, metadata, archived
        case systemPrompt = "system_prompt"
        case activeBranchID = "active_branch_id"
        case messageCount = "message_count"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(owner, forKey: .owner)
        try container.encode(title, forKey: .title)
        try container.encode(systemPrompt, forKey: .systemPrompt)
        try container.encode(model, forKey: .model)
        try container.encode(provider, forKey: .provider)
        try container.encode(settings, forKey: .settings)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(archived, forKey: .archived)
        try container.encode(activeBranchID, forKey: .activeBranchID)
        try container.encode(messageCount, forKey: .messageCount)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A stored message as the API shows it.
struct MessageView: Encodable {
    struct UsageView: Encodable {
        var promptTokens: Int
        var completionTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }
    }

    var message: StoredMessage
    var children: [String]?

    init(_ message: StoredMessage, children: [String]? = nil) {
        self.message = message
        self.children = children
    }

    enum CodingKeys: String, CodingKey {
        case id, object, role, content, name, model, provider, usage, incomplete, depth, children
        case conversationID = "conversation_id"
        case parentID = "parent_id"
        case branchID = "branch_id"
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
        case costUSD = "cost_usd"
        case latencyMs = "latency_ms"
        case requestID = "request_id"
        case mergedFrom = "merged_from"
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(message.id, forKey: .id)
        try container.encode("conversation.message", forKey: .object)
        try container.encode(message.conversationID, forKey: .conversationID)
        try container.encode(message.parentID, forKey: .parentID)
        try container.encode(message.branchID, forKey: .branchID)
        try container.encode(message.depth, forKey: .depth)
        try container.encode(message.role, forKey: .role)
        try container.encode(message.message.content, forKey: .content)
        try container.encodeIfPresent(message.message.name, forKey: .name)
        try container.encodeIfPresent(message.message.toolCalls, forKey: .toolCalls)
        try container.encodeIfPresent(message.message.toolCallID, forKey: .toolCallID)
        try container.encodeIfPresent(message.model, forKey: .model)
        try container.encodeIfPresent(message.provider, forKey: .provider)
        if let prompt = message.promptTokens, let completion = message.completionTokens {
            try container.encode(UsageView(promptTokens: prompt, completionTokens: completion), forKey: .usage)
        }
        try container.encodeIfPresent(message.costUSD, forKey: .costUSD)
        try container.encodeIfPresent(message.latencyMilliseconds.map { ($0 * 100).rounded() / 100 }, forKey: .latencyMs)
        try container.encodeIfPresent(message.requestID, forKey: .requestID)
        try container.encode(message.incomplete, forKey: .incomplete)
        try container.encodeIfPresent(message.mergedFrom, forKey: .mergedFrom)
        try container.encode(Int(message.createdAt), forKey: .createdAt)
        try container.encodeIfPresent(children, forKey: .children)
    }
}

struct BranchView: Encodable {
    var id: String
    var object = "conversation.branch"
    var name: String
    var headID: String?
    var forkID: String?
    var parentBranchID: String?
    var active: Bool
    var createdAt: Int
    var updatedAt: Int

    init(_ branch: Branch, active: Bool) {
        id = branch.id
        name = branch.name
        headID = branch.headID
        forkID = branch.forkID
        parentBranchID = branch.parentBranchID
        self.active = active
        createdAt = Int(branch.createdAt)
        updatedAt = Int(branch.updatedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, object, name, active
        case headID = "head_id"
        case forkID = "fork_id"
        case parentBranchID = "parent_branch_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(name, forKey: .name)
        try container.encode(headID, forKey: .headID)
        try container.encode(forkID, forKey: .forkID)
        try container.encode(parentBranchID, forKey: .parentBranchID)
        try container.encode(active, forKey: .active)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

struct BranchStatsView: Encodable {
    var branchID: String
    var messages: Int
    var promptTokens: Int
    var completionTokens: Int
    var costUSD: Double
    var models: [String]
    var depth: Int
    var createdAt: Int
    var lastActivityAt: Int?

    enum CodingKeys: String, CodingKey {
        case messages, models, depth
        case branchID = "branch_id"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case costUSD = "cost_usd"
        case createdAt = "created_at"
        case lastActivityAt = "last_activity_at"
    }
}

/// The whole tree: `GET …/full` and the JSON export.
struct ConversationTreeView: Encodable {
    var conversation: ConversationView
    var branches: [BranchView]
    var messages: [MessageView]
}

/// A page of a list: `{"object":"list","data":[…],"has_more":…,"next_cursor":…}`.
struct PageView<Item: Encodable>: Encodable {
    var data: [Item]
    var hasMore: Bool
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case object, data
        case hasMore = "has_more"
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("list", forKey: .object)
        try container.encode(data, forKey: .data)
        try container.encode(hasMore, forKey: .hasMore)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

struct DeletedView: Encodable {
    var id: String
    var object = "conversation.deleted"
    var deleted = true
}

/// One id's outcome in a batch.
struct BatchResultView: Encodable {
    struct Failure: Encodable {
        var code: String
        var message: String
    }

    var id: String
    var ok: Bool
    var error: Failure?
    var conversation: ConversationView?
    var export: ConversationTreeView?
}

/// A string field of a PATCH body: a string sets it, `null` clears it, absent leaves it.
enum PatchField {
    static func string(_ value: JSONValue?, _ name: String, current: String?, maxLength: Int? = nil) throws(GatewayError) -> String? {
        switch value {
        case nil: return current
        case .null?: return nil
        case .string(let text)? where maxLength.map({ text.count <= $0 }) ?? true: return text
        default:
            let bound = maxLength.map { " of at most \($0) characters," } ?? ""
            throw GatewayError.validation("`\(name)` must be a string\(bound) or null.", param: name)
        }
    }
}
