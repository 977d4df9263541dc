#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A stored conversation: an owner's tree of messages, with named branches and one active.
package struct Conversation: Sendable, Hashable {
    package var id: String
    /// Whose it is (``ConversationOwner``): every read and write is scoped to it.
    package var owner: String
    package var title: String?
    /// Sent first in every call's context; kept when old turns are dropped.
    package var systemPrompt: String?
    /// The model calls use when the request names none.
    package var model: String?
    /// The provider the first answer came from (seed 003's `conversations.provider`).
    package var provider: String?
    /// Free-form settings the client keeps with the conversation.
    package var settings: JSONValue?
    /// The Conversations API's `metadata`: at most 16 string pairs.
    package var metadata: [String: String]
    package var archived: Bool
    package var activeBranchID: String
    package var messageCount: Int
    package var createdAt: Double
    package var updatedAt: Double

    package init(
        id: String, owner: String, title: String? = nil, systemPrompt: String? = nil, model: String? = nil, provider: String? = nil,
        settings: JSONValue? = nil, metadata: [String: String] = [:], archived: Bool = false, activeBranchID: String, messageCount: Int = 0,
        createdAt: Double, updatedAt: Double
    ) {
        self.id = id
        self.owner = owner
        self.title = title
        self.systemPrompt = systemPrompt
        self.model = model
        self.provider = provider
        self.settings = settings
        self.metadata = metadata
        self.archived = archived
        self.activeBranchID = activeBranchID
        self.messageCount = messageCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One message of a conversation's tree.
package struct StoredMessage: Sendable, Hashable {
    package var id: String
    package var conversationID: String
    /// The message this one follows; `nil` for a first message.
    package var parentID: String?
    /// The branch it was written on.
    package var branchID: String
    /// Messages above it (a first message: 0).
    package var depth: Int
    /// The message as it goes into a model's context (role, content, tool calls, tool call id).
    package var message: ChatMessage
    /// Assistant messages: who answered, and what it took.
    package var model: String?
    package var provider: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    package var costUSD: Double?
    package var latencyMilliseconds: Double?
    package var requestID: String?
    /// A streamed answer that broke off or whose client left: what was received.
    package var incomplete: Bool
    /// Copied by a merge: the message it was copied from.
    package var mergedFrom: String?
    /// An answer made through the Responses API (and not deleted there): what the response
    /// echoes of its request, so it reads back as it was sent.
    package var response: JSONValue?
    package var createdAt: Double

    package init(
        id: String, conversationID: String, parentID: String?, branchID: String, depth: Int, message: ChatMessage, model: String? = nil,
        provider: String? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil, costUSD: Double? = nil,
        latencyMilliseconds: Double? = nil, requestID: String? = nil, incomplete: Bool = false, mergedFrom: String? = nil,
        response: JSONValue? = nil, createdAt: Double
    ) {
        self.id = id
        self.conversationID = conversationID
        self.parentID = parentID
        self.branchID = branchID
        self.depth = depth
        self.message = message
        self.model = model
        self.provider = provider
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
        self.latencyMilliseconds = latencyMilliseconds
        self.requestID = requestID
        self.incomplete = incomplete
        self.mergedFrom = mergedFrom
        self.response = response
        self.createdAt = createdAt
    }

    package var role: ChatRole { message.role }
    /// The content as plain text (parts' text joined), for search, export and seed 003's `content` column.
    package var text: String { message.content?.text ?? "" }
}

/// A named path through the tree: from the first message to its head.
package struct Branch: Sendable, Hashable {
    package var id: String
    package var conversationID: String
    package var name: String
    /// Its last message (`nil`: an empty conversation's first branch).
    package var headID: String?
    /// Where it left its parent branch: the message both share last (`nil`: from the start).
    package var forkID: String?
    package var parentBranchID: String?
    package var createdAt: Double
    package var updatedAt: Double

    package init(
        id: String, conversationID: String, name: String, headID: String?, forkID: String? = nil, parentBranchID: String? = nil,
        createdAt: Double, updatedAt: Double
    ) {
        self.id = id
        self.conversationID = conversationID
        self.name = name
        self.headID = headID
        self.forkID = forkID
        self.parentBranchID = parentBranchID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A tool call an assistant message made, and the tool's answer once a later request carried it.
package struct StoredToolCall: Sendable, Hashable {
    package var callID: String
    package var messageID: String
    package var toolName: String
    package var arguments: String
    package var result: String?
    package var timestamp: Double

    package init(callID: String, messageID: String, toolName: String, arguments: String, result: String? = nil, timestamp: Double) {
        self.callID = callID
        self.messageID = messageID
        self.toolName = toolName
        self.arguments = arguments
        self.result = result
        self.timestamp = timestamp
    }
}

/// Who owns what a principal stores: its user; a key without a user owns its own; the master
/// key and auth-off callers each own theirs.
package enum ConversationOwner {
    package static func of(_ principal: Principal) -> String {
        if let user = principal.userID { return "user:\(user)" }
        if let key = principal.keyID { return "key:\(key)" }
        return principal.id
    }
}

/// What a chat call asks of the conversation it belongs to; set by the front door.
package struct ConversationTurn: Sendable, Hashable {
    /// Where the call's context comes from.
    package enum Context: Sendable, Hashable {
        /// The stored path to the parent, then the new messages.
        case stored
        /// The request's own messages (a client that keeps its history, seed 003's `/chat`).
        case client
    }

    /// `nil`: a new conversation.
    package var conversationID: String?
    /// The message the turn follows (default: the active branch's head).
    package var parentMessageID: String?
    /// Stored before the answer (the user's message, tool results). Empty: the parent is
    /// answered again (a regenerated answer).
    package var newMessages: [ChatMessage]
    package var context: Context
    /// An unknown `conversationID` is created for the owner instead of being a 404.
    package var createIfMissing: Bool
    /// A new conversation's system prompt and title.
    package var systemPrompt: String?
    package var title: String?
    /// A forked branch's name.
    package var branchName: String?
    /// The turn is a new first message (an edit of the first message): no parent.
    package var startsOver: Bool = false
    /// The turn goes on a new branch even where it could extend one (edits, regenerations).
    package var forceBranch: Bool = false
    /// Tool answers the request carried in its own context (client-kept history): call id → result.
    package var toolResults: [String: String] = [:]
    /// A system message for this call only, after the conversation's own; never stored
    /// (the Responses API's `instructions`).
    package var instructions: String?
    /// `parentMessageID` is a stored response's answer, which names its conversation
    /// (`previous_response_id`): unknown, deleted or expired is a 404.
    package var continuesResponse = false
    /// A context that does not fit the model's window is refused instead of cut (`truncation: disabled`).
    package var refusesOverflow = false
    /// Kept with the answer (``StoredMessage/response``).
    package var record: JSONValue?
    /// The answer's message id, chosen before the call (a background response is named at once).
    package var answerID: String?
    /// The context is built from the stored chain, and nothing is stored (a Responses call with
    /// `store: false` continuing a stored response).
    package var readsOnly = false

    package init(
        conversationID: String? = nil, parentMessageID: String? = nil, newMessages: [ChatMessage], context: Context = .stored,
        createIfMissing: Bool = false, systemPrompt: String? = nil, title: String? = nil, branchName: String? = nil,
        startsOver: Bool = false, forceBranch: Bool = false
    ) {
        self.startsOver = startsOver
        self.forceBranch = forceBranch
        self.conversationID = conversationID
        self.parentMessageID = parentMessageID
        self.newMessages = newMessages
        self.context = context
        self.createIfMissing = createIfMissing
        self.systemPrompt = systemPrompt
        self.title = title
        self.branchName = branchName
    }
}

/// What the conversation stage did for a call: the answer's fields and headers.
package struct ConversationNote: Sendable, Hashable {
    package var conversationID: String
    /// The answer's id.
    package var messageID: String
    /// The message the answer follows (the turn's last new message, or the regenerated parent).
    package var parentMessageID: String?
    package var branchID: String
    /// Oldest context messages left out to fit the limits.
    package var droppedMessages: Int

    package init(conversationID: String, messageID: String, parentMessageID: String?, branchID: String, droppedMessages: Int) {
        self.conversationID = conversationID
        self.messageID = messageID
        self.parentMessageID = parentMessageID
        self.branchID = branchID
        self.droppedMessages = droppedMessages
    }
}

/// Identifiers for conversations, messages and branches.
package enum ConversationIDs {
    package static func make() -> String {
        UUID().uuidString.lowercased()
    }

    /// The id of a tool call its provider gave none: its answer's id and the call's place, so a
    /// stream and the answer stored from it name the call alike.
    package static func callID(answer: String, index: Int) -> String {
        "call_\(answer)_\(index)"
    }
}
