import Synchronization

/// Keeps the recently used conversations a turn needs — the conversation, its branches and the
/// tail of each branch's path — in memory in front of the store, so a turn on a recent
/// conversation reads nothing from the database.
///
/// Entries change only with what the store did: a write that extends a branch at the head the
/// entry holds updates it from the messages `apply` returns (as stored); any other write (one
/// that landed out of order, a create, a conflict) drops the entry, so the next read loads it
/// again. A read that started before a write ended installs nothing (each entry has a
/// generation, moved by every write). Deletes drop the entry. Entries expire `ttl` seconds
/// after they were loaded (another replica's writes show after at most that long) and the least
/// recently used go past `capacity`. Everything else passes through.
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
        /// Moved by every write and drop of a key: a read that saw another value installs nothing.
        var generations: [Key: UInt64] = [:]
        var nextGeneration: UInt64 = 0
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

    private func generation(_ key: Key) -> UInt64? {
        state.withLock { $0.generations[key] }
    }

    private static func bump(_ key: Key, in state: inout State) {
        state.nextGeneration += 1
        state.generations[key] = state.nextGeneration
        // Generations of keys with no entry are only needed while a read may be in flight.
        if state.generations.count > 4 * max(1, state.entries.count) + 1024 {
            state.generations = state.generations.filter { state.entries[$0.key] != nil || $0.key == key }
        }
    }

    private static func remove(_ key: Key, from state: inout State) {
        bump(key, in: &state)
        guard let entry = state.entries.removeValue(forKey: key) else { return }
        for tail in entry.tails.values {
            for message in tail { state.messages[message.id] = nil }
        }
    }

    /// Changes the entry, unless a write moved its generation since `seen` (when given).
    private func update(_ key: Key, ifGeneration seen: UInt64?? = .none, _ change: (inout Entry) -> Void) {
        state.withLock { state in
            if case .some(let expected) = seen, state.generations[key] != expected { return }
            guard var entry = state.entries[key] else { return }
            let before = Set(entry.tails.values.joined().map(\.id))
            change(&entry)
            let after = Set(entry.tails.values.joined().map(\.id))
            for id in before.subtracting(after) { state.messages[id] = nil }
            for id in after.subtracting(before) { state.messages[id] = key }
            state.entries[key] = entry
        }
    }

    private func insert(_ conversation: Conversation, ifGeneration seen: UInt64?) {
        state.withLock { state in
            let key = Key(owner: conversation.owner, id: conversation.id)
            guard state.generations[key] == seen, state.entries[key] == nil else { return }
            state.tick += 1
            if state.entries[key] == nil, state.entries.count >= capacity {
                // The least recently used goes (a scan: eviction is rare next to hits).
                if let oldest = state.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                    Self.remove(oldest, from: &state)
                }
            }
            state.entries[key] = Entry(conversation: conversation, loadedAt: .now, lastUsed: state.tick)
        }
    }

    private func forget(_ key: Key) {
        state.withLock { state in Self.remove(key, from: &state) }
    }

    // MARK: Reads a turn makes

    package func conversation(owner: String, id: String) async throws -> Conversation? {
        let key = Key(owner: owner, id: id)
        if let entry = entry(key) { return entry.conversation }
        let seen = generation(key)
        guard let found = try await base.conversation(owner: owner, id: id) else { return nil }
        insert(found, ifGeneration: seen)
        return found
    }

    package func branches(owner: String, conversationID: String) async throws -> [Branch] {
        let key = Key(owner: owner, id: conversationID)
        if let branches = entry(key)?.branches { return branches }
        let seen = generation(key)
        let found = try await base.branches(owner: owner, conversationID: conversationID)
        update(key, ifGeneration: .some(seen)) { $0.branches = found }
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

    package func forgetResponse(owner: String, messageID: String) async throws -> Bool {
        let key: Key? = state.withLock { state in state.messages[messageID] }
        let forgot = try await base.forgetResponse(owner: owner, messageID: messageID)
        if let key, key.owner == owner { forget(key) }
        return forgot
    }

    package func removeMessages(owner: String, conversationID: String, ids: [String], rewrite: [String: ChatMessage]) async throws -> Bool {
        let key = Key(owner: owner, id: conversationID)
        forget(key)
        defer { forget(key) }
        return try await base.removeMessages(owner: owner, conversationID: conversationID, ids: ids, rewrite: rewrite)
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
        // The conversation is known once the path is read; its generation is taken from the
        // message index when the message is cached, else the read installs nothing new unless
        // the entry is unchanged since the branches were read (below).
        let before = state.withLock { state in state.generations }
        let path = try await base.path(owner: owner, to: messageID, limit: limit)
        // Any answer is a correct tail (the path's last `limit` messages, or all of it).
        if let last = path.last {
            let key = Key(owner: owner, id: last.conversationID)
            update(key, ifGeneration: .some(before[key])) { entry in
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
        // Reads in flight while this write runs install nothing.
        state.withLock { state in Self.bump(key, in: &state) }
        let stored: [StoredMessage]
        do {
            stored = try await base.apply(write)
        } catch {
            forget(key)
            throw error
        }
        let patched: Bool = state.withLock { state in
            defer { Self.bump(key, in: &state) }
            guard write.create == nil, !(stored.isEmpty && !write.messages.isEmpty), var entry = state.entries[key] else { return false }
            var heads = write.heads
            if let followed = write.followsHeadOf, heads[followed] != nil, let last = stored.last { heads[followed] = last.id }
            var branches = entry.branches
            if branches != nil { branches?.append(contentsOf: write.branches) }
            var tails = entry.tails
            for (branchID, head) in heads {
                // Only a chain that starts at the head the entry holds is patched in: anything
                // else (a write that landed out of order) drops the entry.
                guard let chainEnd = stored.lastIndex(where: { $0.id == head }) else { return false }
                var chain = [stored[chainEnd]]
                while let parent = chain.first?.parentID, let previous = stored.last(where: { $0.id == parent }) { chain.insert(previous, at: 0) }
                let start = chain.first?.parentID
                if let index = branches?.firstIndex(where: { $0.id == branchID }) {
                    guard branches?[index].headID == start else { return false }
                    branches?[index].headID = head
                    branches?[index].updatedAt = write.timestamp
                } else if branches != nil {
                    return false
                }
                if start == nil {
                    tails[branchID] = Array(chain.suffix(tailLength))
                } else if let tail = tails[branchID], tail.last?.id == start {
                    tails[branchID] = Array((tail + chain).suffix(tailLength))
                } else if let fork = tails.values.first(where: { $0.last?.id == start }) {
                    tails[branchID] = Array((fork + chain).suffix(tailLength))
                } else {
                    tails[branchID] = nil
                }
            }
            // A new branch whose head is an existing message shares the tail ending there.
            for branch in write.branches where heads[branch.id] == nil {
                if let head = branch.headID, let tail = tails.values.first(where: { $0.last?.id == head }) { tails[branch.id] = tail }
            }
            var conversation = write.update ?? entry.conversation
            conversation.messageCount = entry.conversation.messageCount + stored.count
            conversation.updatedAt = write.timestamp
            conversation.activeBranchID = write.activeBranchID ?? entry.conversation.activeBranchID
            conversation.provider = entry.conversation.provider ?? write.provider
            let before = Set(entry.tails.values.joined().map(\.id))
            entry.conversation = conversation
            entry.branches = branches
            entry.tails = tails
            let after = Set(tails.values.joined().map(\.id))
            for id in before.subtracting(after) { state.messages[id] = nil }
            for id in after.subtracting(before) { state.messages[id] = key }
            state.entries[key] = entry
            return true
        }
        if !patched { forget(key) }
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
