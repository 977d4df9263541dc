#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stored conversations: a before-stage that builds a call's context from its conversation's
/// path and places the turn in the tree, and an observer that stores the turn — the new
/// messages and the answer, in one write — once the answer is in.
///
/// Runs before admission, so the context it builds is what the budget reserves for and what
/// the cache keys on. The read is on the call's path (one conversation, its branches, the
/// path); the write is not: it goes to the ``ConversationJournal``, which lands one
/// conversation's writes in order, and every read of that conversation waits for them.
/// A call that fails stores nothing; a stream that broke off or whose client left stores what
/// was received, marked incomplete.
package struct ConversationStage: CallStage {
    let store: any ConversationStore
    let journal: any ConversationJournal
    package let settings: ConversationsConfig
    /// The models' context windows, which the stored context is cut to fit.
    let catalog: ModelCatalog?
    let metrics: ConversationMetrics
    let now: @Sendable () -> Double

    package init(
        store: any ConversationStore, journal: any ConversationJournal, settings: ConversationsConfig, catalog: ModelCatalog? = nil,
        metrics: ConversationMetrics = ConversationMetrics(factory: nil), now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.store = store
        self.journal = journal
        self.settings = settings
        self.catalog = catalog
        self.metrics = metrics
        self.now = now
    }

    /// What a client-chosen conversation id may be: 1–128 letters, digits, `-`, `_`, `.`, `:`.
    package static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            }
    }

    package func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
        guard case .chat(var request) = call.request, let turn = request.gatewayExtensions.conversation else { return .proceed }
        try settings.requireEnabled(param: "conversation_id")
        if turn.readsOnly {
            // Continues a stored response without storing this turn (`store: false` with `previous_response_id`).
            let owner = ConversationOwner.of(call.principal)
            let (parent, conversation) = try await continued(turn, owner: owner, timestamp: now())
            (request.messages, _) = try await context(for: turn, after: parent, in: conversation, owner: owner, request: request)
            call.request = .chat(request)
            return .proceed
        }
        guard !journal.isBacklogged else {
            throw GatewayError(.internalError, "Conversations cannot be stored right now; retry shortly.", status: 503)
        }
        let owner = ConversationOwner.of(call.principal)
        let timestamp = now()
        let placed = try await place(turn, owner: owner, request: request, timestamp: timestamp)
        var (write, parentID, depth) = Self.chain(turn, placed: placed, timestamp: timestamp)
        if request.model.isEmpty {
            guard let model = placed.conversation.model, !model.isEmpty else {
                throw GatewayError.validation("Missing required field `model`: the conversation has no model of its own.", param: "model")
            }
            request.model = model
        }
        // The context the model sees.
        var dropped = 0
        if turn.context == .stored {
            (request.messages, dropped) = try await context(for: turn, after: placed.parent, in: placed.conversation, owner: owner, request: request)
        } else if let system = placed.conversation.systemPrompt, !request.messages.contains(where: { $0.role == .system }) {
            request.messages.insert(ChatMessage(role: .system, content: .text(system)), at: 0)
        }
        if write.create != nil { write.create?.model = request.model }
        guard !request.messages.isEmpty else {
            throw GatewayError.validation("The call has nothing to answer: send `message` or `messages`.", param: "message")
        }
        call.request = .chat(request)
        metrics.count(placed.write.create != nil ? .create : .chat)
        let answerID = turn.answerID ?? ConversationIDs.make()
        let note = ConversationNote(
            conversationID: placed.conversation.id, messageID: answerID, parentMessageID: parentID, branchID: placed.branch.id,
            droppedMessages: dropped
        )
        let append = Append(
            journal: journal, write: write, answerID: answerID, parentID: parentID, depth: depth, branchID: placed.branch.id,
            requestID: call.context.requestID, record: turn.record, now: now, assembler: call.stream ? ChunkAssembler(limit: 8 << 20) : nil
        )
        return StagePlan(observer: append, notes: CallNotes(conversation: note))
    }

    /// The messages a stored turn's call carries: the system text (the conversation's prompt and
    /// the turn's instructions), the path to its parent within `max_context_messages`, the new
    /// messages, cut to the model's window (or refused over it, `refusesOverflow`); and how many
    /// stored messages were left out.
    func context(
        for turn: ConversationTurn, after parent: StoredMessage?, in conversation: Conversation, owner: String, request: ChatRequest
    ) async throws(GatewayError) -> (messages: [ChatMessage], dropped: Int) {
        var dropped = 0
        var context: [ChatMessage] = []
        if let parent {
            let pathLimit = max(0, settings.maxContextMessages - turn.newMessages.count)
            let path = try await StoreAccess.run { try await store.path(owner: owner, to: parent.id, limit: pathLimit) }
            dropped = parent.depth + 1 - path.count
            // `truncation: disabled` (Responses) takes the whole chain or nothing.
            if turn.refusesOverflow, dropped > 0 {
                throw GatewayError.validation(
                    "The conversation is longer than the \(settings.maxContextMessages) messages a call may carry (`conversations.max_context_messages`); set `truncation` to `auto` to drop the oldest.",
                    param: "input"
                )
            }
            context = path.map(\.message)
        }
        if turn.record != nil || turn.readsOnly, let unanswered = ChatMessage.unansweredToolOutput(in: turn.newMessages, after: context) {
            throw GatewayError.validation("No tool call found for function call output with call_id `\(unanswered)`.", param: "input")
        }
        context += turn.newMessages
        let window = catalog?.contextWindow(of: request.model)
        let budget = Self.promptBudget(window: window, answerTokens: request.maxCompletionTokens ?? request.maxTokens, setting: settings.maxContextTokens)
        let system = [conversation.systemPrompt, turn.instructions].compactMap { $0 }.joined(separator: "\n\n")
        let systemMessages = system.isEmpty ? [] : [ChatMessage(role: .system, content: .text(system))]
        if turn.refusesOverflow, TokenEstimator.estimatePrompt(systemMessages + context) > budget {
            throw Self.overflow(model: request.model, window: window ?? budget)
        }
        dropped += Self.fit(&context, system: system.isEmpty ? nil : system, maxTokens: budget)
        return (systemMessages + context, dropped)
    }

    /// The stored response a turn continues and its conversation: unknown, deleted, expired or
    /// another owner's is a 404. A client may ask the moment it has the answer, so the owner's
    /// queued writes land first.
    func continued(_ turn: ConversationTurn, owner: String, timestamp: Double) async throws(GatewayError) -> (StoredMessage, Conversation) {
        let parentID = turn.parentMessageID ?? ""
        let notFound = GatewayError(.notFound, "Previous response with id 'resp_\(parentID)' not found.", param: "previous_response_id")
        await journal.settled(owner: owner)
        guard let parent = try await StoreAccess.run({ try await store.message(owner: owner, id: parentID) }), parent.response != nil,
            settings.responseRetentionSeconds.map({ parent.createdAt + $0 >= timestamp }) ?? true,
            let conversation = try await StoreAccess.run({ try await store.conversation(owner: owner, id: parent.conversationID) })
        else { throw notFound }
        return (parent, conversation)
    }

    /// Where the turn goes: its conversation (found or new), the parent it follows and the
    /// branch it extends (the parent's, or a new one forked at the parent).
    package func place(
        _ turn: ConversationTurn, owner: String, request: ChatRequest, timestamp: Double
    ) async throws(GatewayError) -> (conversation: Conversation, parent: StoredMessage?, branch: Branch, write: ConversationWrite) {
        var turn = turn
        if turn.continuesResponse, turn.parentMessageID != nil {
            // The response names its conversation.
            turn.conversationID = try await continued(turn, owner: owner, timestamp: timestamp).1.id
        }
        var conversation: Conversation?
        if let id = turn.conversationID {
            await journal.settled(owner: owner, conversationID: id)
            conversation = try await StoreAccess.run { try await store.conversation(owner: owner, id: id) }
            if conversation == nil {
                guard turn.createIfMissing else { throw Self.unknownConversation(id) }
                guard Self.isValidID(id) else {
                    throw GatewayError.validation(
                        "`conversation_id` must be 1–128 letters, digits, `-`, `_`, `.` or `:`.", param: "conversation_id"
                    )
                }
            }
        }
        guard let conversation else {
            // A new conversation, with its first branch.
            guard turn.parentMessageID == nil else {
                throw GatewayError.validation("`parent_message_id` needs the `conversation_id` it belongs to.", param: "parent_message_id")
            }
            try settings.requireRoom(forConversationAfter: try await StoreAccess.run { try await store.conversationCount(owner: owner) })
            let id = turn.conversationID ?? ConversationIDs.make()
            let branch = Branch(id: ConversationIDs.make(), conversationID: id, name: "main", headID: nil, createdAt: timestamp, updatedAt: timestamp)
            let firstText = turn.newMessages.first(where: { $0.role == .user })?.content?.text ?? ""
            let made = Conversation(
                id: id, owner: owner, title: turn.title ?? Self.title(from: firstText), systemPrompt: turn.systemPrompt,
                model: request.model.isEmpty ? nil : request.model, activeBranchID: branch.id, createdAt: timestamp, updatedAt: timestamp
            )
            var write = ConversationWrite(owner: owner, conversationID: id, timestamp: timestamp)
            write.create = made
            write.branches = [branch]
            try settings.requireRoom(for: turn.newMessages.count + 1, in: made)
            return (made, nil, branch, write)
        }
        try settings.requireRoom(for: turn.newMessages.count + 1, in: conversation)
        var write = ConversationWrite(owner: owner, conversationID: conversation.id, timestamp: timestamp)
        let branches = try await StoreAccess.run { try await store.branches(owner: owner, conversationID: conversation.id) }
        guard let active = branches.first(where: { $0.id == conversation.activeBranchID }) ?? branches.first else {
            throw GatewayError(.internalError, "Conversation `\(conversation.id)` has no branch.")
        }
        var parent: StoredMessage?
        if turn.startsOver {
            parent = nil
        } else if let parentID = turn.parentMessageID {
            guard let found = try await StoreAccess.run({ try await store.message(owner: owner, id: parentID) }),
                found.conversationID == conversation.id
            else {
                throw GatewayError.validation(
                    "`parent_message_id` `\(parentID)` is not a message of conversation `\(conversation.id)`.", param: "parent_message_id"
                )
            }
            parent = found
        } else if let head = active.headID {
            parent = try await StoreAccess.run { try await store.message(owner: owner, id: head) }
        }
        // A turn that extends a branch's head follows the head as it is when written: a turn
        // that landed meanwhile (named parent or not) stays on the branch, before this one.
        if !turn.forceBranch, !turn.startsOver, parent?.id == active.headID {
            write.followsHeadOf = active.id
            return (conversation, parent, active, write)
        }
        if !turn.forceBranch, let parent, let owning = branches.first(where: { $0.headID == parent.id }) {
            write.activeBranchID = owning.id
            write.followsHeadOf = owning.id
            return (conversation, parent, owning, write)
        }
        // A fork: the parent is inside a branch, or the turn starts over from the top.
        try settings.requireRoom(forBranchAfter: branches.count, in: conversation.id)
        let branch = Branch(
            id: ConversationIDs.make(), conversationID: conversation.id, name: turn.branchName ?? "branch-\(branches.count + 1)",
            headID: parent?.id, forkID: parent?.id, parentBranchID: parent?.branchID ?? active.id, createdAt: timestamp, updatedAt: timestamp
        )
        write.branches = [branch]
        write.activeBranchID = branch.id
        return (conversation, parent, branch, write)
    }

    /// The turn's new messages as a chain below the parent; the answer's parent and depth.
    static func chain(
        _ turn: ConversationTurn, placed: (conversation: Conversation, parent: StoredMessage?, branch: Branch, write: ConversationWrite),
        timestamp: Double
    ) -> (write: ConversationWrite, parentID: String?, depth: Int) {
        var write = placed.write
        var parentID = placed.parent?.id
        var depth = (placed.parent?.depth ?? -1) + 1
        for message in turn.newMessages {
            let id = ConversationIDs.make()
            write.append(StoredMessage(
                id: id, conversationID: placed.conversation.id, parentID: parentID, branchID: placed.branch.id, depth: depth,
                message: message, createdAt: timestamp
            ))
            parentID = id
            depth += 1
        }
        for (callID, result) in turn.toolResults { write.toolResults[callID] = result }
        return (write, parentID, depth)
    }

    /// Stores a turn's messages with no answer (`POST …/messages`, an edit not answered): the
    /// last becomes its branch's head. Written at once, after the conversation's queued writes.
    package func store(_ turn: ConversationTurn, principal: Principal) async throws(GatewayError) -> (messages: [StoredMessage], branch: Branch) {
        try settings.requireEnabled()
        let owner = ConversationOwner.of(principal)
        let timestamp = now()
        let placed = try await place(turn, owner: owner, request: ChatRequest(model: "", messages: []), timestamp: timestamp)
        var (write, _, _) = Self.chain(turn, placed: placed, timestamp: timestamp)
        if let last = write.messages.last { write.heads[placed.branch.id] = last.id }
        if write.create == nil { write.activeBranchID = placed.branch.id }
        let stored = try await StoreAccess.run { [write] in try await store.apply(write) }
        return (stored, placed.branch)
    }

    /// A context over the model's window, refused.
    package static func overflow(model: String, window: Int) -> GatewayError {
        GatewayError.validation(
            "The input exceeds the context window of `\(model)` (\(window) tokens, leaving room for the answer); shorten it or set `truncation` to `auto`.",
            param: "input"
        )
    }

    package static func unknownConversation(_ id: String) -> GatewayError {
        GatewayError(.notFound, "No conversation `\(id)`.", param: "conversation_id")
    }

    /// A title from the first words of the first message.
    static func title(from text: String) -> String? {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !line.isEmpty else { return nil }
        return line.count <= 60 ? line : String(line.prefix(57)) + "…"
    }

    /// The most tokens the stored context may take: `max_context_tokens`, and no more of the
    /// model's window than leaves room for the answer (its `max_tokens`, else a quarter of the
    /// window).
    package static func promptBudget(window: Int?, answerTokens: Int?, setting: Int) -> Int {
        guard let window else { return setting }
        let answer = min(window, max(0, answerTokens ?? window / 4))
        return min(setting, window - answer)
    }

    /// Drops the oldest messages until the estimated prompt fits `maxTokens` (one message always
    /// stays, and a context never starts with a tool answer whose call was dropped); returns how many went.
    package static func fit(_ context: inout [ChatMessage], system: String?, maxTokens: Int) -> Int {
        let systemTokens = system.map { TokenEstimator.estimatePrompt([ChatMessage(role: .system, content: .text($0))]) } ?? 0
        var tokens = systemTokens + TokenEstimator.estimatePrompt(context)
        var dropped = 0
        while context.count > 1, tokens > maxTokens || context[0].role == .tool {
            let first = context.removeFirst()
            tokens -= TokenEstimator.estimatePrompt([first])
            dropped += 1
        }
        return dropped
    }

    /// Stores the turn once its answer is in.
    struct Append: CallObserver {
        let journal: any ConversationJournal
        let write: ConversationWrite
        let answerID: String
        let parentID: String?
        let depth: Int
        let branchID: String
        let requestID: String
        let record: JSONValue?
        let now: @Sendable () -> Double
        var assembler: ChunkAssembler?

        mutating func observe(_ chunk: ChatChunk) {
            assembler?.add(chunk)
        }

        /// A Responses record with why the answer stopped (`length` reads back as `incomplete`).
        static func record(_ record: JSONValue?, finishReason: String?) -> JSONValue? {
            guard case .object(var fields)? = record, let finishReason else { return record }
            fields["finish_reason"] = .string(finishReason)
            return .object(fields)
        }

        func finish(_ settlement: CallSettlement) {
            let response: ChatResponse?
            let incomplete: Bool
            switch settlement.outcome {
            case .served:
                response = settlement.response ?? assembler?.response() ?? assembler?.received()
                // A streamed answer too large to keep is stored empty, and says so.
                incomplete = settlement.response == nil && assembler?.overflowed == true
            case .brokeOff, .clientGone:
                guard settlement.servedBy != nil else { return }
                response = assembler?.received()
                incomplete = true
            case .failed:
                return
            }
            var message = response?.choices.first?.message ?? ChatMessage(role: .assistant, content: .text(""))
            message.role = .assistant
            if var calls = message.toolCalls {
                for index in calls.indices where calls[index].id.isEmpty {
                    calls[index].id = ConversationIDs.callID(answer: answerID, index: index)
                }
                message.toolCalls = calls
            }
            let timestamp = now()
            var write = write
            write.append(StoredMessage(
                id: answerID, conversationID: write.conversationID, parentID: parentID, branchID: branchID, depth: depth, message: message,
                model: settlement.servedBy?.model, provider: settlement.servedBy?.provider, promptTokens: settlement.usage.promptTokens,
                completionTokens: settlement.usage.completionTokens, costUSD: settlement.cost, latencyMilliseconds: settlement.elapsed.milliseconds,
                requestID: requestID, incomplete: incomplete, response: Self.record(record, finishReason: response?.choices.first?.finishReason),
                createdAt: timestamp
            ))
            write.heads[branchID] = answerID
            if write.activeBranchID == nil, write.create == nil { write.activeBranchID = branchID }
            write.provider = settlement.servedBy?.provider
            write.timestamp = timestamp
            journal.enqueue(write)
        }
    }
}

/// Store failures as the gateway reports them: logged by the caller, never shown raw.
package enum StoreAccess {
    package static func run<Result: Sendable>(_ body: () async throws -> Result) async throws(GatewayError) -> Result {
        do {
            return try await body()
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.internalError, "The conversation store could not be reached; try again shortly.")
        }
    }
}
