/// The `conversations` limits and switch, each checked in one place with one message, for the
/// stage and the conversation endpoints alike.
extension ConversationsConfig {
    package func requireEnabled(param: String? = nil) throws(GatewayError) {
        guard enabled else {
            throw GatewayError.validation("Stored conversations are turned off here (`conversations.enabled: false`).", param: param)
        }
    }

    /// An owner holding `count` conversations may make another.
    package func requireRoom(forConversationAfter count: Int) throws(GatewayError) {
        guard count < maxConversationsPerOwner else {
            throw GatewayError(
                .conflict,
                "You have reached the limit of \(maxConversationsPerOwner) conversations (`conversations.max_conversations_per_user`); delete some first."
            )
        }
    }

    /// A conversation holding `count` branches may get another.
    package func requireRoom(forBranchAfter count: Int, in conversationID: String) throws(GatewayError) {
        guard count < maxBranches else {
            throw GatewayError(
                .conflict, "Conversation `\(conversationID)` has reached its limit of \(maxBranches) branches (`conversations.max_branches`)."
            )
        }
    }

    /// The conversation may take `count` more messages.
    package func requireRoom(for count: Int, in conversation: Conversation) throws(GatewayError) {
        guard conversation.messageCount + count <= maxMessages else {
            throw GatewayError(
                .conflict,
                "Conversation `\(conversation.id)` has reached its limit of \(maxMessages) messages (`conversations.max_messages`); start a new one."
            )
        }
    }
}
