import Synchronization

/// Keeps the recently used conversations a turn needs — the conversation, its branches and the
/// tail of each branch's path — in memory in front of the store, so a turn on a recent
/// conversation reads nothing from the database.
///
/// Entries change only with what the store did: a write updates the entry from the messages
/// `apply` returns (as stored, a followed head already applied), so the cache never holds what
/// the database does not. Deletes drop the entry. Entries expire `ttl` seconds after they were
/// loaded (another replica's writes show after at most that long) and the least recently used
/// go past `capacity`. Everything else passes through.
package final class CachedConversationStore: ConversationStore {
    private struct Key: Hashable {
        var owner: String
        var id: String
    }

    private struct Entry {
        var conversation: Conversation
        var branches: [Branch]?
        /// Branch id → the last messages of its path, ending at its head.
        var tails: [String: [StoredMessage]] = [:]
        var loadedAt: ContinuousClock.Instant
        var lastUsed: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Message id → the entry whose tails hold it.
        var messages: [String: Key] = [:]
        var tick: UInt64 = 0
    }

    private let base: any ConversationStore
    private let capacity: Int
    private let ttl: Duration
    /// Messages a tail keeps (the context's most).
    private let tailLength: Int
    private let state = Mutex(State())

    package init(base: any ConversationStore, capacity: Int, ttl: Duration, tailLength: Int) {
        self.base = base
        self.capacity = capacity
        self.ttl = ttl
        self.tailLength = max(1, tailLength)
    }

    /// A fresh entry, marked used.
    private func entry(_ key: Key) -> Entry? {
        state.withLock { state in
            guard var entry = state.entries[key] else { return nil }
            guard ContinuousClock.now - entry.loadedAt < ttl else {
                Self.remove(key, from: &state)
                return nil
            }
            state.tick += 1
            entry.lastUsed = state.tick
            state.entries[key] = entry
            return entry
        }
    }

    private static func remove(_ key: Key, from state: inout State) {
        guard let entry = state.entries.removeValue(forKey: key) else { return }
        for tail in entry.tails.values {
            for message in tail { state.messages[message.id] = nil }
        }
    }

    private func update(_ key: Key, _ change: (inout Entry) -> Void) {
        state.withLock { state in
            guard var entry = state.entries[key] else { return }
            let before = Set(entry.tails.values.joined().map(\.id))
            change(&entry)
            let after = Set(entry.tails.values.joined().map(\.id))
            for id in before.subtracting(after) { state.messages[id] = nil }
            for id in after.subtracting(before) { state.messages[id] = key }
            state.entries[key] = entry
        }
    }

    private func insert(_ conversation: Conversation) {
        state.withLock { state in
            let key = Key(owner: conversation.owner, id: conversation.id)
            state.tick += 1
            if state.entries[key] == nil, state.entries.count >= capacity {
                // The least recently used goes (a scan: eviction is rare next to hits).
                if let oldest = state.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                    Self.remove(oldest, from: &state)
                }
            }
            Self.remove(key, from: &state)
            state.entries[key] = Entry(conversation: conversation, loadedAt: .now, lastUsed: state.tick)
        }
    }

    private func forget(_ key: Key) {
        state.withLock { state in Self.remove(key, from: &state) }
    }

    // MARK: Reads a turn makes

    package func conversation(owner: String, id: String) async throws -> Conversation? {
        if let entry = entry(Key(owner: owner, id: id)) { return entry.conversation }
        guard let found = try await base.conversation(owner: owner, id: id) else { return nil }
        insert(found)
        return found
    }

    package func branches(owner: String, conversationID: String) async throws -> [Branch] {
        let key = Key(owner: owner, id: conversationID)
        if let branches = entry(key)?.branches { return branches }
        let found = try await base.branches(owner: owner, conversationID: conversationID)
        update(key) { $0.branches = found }
        return found
    }

    package func message(owner: String, id: String) async throws -> StoredMessage? {
        let cached: StoredMessage? = state.withLock { state in
            guard let key = state.messages[id], key.owner == owner, let entry = state.entries[key] else { return nil }
            for tail in entry.tails.values {
                if let message = tail.last(where: { $0.id == id }) { return message }
            }
            return nil
        }
        if let cached { return cached }
        return try await base.message(owner: owner, id: id)
    }

    package func path(owner: String, to messageID: String, limit: Int) async throws -> [StoredMessage] {
        let cached: [StoredMessage]? = state.withLock { state in
            guard let key = state.messages[messageID], key.owner == owner, let entry = state.entries[key] else { return nil }
            for tail in entry.tails.values where tail.last?.id == messageID {
                // The tail holds the whole path, or at least the `limit` asked for.
                if tail.count >= limit || tail.first?.parentID == nil { return Array(tail.suffix(limit)) }
            }
            return nil
        }
        if let cached { return cached }
        let path = try await base.path(owner: owner, to: messageID, limit: limit)
        // Any answer is a correct tail (the path's last `limit` messages, or all of it).
        if let last = path.last {
            let key = Key(owner: owner, id: last.conversationID)
            update(key) { entry in
                for branch in entry.branches ?? [] where branch.headID == messageID {
                    entry.tails[branch.id] = Array(path.suffix(self.tailLength))
                }
            }
        }
        return path
    }

    // MARK: Writes

    package func apply(_ write: ConversationWrite) async throws -> [StoredMessage] {
        let key = Key(owner: write.owner, id: write.conversationID)
        let stored: [StoredMessage]
        do {
            stored = try await base.apply(write)
        } catch {
            forget(key)
            throw error
        }
        if stored.isEmpty, !write.messages.isEmpty {
            // The store wrote nothing (the conversation is gone): neither does the cache.
            forget(key)
            return stored
        }
        if let made = write.create {
            insert(made)
            update(key) { entry in
                entry.branches = write.branches
                entry.conversation.provider = write.provider
            }
        }
        update(key) { entry in
            var conversation = write.update ?? entry.conversation
            conversation.messageCount = entry.conversation.messageCount + stored.count
            conversation.updatedAt = write.timestamp
            conversation.activeBranchID = write.activeBranchID ?? entry.conversation.activeBranchID
            conversation.provider = entry.conversation.provider ?? write.provider
            entry.conversation = conversation
            if write.create == nil { entry.branches = entry.branches.map { $0 + write.branches } }
            // Heads as the store moved them: a followed head ends at the last stored message.
            var heads = write.heads
            if let followed = write.followsHeadOf, heads[followed] != nil, let last = stored.last { heads[followed] = last.id }
            for index in (entry.branches ?? []).indices {
                guard let head = heads[entry.branches?[index].id ?? ""] else { continue }
                entry.branches?[index].headID = head
                entry.branches?[index].updatedAt = write.timestamp
            }
            for (branchID, head) in heads {
                // A tail grows by the stored chain that ends at the new head, when it follows on.
                guard let chainEnd = stored.lastIndex(where: { $0.id == head }) else {
                    entry.tails[branchID] = nil
                    continue
                }
                var chain = [stored[chainEnd]]
                while let parent = chain.first?.parentID, let previous = stored.last(where: { $0.id == parent }) { chain.insert(previous, at: 0) }
                let tail = entry.tails[branchID] ?? []
                if chain.first?.parentID == nil {
                    entry.tails[branchID] = Array(chain.suffix(tailLength))
                } else if let start = chain.first?.parentID, tail.last?.id == start {
                    entry.tails[branchID] = Array((tail + chain).suffix(tailLength))
                } else if let start = chain.first?.parentID, let fork = entry.tails.values.first(where: { $0.last?.id == start }) {
                    // A new branch forked at another branch's head.
                    entry.tails[branchID] = Array((fork + chain).suffix(tailLength))
                } else {
                    entry.tails[branchID] = nil
                }
            }
            // A new branch whose head is an existing message shares the tail ending there.
            for branch in write.branches where heads[branch.id] == nil {
                if let head = branch.headID, let tail = entry.tails.values.first(where: { $0.last?.id == head }) {
                    entry.tails[branch.id] = tail
                }
            }
        }
        return stored
    }

    package func deleteConversations(owner: String, ids: [String]) async throws -> [String] {
        for id in ids { forget(Key(owner: owner, id: id)) }
        let deleted = try await base.deleteConversations(owner: owner, ids: ids)
        for id in ids { forget(Key(owner: owner, id: id)) }
        return deleted
    }

    package func eraseConversations(owner: String) async throws -> ConversationErasure {
        let erased = try await base.eraseConversations(owner: owner)
        state.withLock { state in
            for key in state.entries.keys where key.owner == owner { Self.remove(key, from: &state) }
        }
        return erased
    }

    // MARK: Passed through

    package func conversations(_ query: ConversationQuery) async throws -> [Conversation] { try await base.conversations(query) }
    package func conversationCount(owner: String) async throws -> Int { try await base.conversationCount(owner: owner) }
    package func messages(owner: String, conversationID: String) async throws -> [StoredMessage] {
        try await base.messages(owner: owner, conversationID: conversationID)
    }
    package func toolCalls(owner: String, conversationID: String) async throws -> [StoredToolCall] {
        try await base.toolCalls(owner: owner, conversationID: conversationID)
    }
    package func search(owner: String, text: String, conversationID: String?, limit: Int) async throws -> [StoredMessage] {
        try await base.search(owner: owner, text: text, conversationID: conversationID, limit: limit)
    }
}
