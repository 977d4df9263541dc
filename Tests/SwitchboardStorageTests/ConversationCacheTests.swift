import Logging
import SwitchboardCore
import SwitchboardStorage
import Synchronization
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The in-memory conversation cache in front of the real SQLite store: what it answers equals
/// what the store holds after every kind of write, and a turn on a cached conversation reads
/// nothing from the store.
@Suite struct ConversationCacheTests {
    /// Counts the reads a turn makes of the store underneath.
    final class Counting: ConversationStore {
        let base: any ConversationStore
        let reads = Mutex(0)
        init(_ base: any ConversationStore) { self.base = base }
        private func count() { reads.withLock { $0 += 1 } }

        func conversation(owner: String, id: String) async throws -> Conversation? {
            count()
            return try await base.conversation(owner: owner, id: id)
        }
        func branches(owner: String, conversationID: String) async throws -> [Branch] {
            count()
            return try await base.branches(owner: owner, conversationID: conversationID)
        }
        func message(owner: String, id: String) async throws -> StoredMessage? {
            count()
            return try await base.message(owner: owner, id: id)
        }
        func forgetResponse(owner: String, messageID: String) async throws -> Bool {
            try await base.forgetResponse(owner: owner, messageID: messageID)
        }
        func removeMessages(owner: String, conversationID: String, ids: [String], rewrite: [String: ChatMessage]) async throws -> Bool {
            try await base.removeMessages(owner: owner, conversationID: conversationID, ids: ids, rewrite: rewrite)
        }
        func path(owner: String, to messageID: String, limit: Int) async throws -> [StoredMessage] {
            count()
            return try await base.path(owner: owner, to: messageID, limit: limit)
        }
        func conversations(_ query: ConversationQuery) async throws -> [Conversation] { try await base.conversations(query) }
        func conversationCount(owner: String) async throws -> Int { try await base.conversationCount(owner: owner) }
        func apply(_ write: ConversationWrite) async throws -> [StoredMessage] { try await base.apply(write) }
        func deleteConversations(owner: String, ids: [String]) async throws -> [String] { try await base.deleteConversations(owner: owner, ids: ids) }
        func messages(owner: String, conversationID: String) async throws -> [StoredMessage] { try await base.messages(owner: owner, conversationID: conversationID) }
        func toolCalls(owner: String, conversationID: String) async throws -> [StoredToolCall] { try await base.toolCalls(owner: owner, conversationID: conversationID) }
        func search(owner: String, text: String, conversationID: String?, limit: Int) async throws -> [StoredMessage] {
            try await base.search(owner: owner, text: text, conversationID: conversationID, limit: limit)
        }
        func eraseConversations(owner: String) async throws -> ConversationErasure { try await base.eraseConversations(owner: owner) }
    }

    func withStore(_ body: @Sendable (any ConversationStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-conv-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try await openStorage("sqlite://" + directory.appendingPathComponent("c.db").path, logger: Logger(label: "cache-test"))
        try await body(storage.conversations)
        try await storage.close()
    }

    static let owner = "user:cache"

    static func message(_ id: String, parent: String?, branch: String, depth: Int, _ role: ChatRole, _ text: String) -> StoredMessage {
        StoredMessage(id: id, conversationID: "c1", parentID: parent, branchID: branch, depth: depth, message: ChatMessage(role: role, content: .text(text)), createdAt: Double(depth))
    }

    static func turn(_ messages: [StoredMessage], head branch: String, follows: Bool = true) -> ConversationWrite {
        var write = ConversationWrite(owner: owner, conversationID: "c1", timestamp: 100)
        write.messages = messages
        if let last = messages.last { write.heads[branch] = last.id }
        if follows { write.followsHeadOf = branch }
        return write
    }

    /// What the cache says and what the store says, for the path to `head`.
    static func same(_ cache: any ConversationStore, _ store: any ConversationStore, head: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let cached = try await cache.path(owner: owner, to: head, limit: 100).map(\.id)
        let stored = try await store.path(owner: owner, to: head, limit: 100).map(\.id)
        #expect(cached == stored, sourceLocation: sourceLocation)
        let cachedBranches = try await cache.branches(owner: owner, conversationID: "c1")
        let storedBranches = try await store.branches(owner: owner, conversationID: "c1")
        #expect(cachedBranches.map(\.headID) == storedBranches.map(\.headID), sourceLocation: sourceLocation)
        #expect(try await cache.conversation(owner: owner, id: "c1")?.messageCount == (try await store.conversation(owner: owner, id: "c1")?.messageCount), sourceLocation: sourceLocation)
    }

    @Test func turnsOnACachedConversationReadNothingAndMatchTheStore() async throws {
        try await withStore { store in
            let counting = Counting(store)
            let cache = CachedConversationStore(base: counting, capacity: 10, ttl: .seconds(60), tailLength: 100)
            var create = ConversationWrite(owner: Self.owner, conversationID: "c1", timestamp: 1)
            create.create = Conversation(id: "c1", owner: Self.owner, activeBranchID: "main", createdAt: 1, updatedAt: 1)
            create.branches = [Branch(id: "main", conversationID: "c1", name: "main", headID: nil, createdAt: 1, updatedAt: 1)]
            try await cache.apply(create)
            try await cache.apply(Self.turn([Self.message("u1", parent: nil, branch: "main", depth: 0, .user, "one"), Self.message("a1", parent: "u1", branch: "main", depth: 1, .assistant, "echo one")], head: "main"))
            try await Self.same(cache, store, head: "a1")

            /// A turn's reads as the stage makes them: conversation, branches, the head, the path.
            @Sendable func turnReads(head: String) async throws -> [String] {
                _ = try await cache.conversation(owner: Self.owner, id: "c1")
                _ = try await cache.branches(owner: Self.owner, conversationID: "c1")
                _ = try await cache.message(owner: Self.owner, id: head)
                return try await cache.path(owner: Self.owner, to: head, limit: 99).map(\.id)
            }
            // The first turn loads the entry; the next, after a write at its head, reads nothing.
            #expect(try await turnReads(head: "a1") == ["u1", "a1"])
            var before = counting.reads.withLock { $0 }
            #expect(try await turnReads(head: "a1") == ["u1", "a1"])
            #expect(counting.reads.withLock { $0 } == before)

            try await cache.apply(Self.turn([Self.message("u2", parent: "a1", branch: "main", depth: 2, .user, "two"), Self.message("a2", parent: "u2", branch: "main", depth: 3, .assistant, "echo two")], head: "main"))
            before = counting.reads.withLock { $0 }
            #expect(try await turnReads(head: "a2") == ["u1", "a1", "u2", "a2"])
            #expect(counting.reads.withLock { $0 } == before, "a write at the cached head is patched in")
            try await Self.same(cache, store, head: "a2")

            // A turn that read the head before another landed: the store moves it after a2; so does the cache.
            let moved = try await cache.apply(Self.turn([Self.message("u3", parent: "a1", branch: "main", depth: 2, .user, "late"), Self.message("a3", parent: "u3", branch: "main", depth: 3, .assistant, "echo late")], head: "main"))
            #expect(moved.first?.parentID == "a2")
            try await Self.same(cache, store, head: "a3")
            #expect(try await turnReads(head: "a3") == ["u1", "a1", "u2", "a2", "u3", "a3"])

            // A fork at a2 on a new branch, and an edit of the first message (a new root).
            var fork = Self.turn([Self.message("u4", parent: "a2", branch: "b2", depth: 4, .user, "fork"), Self.message("a4", parent: "u4", branch: "b2", depth: 5, .assistant, "echo fork")], head: "b2", follows: false)
            fork.branches = [Branch(id: "b2", conversationID: "c1", name: "b2", headID: "a2", forkID: "a2", parentBranchID: "main", createdAt: 5, updatedAt: 5)]
            fork.activeBranchID = "b2"
            try await cache.apply(fork)
            try await Self.same(cache, store, head: "a4")
            var edit = Self.turn([Self.message("u1e", parent: nil, branch: "b3", depth: 0, .user, "uno")], head: "b3", follows: false)
            edit.branches = [Branch(id: "b3", conversationID: "c1", name: "b3", headID: nil, createdAt: 6, updatedAt: 6)]
            try await cache.apply(edit)
            try await Self.same(cache, store, head: "u1e")
            #expect(try await cache.conversation(owner: Self.owner, id: "c1")?.activeBranchID == "b2")
            // Another owner never sees it, cached or not.
            #expect(try await cache.conversation(owner: "user:other", id: "c1") == nil)
            #expect(try await cache.message(owner: "user:other", id: "a1") == nil)
            #expect(try await cache.path(owner: "user:other", to: "a3", limit: 99).isEmpty)

            _ = try await cache.deleteConversations(owner: Self.owner, ids: ["c1"])
            #expect(try await cache.conversation(owner: Self.owner, id: "c1") == nil)
            #expect(try await cache.path(owner: Self.owner, to: "a3", limit: 99).isEmpty)
        }
    }

    @Test func entriesExpireAndTheLeastRecentlyUsedGo() async throws {
        try await withStore { store in
            let counting = Counting(store)
            for id in ["c1", "c2"] {
                var create = ConversationWrite(owner: Self.owner, conversationID: id, timestamp: 1)
                create.create = Conversation(id: id, owner: Self.owner, activeBranchID: "main-\(id)", createdAt: 1, updatedAt: 1)
                create.branches = [Branch(id: "main-\(id)", conversationID: id, name: "main", headID: nil, createdAt: 1, updatedAt: 1)]
                try await store.apply(create)
            }
            let small = CachedConversationStore(base: counting, capacity: 1, ttl: .seconds(60), tailLength: 10)
            _ = try await small.conversation(owner: Self.owner, id: "c1")
            _ = try await small.conversation(owner: Self.owner, id: "c1")
            #expect(counting.reads.withLock { $0 } == 1)
            _ = try await small.conversation(owner: Self.owner, id: "c2")
            _ = try await small.conversation(owner: Self.owner, id: "c1")
            #expect(counting.reads.withLock { $0 } == 3, "c1 was evicted by c2")

            let brief = CachedConversationStore(base: counting, capacity: 10, ttl: .milliseconds(50), tailLength: 10)
            _ = try await brief.conversation(owner: Self.owner, id: "c2")
            try await Task.sleep(for: .milliseconds(120))
            _ = try await brief.conversation(owner: Self.owner, id: "c2")
            #expect(counting.reads.withLock { $0 } == 5, "an expired entry is read again")
        }
    }
}
