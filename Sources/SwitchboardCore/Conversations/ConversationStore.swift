/// Which conversations a list asks for. Every filter is an owner's, except for the monitoring
/// view (`owner: nil`), which only `read_usage` routes use.
package struct ConversationQuery: Sendable, Hashable {
    package var owner: String?
    /// One conversation id (the monitoring view looks one up across owners).
    package var id: String?
    /// Full-text search over message content (and titles).
    package var text: String?
    package var model: String?
    package var archived: Bool?
    /// `updated_at` bounds, Unix seconds.
    package var from: Double?
    package var to: Double?
    package var limit: Int
    /// Keyset pagination: conversations updated before this one (newest first).
    package var after: ConversationCursor?

    package init(
        owner: String?, text: String? = nil, model: String? = nil, archived: Bool? = nil, from: Double? = nil, to: Double? = nil,
        limit: Int = 50, after: ConversationCursor? = nil
    ) {
        self.owner = owner
        self.text = text
        self.model = model
        self.archived = archived
        self.from = from
        self.to = to
        self.limit = limit
        self.after = after
    }
}

/// Where a page of conversations ended: its last one's `updated_at` and id.
package struct ConversationCursor: Sendable, Hashable {
    package var updatedAt: Double
    package var id: String

    package init(updatedAt: Double, id: String) {
        self.updatedAt = updatedAt
        self.id = id
    }

    /// The opaque form clients pass back (`<updated_at>_<id>`).
    package var token: String { "\(updatedAt)_\(id)" }

    package init?(token: String) {
        guard let separator = token.firstIndex(of: "_"), let updatedAt = Double(token[..<separator]) else { return nil }
        let id = String(token[token.index(after: separator)...])
        guard !id.isEmpty else { return nil }
        self.init(updatedAt: updatedAt, id: id)
    }
}

/// One transaction's worth of changes to one conversation: everything in it lands, or nothing.
package struct ConversationWrite: Sendable, Hashable {
    package var owner: String
    package var conversationID: String
    /// A conversation made by this write (its first branch is in ``branches``).
    package var create: Conversation?
    /// New metadata (title, system prompt, model, settings, `metadata`, archived, active branch).
    package var update: Conversation?
    package var branches: [Branch] = []
    /// New messages, in order; a chain when they are one turn.
    package var messages: [StoredMessage] = []
    /// Branch id → its new head.
    package var heads: [String: String] = [:]
    package var activeBranchID: String?
    /// The turn followed the head of this branch without naming it: if another write moved
    /// that head meanwhile, the first message follows the head as it is now (a concurrent
    /// append goes after the other, instead of forking silently).
    package var followsHeadOf: String?
    /// Tool answers a request carried: call id → the tool's result.
    package var toolResults: [String: String] = [:]
    package var toolCalls: [StoredToolCall] = []
    /// The provider a new conversation's first answer came from.
    package var provider: String?
    package var timestamp: Double

    package init(owner: String, conversationID: String, timestamp: Double) {
        self.owner = owner
        self.conversationID = conversationID
        self.timestamp = timestamp
    }

    /// Adds a message, with its tool calls in the tool-call index and a tool answer as its call's result.
    package mutating func append(_ stored: StoredMessage) {
        messages.append(stored)
        for call in stored.message.toolCalls ?? [] {
            toolCalls.append(StoredToolCall(
                callID: call.id, messageID: stored.id, toolName: call.function.name, arguments: call.function.arguments, timestamp: stored.createdAt
            ))
        }
        if stored.message.role == .tool, let callID = stored.message.toolCallID { toolResults[callID] = stored.message.content?.text ?? "" }
    }
}

/// What deleting one owner's data removed.
package struct ConversationErasure: Sendable, Hashable {
    package var conversations: Int
    package var messages: Int

    package init(conversations: Int, messages: Int) {
        self.conversations = conversations
        self.messages = messages
    }
}

/// Conversations, their message trees and branches: SQLite and PostgreSQL implement it.
package protocol ConversationStore: Sendable {
    func conversation(owner: String, id: String) async throws -> Conversation?
    /// Newest first by `updated_at`, at most `query.limit`.
    func conversations(_ query: ConversationQuery) async throws -> [Conversation]
    func conversationCount(owner: String) async throws -> Int
    /// Applies the write in one transaction; returns the messages as stored (a followed head
    /// may have moved their parent and depth).
    @discardableResult
    func apply(_ write: ConversationWrite) async throws -> [StoredMessage]
    /// Deletes conversations with their messages, branches and tool calls; returns the ids that were there.
    func deleteConversations(owner: String, ids: [String]) async throws -> [String]
    /// Every message of a conversation, oldest first.
    func messages(owner: String, conversationID: String) async throws -> [StoredMessage]
    func message(owner: String, id: String) async throws -> StoredMessage?
    /// Clears a message's Responses-API record (`DELETE /v1/responses/{id}`); false: it had none.
    func forgetResponse(owner: String, messageID: String) async throws -> Bool
    /// Takes messages out of a conversation's tree (the Conversations API's item deletes), in one
    /// transaction: each removed message's children move up to its parent (depths of everything
    /// below it drop by one), and a branch whose head or fork point it was now ends or forks at
    /// its parent. `rewrite` gives a kept message new content (an answer that lost one of its
    /// items). Returns false, changing nothing, when the conversation or a message is not there.
    func removeMessages(owner: String, conversationID: String, ids: [String], rewrite: [String: ChatMessage]) async throws -> Bool
    /// The path from the first message to `messageID`, first message first: its last `limit` messages.
    func path(owner: String, to messageID: String, limit: Int) async throws -> [StoredMessage]
    func branches(owner: String, conversationID: String) async throws -> [Branch]
    /// The tool calls of a conversation's messages, oldest first.
    func toolCalls(owner: String, conversationID: String) async throws -> [StoredToolCall]
    /// Messages whose content matches every word of `text`, newest first; FTS syntax in `text`
    /// is taken as words.
    func search(owner: String, text: String, conversationID: String?, limit: Int) async throws -> [StoredMessage]
    /// Deletes every conversation of an owner.
    func eraseConversations(owner: String) async throws -> ConversationErasure
}

/// Where the conversation stage sends its writes: one conversation's writes land in the order
/// they were sent, off the call's path; a reader waits for what was sent before it reads.
package protocol ConversationJournal: Sendable {
    func enqueue(_ write: ConversationWrite)
    /// Returns once every write sent so far for the conversation has landed (or failed).
    func settled(owner: String, conversationID: String) async
    /// Returns once every write sent so far for any of the owner's conversations has landed.
    func settled(owner: String) async
    /// So many writes wait that new turns are refused (503) until they land.
    var isBacklogged: Bool { get }
    /// The owner's data was erased at `time`: a turn that began before it (still streaming
    /// then) must not make a conversation again.
    func erased(owner: String, at time: Double)
}

/// What a caller keeps about themselves (`PATCH /v1/users/me`).
package struct UserProfile: Sendable, Hashable {
    package var owner: String
    package var displayName: String?
    /// The model a new conversation gets when it names none.
    package var defaultModel: String?
    package var preferences: JSONValue?
    package var updatedAt: Double

    package init(owner: String, displayName: String? = nil, defaultModel: String? = nil, preferences: JSONValue? = nil, updatedAt: Double) {
        self.owner = owner
        self.displayName = displayName
        self.defaultModel = defaultModel
        self.preferences = preferences
        self.updatedAt = updatedAt
    }
}

package protocol UserProfileStore: Sendable {
    func profile(owner: String) async throws -> UserProfile?
    func setProfile(_ profile: UserProfile) async throws
    /// Returns whether there was one.
    func deleteProfile(owner: String) async throws -> Bool
}
