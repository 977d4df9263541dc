import SQLKit
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Conversations on SQLite or PostgreSQL (tables from migration 7). Search is SQLite FTS5 or
/// PostgreSQL `tsvector` with a GIN index; user text only ever reaches SQL as a bound value,
/// and search text is reduced to its words first, so FTS syntax in it means nothing.
package struct SQLConversationStore: ConversationStore {
    private let provider: any SQLDatabaseProvider

    package init(provider: any SQLDatabaseProvider) {
        self.provider = provider
    }

    // MARK: Conversations

    package func conversation(owner: String, id: String) async throws -> Conversation? {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM conversations WHERE owner = \(bind: owner) AND id = \(bind: id)").first()
        }
        return try row.map(Self.conversation)
    }

    package func conversations(_ query: ConversationQuery) async throws -> [Conversation] {
        let words = query.text.map(SearchText.words) ?? []
        if query.text != nil, words.isEmpty { return [] }
        let rows = try await provider.withDatabase { database in
            let postgres = database.dialect.name == "postgresql"
            var sql = SQLQueryString("SELECT c.* FROM conversations c WHERE 1 = 1")
            if let owner = query.owner { sql = sql + " AND c.owner = \(bind: owner)" }
            if let id = query.id { sql = sql + " AND c.id = \(bind: id)" }
            if let model = query.model { sql = sql + " AND c.model = \(bind: model)" }
            if let archived = query.archived { sql = sql + " AND c.archived = \(bind: archived ? 1 : 0)" }
            if let from = query.from { sql = sql + " AND c.updated_at >= \(bind: from)" }
            if let to = query.to { sql = sql + " AND c.updated_at <= \(bind: to)" }
            if let after = query.after {
                sql = sql + " AND (c.updated_at < \(bind: after.updatedAt) OR (c.updated_at = \(bind: after.updatedAt) AND c.id < \(bind: after.id)))"
            }
            if !words.isEmpty {
                let pattern = "%" + SearchText.likeEscaped(words.joined(separator: " ")) + "%"
                if postgres {
                    sql = sql + """
                         AND (LOWER(c.title) LIKE LOWER(\(bind: pattern)) ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.owner = c.owner
                         AND m.conversation_id = c.id AND m.search @@ plainto_tsquery('simple', \(bind: words.joined(separator: " ")))))
                        """
                } else {
                    sql = sql + """
                         AND (c.title LIKE \(bind: pattern) ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages_fts f WHERE f.owner = c.owner
                         AND f.conversation_id = c.id AND messages_fts MATCH \(bind: SearchText.ftsQuery(words))))
                        """
                }
            }
            sql = sql + " ORDER BY c.updated_at DESC, c.id DESC LIMIT \(bind: query.limit)"
            return try await database.raw(sql).all()
        }
        return try rows.map(Self.conversation)
    }

    package func conversationCount(owner: String) async throws -> Int {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT COUNT(*) AS n FROM conversations WHERE owner = \(bind: owner)").first()
        }
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    package func apply(_ write: ConversationWrite) async throws -> [StoredMessage] {
        let rows = try write.messages.map { message in (message, try Self.json(message.message)) }
        return try await provider.withTransaction { database in
            var write = write
            let postgres = database.dialect.name == "postgresql"
            // PostgreSQL: the conversation's row is locked for the transaction, so a delete (which
            // locks it first too) and this write take turns instead of interleaving.
            let lock = postgres ? " FOR UPDATE" : ""
            let owner = write.owner
            let conversationID = write.conversationID
            if write.create == nil {
                // Deleted meanwhile (a turn still streaming when its conversation was deleted or
                // its owner's data erased): nothing is written, so nothing is left orphaned.
                let exists = try await database.raw(
                    "SELECT id FROM conversations WHERE owner = \(bind: owner) AND id = \(bind: conversationID)\(unsafeRaw: lock)"
                ).first()
                guard exists != nil else { return [] }
            }
            if let made = write.create {
                try await database.raw(
                    """
                    INSERT INTO conversations (id, owner, provider, title, system_prompt, model, settings, metadata, archived, active_branch_id,
                        message_count, created_at, updated_at)
                    VALUES (\(bind: made.id), \(bind: owner), \(bind: write.provider), \(bind: made.title), \(bind: made.systemPrompt),
                        \(bind: made.model), \(bind: try made.settings.map(Self.json)), \(bind: try Self.metadata(made.metadata)),
                        \(bind: made.archived ? 1 : 0), \(bind: made.activeBranchID), 0, \(bind: made.createdAt), \(bind: made.updatedAt))
                    ON CONFLICT (owner, id) DO NOTHING
                    """
                ).run()
                let row = try await database.raw(
                    "SELECT active_branch_id FROM conversations WHERE owner = \(bind: owner) AND id = \(bind: conversationID)\(unsafeRaw: lock)"
                ).first()
                if let active = try row?.decode(column: "active_branch_id", as: String.self), active != made.activeBranchID {
                    // Another turn made this conversation first (a client's retry of a new id):
                    // this one joins it, after the head of its active branch.
                    write.branches.removeAll { $0.id == made.activeBranchID }
                    for index in write.messages.indices where write.messages[index].branchID == made.activeBranchID {
                        write.messages[index].branchID = active
                    }
                    if let head = write.heads.removeValue(forKey: made.activeBranchID) { write.heads[active] = head }
                    if write.activeBranchID == made.activeBranchID { write.activeBranchID = active }
                    write.followsHeadOf = active
                }
            }
            for branch in write.branches {
                try await database.raw(
                    """
                    INSERT INTO branches (id, owner, conversation_id, name, head_id, fork_id, parent_branch_id, created_at, updated_at)
                    VALUES (\(bind: branch.id), \(bind: owner), \(bind: conversationID), \(bind: branch.name), \(bind: branch.headID),
                        \(bind: branch.forkID), \(bind: branch.parentBranchID), \(bind: branch.createdAt), \(bind: branch.updatedAt))
                    """
                ).run()
            }
            var messages = write.messages
            if let followed = write.followsHeadOf, let first = messages.first {
                // Another write may have moved the head since the turn read it: follow it now.
                let lock = postgres ? " FOR UPDATE" : ""
                let row = try await database.raw(
                    "SELECT head_id FROM branches WHERE id = \(bind: followed) AND owner = \(bind: owner)\(unsafeRaw: lock)"
                ).first()
                let head = try row?.decode(column: "head_id", as: String?.self)
                if let head, head != first.parentID {
                    let depthRow = try await database.raw("SELECT depth FROM messages WHERE id = \(bind: head)").first()
                    let depth = try depthRow?.decode(column: "depth", as: Int.self) ?? -1
                    messages[0].parentID = head
                    for index in messages.indices {
                        messages[index].depth = depth + 1 + index
                        // Only the turn's own chain moves (each message follows the one before).
                        if index > 0, messages[index].parentID != messages[index - 1].id { break }
                    }
                }
            }
            for (index, stored) in messages.enumerated() {
                let body = rows[index].1
                try await database.raw(
                    """
                    INSERT INTO messages (id, owner, conversation_id, parent_id, branch_id, depth, role, content, body, tool_call_id, model,
                        provider, prompt_tokens, completion_tokens, cost_usd, latency_ms, request_id, incomplete, merged_from, response, timestamp)
                    VALUES (\(bind: stored.id), \(bind: owner), \(bind: conversationID), \(bind: stored.parentID), \(bind: stored.branchID),
                        \(bind: stored.depth), \(bind: stored.role.rawValue), \(bind: stored.text), \(bind: body), \(bind: stored.message.toolCallID),
                        \(bind: stored.model), \(bind: stored.provider), \(bind: stored.promptTokens), \(bind: stored.completionTokens),
                        \(bind: stored.costUSD), \(bind: stored.latencyMilliseconds), \(bind: stored.requestID), \(bind: stored.incomplete ? 1 : 0),
                        \(bind: stored.mergedFrom), \(bind: try stored.response.map(Self.json)), \(bind: stored.createdAt))
                    """
                ).run()
                if !postgres {
                    try await database.raw(
                        """
                        INSERT INTO messages_fts (content, message_id, owner, conversation_id)
                        VALUES (\(bind: stored.text), \(bind: stored.id), \(bind: owner), \(bind: conversationID))
                        """
                    ).run()
                }
            }
            for call in write.toolCalls {
                try await database.raw(
                    """
                    INSERT INTO tool_calls (call_id, message_id, owner, conversation_id, tool_name, arguments, result, timestamp)
                    VALUES (\(bind: call.callID), \(bind: call.messageID), \(bind: owner), \(bind: conversationID), \(bind: call.toolName),
                        \(bind: call.arguments), \(bind: call.result), \(bind: call.timestamp))
                    """
                ).run()
            }
            for (callID, result) in write.toolResults.sorted(by: { $0.key < $1.key }) {
                try await database.raw(
                    """
                    UPDATE tool_calls SET result = \(bind: result)
                    WHERE owner = \(bind: owner) AND conversation_id = \(bind: conversationID) AND call_id = \(bind: callID)
                    """
                ).run()
            }
            var heads = write.heads
            if let followed = write.followsHeadOf, let last = messages.last, heads[followed] != nil { heads[followed] = last.id }
            for (branchID, head) in heads.sorted(by: { $0.key < $1.key }) {
                try await database.raw(
                    """
                    UPDATE branches SET head_id = \(bind: head), updated_at = \(bind: write.timestamp)
                    WHERE id = \(bind: branchID) AND owner = \(bind: owner) AND conversation_id = \(bind: conversationID)
                    """
                ).run()
            }
            if let update = write.update {
                try await database.raw(
                    """
                    UPDATE conversations SET title = \(bind: update.title), system_prompt = \(bind: update.systemPrompt),
                        model = \(bind: update.model), settings = \(bind: try update.settings.map(Self.json)),
                        metadata = \(bind: try Self.metadata(update.metadata)), archived = \(bind: update.archived ? 1 : 0)
                    WHERE owner = \(bind: owner) AND id = \(bind: conversationID)
                    """
                ).run()
            }
            try await database.raw(
                """
                UPDATE conversations SET message_count = message_count + \(bind: messages.count), updated_at = \(bind: write.timestamp),
                    active_branch_id = COALESCE(\(bind: write.activeBranchID), active_branch_id),
                    provider = COALESCE(provider, \(bind: write.provider))
                WHERE owner = \(bind: owner) AND id = \(bind: conversationID)
                """
            ).run()
            return messages
        }
    }

    package func deleteConversations(owner: String, ids: [String]) async throws -> [String] {
        guard !ids.isEmpty else { return [] }
        return try await provider.withTransaction { database in
            var deleted: [String] = []
            let lock = database.dialect.name == "postgresql" ? " FOR UPDATE" : ""
            for id in ids {
                let found = try await database.raw(
                    "SELECT id FROM conversations WHERE owner = \(bind: owner) AND id = \(bind: id)\(unsafeRaw: lock)"
                ).first()
                guard found != nil else { continue }
                try await Self.deleteContents(of: id, owner: owner, in: database)
                deleted.append(id)
            }
            return deleted
        }
    }

    static func deleteContents(of id: String, owner: String, in database: any SQLDatabase) async throws {
        if database.dialect.name != "postgresql" {
            try await database.raw("DELETE FROM messages_fts WHERE owner = \(bind: owner) AND conversation_id = \(bind: id)").run()
        }
        try await database.raw("DELETE FROM tool_calls WHERE owner = \(bind: owner) AND conversation_id = \(bind: id)").run()
        try await database.raw("DELETE FROM messages WHERE owner = \(bind: owner) AND conversation_id = \(bind: id)").run()
        try await database.raw("DELETE FROM branches WHERE owner = \(bind: owner) AND conversation_id = \(bind: id)").run()
        try await database.raw("DELETE FROM conversations WHERE owner = \(bind: owner) AND id = \(bind: id)").run()
    }

    package func eraseConversations(owner: String) async throws -> ConversationErasure {
        try await provider.withTransaction { database in
            if database.dialect.name == "postgresql" {
                // Locks the owner's conversations: a turn being written finishes first, or waits and finds them gone.
                try await database.raw("SELECT id FROM conversations WHERE owner = \(bind: owner) FOR UPDATE").run()
            }
            let conversations = try await database.raw("SELECT COUNT(*) AS n FROM conversations WHERE owner = \(bind: owner)").first()
            let messages = try await database.raw("SELECT COUNT(*) AS n FROM messages WHERE owner = \(bind: owner)").first()
            if database.dialect.name != "postgresql" {
                try await database.raw("DELETE FROM messages_fts WHERE owner = \(bind: owner)").run()
            }
            for table in ["tool_calls", "messages", "branches", "conversations"] {
                try await database.raw("DELETE FROM \(ident: table) WHERE owner = \(bind: owner)").run()
            }
            return ConversationErasure(
                conversations: try conversations?.decode(column: "n", as: Int.self) ?? 0, messages: try messages?.decode(column: "n", as: Int.self) ?? 0
            )
        }
    }

    // MARK: Messages and branches

    package func messages(owner: String, conversationID: String) async throws -> [StoredMessage] {
        let rows = try await provider.withDatabase { database in
            try await database.raw(
                """
                SELECT * FROM messages WHERE owner = \(bind: owner) AND conversation_id = \(bind: conversationID)
                ORDER BY timestamp, depth, id
                """
            ).all()
        }
        return try rows.map(Self.message)
    }

    package func message(owner: String, id: String) async throws -> StoredMessage? {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM messages WHERE owner = \(bind: owner) AND id = \(bind: id)").first()
        }
        return try row.map(Self.message)
    }

    package func forgetResponse(owner: String, messageID: String) async throws -> Bool {
        try await provider.withDatabase { database in
            let found = try await database.raw(
                "SELECT id FROM messages WHERE owner = \(bind: owner) AND id = \(bind: messageID) AND response IS NOT NULL"
            ).first()
            guard found != nil else { return false }
            try await database.raw("UPDATE messages SET response = NULL WHERE owner = \(bind: owner) AND id = \(bind: messageID)").run()
            return true
        }
    }

    package func removeMessages(owner: String, conversationID: String, ids: [String], rewrite: [String: ChatMessage]) async throws -> Bool {
        let bodies = try rewrite.mapValues { message in (message.content?.text ?? "", try Self.json(message)) }
        let keptCalls = rewrite.mapValues { Set(($0.toolCalls ?? []).map(\.id)) }
        return try await provider.withTransaction { database in
            let postgres = database.dialect.name == "postgresql"
            let lock = postgres ? " FOR UPDATE" : ""
            guard try await database.raw(
                "SELECT id FROM conversations WHERE owner = \(bind: owner) AND id = \(bind: conversationID)\(unsafeRaw: lock)"
            ).first() != nil else { return false }
            for id in Set(ids).union(bodies.keys) {
                let found = try await database.raw(
                    "SELECT id FROM messages WHERE owner = \(bind: owner) AND conversation_id = \(bind: conversationID) AND id = \(bind: id)"
                ).first()
                guard found != nil else { return false }
            }
            for (id, (text, body)) in bodies.sorted(by: { $0.key < $1.key }) where !ids.contains(id) {
                try await database.raw(
                    "UPDATE messages SET content = \(bind: text), body = \(bind: body) WHERE owner = \(bind: owner) AND id = \(bind: id)"
                ).run()
                if !postgres {
                    try await database.raw("UPDATE messages_fts SET content = \(bind: text) WHERE message_id = \(bind: id)").run()
                }
                // The calls cut from the message leave the tool-call index with it.
                let calls = try await database.raw("SELECT call_id FROM tool_calls WHERE owner = \(bind: owner) AND message_id = \(bind: id)").all()
                for row in calls {
                    let callID = try row.decode(column: "call_id", as: String.self)
                    guard keptCalls[id]?.contains(callID) != true else { continue }
                    try await database.raw(
                        "DELETE FROM tool_calls WHERE owner = \(bind: owner) AND message_id = \(bind: id) AND call_id = \(bind: callID)"
                    ).run()
                }
            }
            var removed = 0
            for id in ids {
                let row = try await database.raw("SELECT parent_id FROM messages WHERE owner = \(bind: owner) AND id = \(bind: id)").first()
                guard let row else { continue }
                removed += 1
                let parent = try row.decode(column: "parent_id", as: String?.self)
                try await database.raw(
                    """
                    UPDATE messages SET depth = depth - 1 WHERE owner = \(bind: owner) AND id IN (
                        WITH RECURSIVE below (id) AS (
                            SELECT id FROM messages WHERE parent_id = \(bind: id) AND owner = \(bind: owner)
                            UNION ALL
                            SELECT m.id FROM messages m JOIN below ON m.parent_id = below.id WHERE m.owner = \(bind: owner)
                        )
                        SELECT id FROM below
                    )
                    """
                ).run()
                try await database.raw("UPDATE messages SET parent_id = \(bind: parent) WHERE owner = \(bind: owner) AND parent_id = \(bind: id)").run()
                try await database.raw("UPDATE branches SET head_id = \(bind: parent) WHERE owner = \(bind: owner) AND head_id = \(bind: id)").run()
                try await database.raw("UPDATE branches SET fork_id = \(bind: parent) WHERE owner = \(bind: owner) AND fork_id = \(bind: id)").run()
                try await database.raw("DELETE FROM tool_calls WHERE owner = \(bind: owner) AND message_id = \(bind: id)").run()
                if !postgres {
                    try await database.raw("DELETE FROM messages_fts WHERE message_id = \(bind: id)").run()
                }
                try await database.raw("DELETE FROM messages WHERE owner = \(bind: owner) AND id = \(bind: id)").run()
            }
            try await database.raw(
                """
                UPDATE conversations SET message_count = message_count - \(bind: removed), updated_at = \(bind: Date().timeIntervalSince1970)
                WHERE owner = \(bind: owner) AND id = \(bind: conversationID)
                """
            ).run()
            return true
        }
    }

    package func path(owner: String, to messageID: String, limit: Int) async throws -> [StoredMessage] {
        guard limit > 0 else { return [] }
        let rows = try await provider.withDatabase { database in
            try await database.raw(
                """
                WITH RECURSIVE path (id, parent_id, n) AS (
                    SELECT id, parent_id, 1 FROM messages WHERE id = \(bind: messageID) AND owner = \(bind: owner)
                    UNION ALL
                    SELECT m.id, m.parent_id, path.n + 1 FROM messages m JOIN path ON m.id = path.parent_id
                    WHERE path.n < \(bind: limit) AND m.owner = \(bind: owner)
                )
                SELECT m.* FROM messages m JOIN path ON m.id = path.id ORDER BY m.depth
                """
            ).all()
        }
        return try rows.map(Self.message)
    }

    package func branches(owner: String, conversationID: String) async throws -> [Branch] {
        let rows = try await provider.withDatabase { database in
            try await database.raw(
                "SELECT * FROM branches WHERE owner = \(bind: owner) AND conversation_id = \(bind: conversationID) ORDER BY created_at, id"
            ).all()
        }
        return try rows.map { row in
            Branch(
                id: try row.decode(column: "id", as: String.self),
                conversationID: try row.decode(column: "conversation_id", as: String.self),
                name: try row.decode(column: "name", as: String.self),
                headID: try row.decode(column: "head_id", as: String?.self),
                forkID: try row.decode(column: "fork_id", as: String?.self),
                parentBranchID: try row.decode(column: "parent_branch_id", as: String?.self),
                createdAt: try row.decode(column: "created_at", as: Double.self),
                updatedAt: try row.decode(column: "updated_at", as: Double.self)
            )
        }
    }

    package func toolCalls(owner: String, conversationID: String) async throws -> [StoredToolCall] {
        let rows = try await provider.withDatabase { database in
            try await database.raw(
                "SELECT * FROM tool_calls WHERE owner = \(bind: owner) AND conversation_id = \(bind: conversationID) ORDER BY timestamp, id"
            ).all()
        }
        return try rows.map { row in
            StoredToolCall(
                callID: try row.decode(column: "call_id", as: String.self),
                messageID: try row.decode(column: "message_id", as: String.self),
                toolName: try row.decode(column: "tool_name", as: String.self),
                arguments: try row.decode(column: "arguments", as: String.self),
                result: try row.decode(column: "result", as: String?.self),
                timestamp: try row.decode(column: "timestamp", as: Double.self)
            )
        }
    }

    package func search(owner: String, text: String, conversationID: String?, limit: Int) async throws -> [StoredMessage] {
        let words = SearchText.words(text)
        guard !words.isEmpty else { return [] }
        let rows = try await provider.withDatabase { database in
            var sql: SQLQueryString
            if database.dialect.name == "postgresql" {
                sql = """
                    SELECT * FROM messages WHERE owner = \(bind: owner) AND search @@ plainto_tsquery('simple', \(bind: words.joined(separator: " ")))
                    """
            } else {
                sql = """
                    SELECT m.* FROM messages m JOIN messages_fts f ON f.message_id = m.id
                    WHERE f.owner = \(bind: owner) AND messages_fts MATCH \(bind: SearchText.ftsQuery(words)) AND m.owner = \(bind: owner)
                    """
            }
            let table = database.dialect.name == "postgresql" ? "" : "m."
            if let conversationID { sql = sql + " AND \(unsafeRaw: table)conversation_id = \(bind: conversationID)" }
            sql = sql + " ORDER BY \(unsafeRaw: table)timestamp DESC LIMIT \(bind: limit)"
            return try await database.raw(sql).all()
        }
        return try rows.map(Self.message)
    }

    // MARK: Rows

    static func conversation(_ row: any SQLRow) throws -> Conversation {
        let settings = try row.decode(column: "settings", as: String?.self)
        return Conversation(
            id: try row.decode(column: "id", as: String.self),
            owner: try row.decode(column: "owner", as: String.self),
            title: try row.decode(column: "title", as: String?.self),
            systemPrompt: try row.decode(column: "system_prompt", as: String?.self),
            model: try row.decode(column: "model", as: String?.self),
            provider: try row.decode(column: "provider", as: String?.self),
            settings: try settings.map { try JSONCoding.parse(Array($0.utf8)) },
            metadata: try row.decode(column: "metadata", as: String?.self).map { try JSONCoding.decode([String: String].self, from: Array($0.utf8)) } ?? [:],
            archived: try row.decode(column: "archived", as: Int.self) != 0,
            activeBranchID: try row.decode(column: "active_branch_id", as: String.self),
            messageCount: try row.decode(column: "message_count", as: Int.self),
            createdAt: try row.decode(column: "created_at", as: Double.self),
            updatedAt: try row.decode(column: "updated_at", as: Double.self)
        )
    }

    static func message(_ row: any SQLRow) throws -> StoredMessage {
        let body = try row.decode(column: "body", as: String.self)
        return StoredMessage(
            id: try row.decode(column: "id", as: String.self),
            conversationID: try row.decode(column: "conversation_id", as: String.self),
            parentID: try row.decode(column: "parent_id", as: String?.self),
            branchID: try row.decode(column: "branch_id", as: String.self),
            depth: try row.decode(column: "depth", as: Int.self),
            message: try JSONCoding.decode(ChatMessage.self, from: Array(body.utf8)),
            model: try row.decode(column: "model", as: String?.self),
            provider: try row.decode(column: "provider", as: String?.self),
            promptTokens: try row.decode(column: "prompt_tokens", as: Int?.self),
            completionTokens: try row.decode(column: "completion_tokens", as: Int?.self),
            costUSD: try row.decode(column: "cost_usd", as: Double?.self),
            latencyMilliseconds: try row.decode(column: "latency_ms", as: Double?.self),
            requestID: try row.decode(column: "request_id", as: String?.self),
            incomplete: try row.decode(column: "incomplete", as: Int.self) != 0,
            mergedFrom: try row.decode(column: "merged_from", as: String?.self),
            response: try row.decode(column: "response", as: String?.self).map { try JSONCoding.parse(Array($0.utf8)) },
            createdAt: try row.decode(column: "timestamp", as: Double.self)
        )
    }

    /// `metadata` as stored: `NULL` when empty.
    static func metadata(_ pairs: [String: String]) throws -> String? {
        pairs.isEmpty ? nil : try json(pairs)
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encode(value), as: UTF8.self)
    }
}

extension SQLConversationStore: UserProfileStore {
    package func profile(owner: String) async throws -> UserProfile? {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM user_profiles WHERE owner = \(bind: owner)").first()
        }
        guard let row else { return nil }
        let preferences = try row.decode(column: "preferences", as: String?.self)
        return UserProfile(
            owner: owner,
            displayName: try row.decode(column: "display_name", as: String?.self),
            defaultModel: try row.decode(column: "default_model", as: String?.self),
            preferences: try preferences.map { try JSONCoding.parse(Array($0.utf8)) },
            updatedAt: try row.decode(column: "updated_at", as: Double.self)
        )
    }

    package func setProfile(_ profile: UserProfile) async throws {
        let preferences = try profile.preferences.map(Self.json)
        try await provider.withTransaction { database in
            try await database.raw(
                """
                INSERT INTO user_profiles (owner, display_name, default_model, preferences, updated_at)
                VALUES (\(bind: profile.owner), \(bind: profile.displayName), \(bind: profile.defaultModel), \(bind: preferences), \(bind: profile.updatedAt))
                ON CONFLICT (owner) DO UPDATE SET display_name = excluded.display_name, default_model = excluded.default_model,
                    preferences = excluded.preferences, updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    package func deleteProfile(owner: String) async throws -> Bool {
        try await provider.withTransaction { database in
            let row = try await database.raw("SELECT owner FROM user_profiles WHERE owner = \(bind: owner)").first()
            try await database.raw("DELETE FROM user_profiles WHERE owner = \(bind: owner)").run()
            return row != nil
        }
    }
}

/// Search text reduced to words: FTS syntax (`"`, `*`, `NEAR`, `AND`, parentheses) is only text.
enum SearchText {
    /// At most this many words count: a 10 kB query is still one bounded search.
    static let maxWords = 32

    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
            if words.count == maxWords { break }
        }
        if !current.isEmpty, words.count < maxWords { words.append(current) }
        return words.map { String($0.prefix(64)) }
    }

    /// Every word quoted (FTS5 takes a quoted string as plain text), all of them required.
    static func ftsQuery(_ words: [String]) -> String {
        words.map { "\"\($0)\"" }.joined(separator: " ")
    }

    /// `%`, `_` and `\` taken literally in a LIKE pattern with `ESCAPE '\'`.
    static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
