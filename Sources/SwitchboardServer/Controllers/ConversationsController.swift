import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/v1/conversations…` (and `/api/v1/…`): the chat orchestrator's conversation trees. Every
/// read and write is the caller's own (``ConversationOwner``): another owner's conversation is
/// a 404 like one that never was. An admin may read another owner's with `?owner=`.
///
/// Calls that need a model (regenerate, an edit that is answered, a `summarize` merge) run
/// through the ``CallPipeline`` like any chat call: limits, budget, ledger, conversation stage.
struct ConversationsController: Sendable {
    typealias Context = AuthenticatedContext

    let store: any ConversationStore
    let profiles: any UserProfileStore
    let journal: any ConversationJournal
    let stage: ConversationStage
    let pipeline: CallPipeline
    let bodyReader: RequestBodyReader
    let metrics: ConversationMetrics
    /// Answers calls made here (regenerate, an answered edit) as OpenAI chat completions,
    /// streamed when the body asks for `"stream": true`.
    let calls: ChatEndpoint<OpenAIChatDoor>

    var settings: ConversationsConfig { stage.settings }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("conversations", use: list)
        group.post("conversations", use: create)
        group.post("conversations/batch", use: batch)
        group.get("conversations/:id", use: show)
        group.patch("conversations/:id", use: update)
        group.post("conversations/:id", use: update)
        group.delete("conversations/:id", use: delete)
        group.get("conversations/:id/full", use: full)
        group.get("conversations/:id/export", use: export)
        group.get("conversations/:id/branches", use: listBranches)
        group.post("conversations/:id/branches", use: createBranch)
        group.post("conversations/:id/branches/:branch/activate", use: activate)
        group.post("conversations/:id/branches/:branch/merge", use: merge)
        group.get("conversations/:id/branches/:branch/stats", use: stats)
        group.get("conversations/:id/messages", use: listMessages)
        group.post("conversations/:id/messages", use: addMessage)
        group.post("conversations/:id/messages/search", use: searchMessages)
        group.patch("conversations/:id/messages/:message", use: editMessage)
        group.post("conversations/:id/messages/:message/regenerate", use: regenerate)
        group.get("conversations/:id/items", use: listItems)
        group.post("conversations/:id/items", use: addItems)
        group.get("conversations/:id/items/:item", use: showItem)
        group.delete("conversations/:id/items/:item", use: deleteItem)
    }

    // MARK: Owners and lookups

    static func parameter(_ name: String, _ context: Context) throws(GatewayError) -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else {
            throw GatewayError(.internalError, "The route has no `\(name)`.")
        }
        return value
    }

    /// The caller's own owner id, or (admins, reads only) the `owner` they name.
    static func owner(_ request: Request, _ context: Context, readOnly: Bool) throws(GatewayError) -> String {
        guard let named = request.uri.queryParameters["owner"].map(String.init), !named.isEmpty else {
            return ConversationOwner.of(context.principal)
        }
        guard readOnly, context.principal.may(.administer) else {
            throw GatewayError(.permissionDenied, "Only an admin may name another owner (`owner`), and only to read their conversations.")
        }
        return named.contains(":") ? named : "user:\(named)"
    }

    /// `conversations.enabled: false` turns every conversation route off, not only new turns.
    func requireEnabled() throws(GatewayError) {
        try settings.requireEnabled()
    }

    func conversation(_ owner: String, _ context: Context) async throws(GatewayError) -> Conversation {
        try requireEnabled()
        let id = try Self.parameter("id", context)
        await journal.settled(owner: owner, conversationID: id)
        guard let found = try await StoreAccess.run({ try await store.conversation(owner: owner, id: id) }) else {
            throw ConversationStage.unknownConversation(id)
        }
        return found
    }

    func branch(_ conversation: Conversation, _ owner: String, id: String, param: String = "branch_id") async throws(GatewayError) -> (Branch, [Branch]) {
        let branches = try await StoreAccess.run { try await store.branches(owner: owner, conversationID: conversation.id) }
        guard let branch = branches.first(where: { $0.id == id }) else {
            throw GatewayError(.notFound, "No branch `\(id)` in conversation `\(conversation.id)`.", param: param)
        }
        return (branch, branches)
    }

    func message(_ conversation: Conversation, _ owner: String, id: String) async throws(GatewayError) -> StoredMessage {
        guard let found = try await StoreAccess.run({ try await store.message(owner: owner, id: id) }), found.conversationID == conversation.id else {
            throw GatewayError(.notFound, "No message `\(id)` in conversation `\(conversation.id)`.", param: "message_id")
        }
        return found
    }

    /// The path from the first message to a branch's head.
    func path(_ branch: Branch, _ owner: String) async throws(GatewayError) -> [StoredMessage] {
        guard let head = branch.headID else { return [] }
        return try await StoreAccess.run { try await store.path(owner: owner, to: head, limit: Int(Int32.max)) }
    }

    func apply(_ write: ConversationWrite) async throws(GatewayError) {
        _ = try await StoreAccess.run { try await store.apply(write) }
    }

    static func feature(_ on: Bool, _ what: String, _ key: String) throws(GatewayError) {
        guard on else { throw GatewayError(.permissionDenied, "\(what) is turned off here (`conversations.\(key): false`).") }
    }

    // MARK: Conversations

    @Sendable func list(request: Request, context: Context) async throws -> Response {
        try requireEnabled()
        let owner = try Self.owner(request, context, readOnly: true)
        let parameters = request.uri.queryParameters
        var query = ConversationQuery(owner: owner)
        query.text = parameters["q"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        query.model = parameters["model"].map(String.init)
        if let text = parameters["archived"].map(String.init) {
            guard let archived = Bool(text.lowercased()) else {
                throw GatewayError.validation("`archived` must be true or false, not `\(text)`.", param: "archived")
            }
            query.archived = archived
        }
        for name in ["from", "to"] {
            guard let text = parameters[Substring(name)].map(String.init) else { continue }
            guard let time = CivilDate.parse(text) else {
                throw GatewayError.validation("`\(name)` must be a date (`2026-12-01`), an ISO 8601 UTC time or seconds since 1970.", param: name)
            }
            if name == "from" { query.from = time } else { query.to = time }
        }
        let limit = try Self.limit(request, default: 20, maximum: 100)
        query.limit = limit + 1
        if let token = parameters["cursor"].map(String.init) {
            guard let cursor = ConversationCursor(token: token) else {
                throw GatewayError.validation("`cursor` is not one this list gave out.", param: "cursor")
            }
            query.after = cursor
        }
        await journal.settled(owner: owner)
        let found = try await StoreAccess.run { [query] in try await store.conversations(query) }
        let page = Array(found.prefix(limit))
        let next = found.count > limit ? page.last.map { ConversationCursor(updatedAt: $0.updatedAt, id: $0.id).token } : nil
        metrics.count(query.text == nil ? .read : .search)
        return try AdminController.json(PageView(data: page.map(ConversationView.init), hasMore: next != nil, nextCursor: next))
    }

    struct CreateBody: Decodable {
        var id: String?
        var title: String?
        var systemPrompt: String?
        var model: String?
        var settings: JSONValue?
        /// The Conversations API's: first items (Responses input items, at most 20) and metadata.
        var items: [JSONValue]?
        var metadata: JSONValue?

        enum CodingKeys: String, CodingKey {
            case id, title, model, settings, items, metadata
            case systemPrompt = "system_prompt"
        }
    }

    @Sendable func create(request: Request, context: Context) async throws -> Response {
        try requireEnabled()
        let body = try await bodyReader.decode(CreateBody.self, from: request)
        let owner = try Self.owner(request, context, readOnly: false)
        if let id = body.id {
            guard ConversationStage.isValidID(id) else {
                throw GatewayError.validation("`id` must be 1–128 letters, digits, `-`, `_`, `.` or `:`.", param: "id")
            }
            if try await StoreAccess.run({ try await store.conversation(owner: owner, id: id) }) != nil {
                throw GatewayError(.conflict, "You already have a conversation `\(id)`.", param: "id")
            }
        }
        let metadata = try ResponsesInbound.metadata(body.metadata)
        let items = try Self.messages(fromItems: body.items ?? [])
        try settings.requireRoom(forConversationAfter: try await StoreAccess.run { try await store.conversationCount(owner: owner) })
        let now = Date().timeIntervalSince1970
        let id = body.id ?? ConversationIDs.make()
        let branch = Branch(id: ConversationIDs.make(), conversationID: id, name: "main", headID: nil, createdAt: now, updatedAt: now)
        // No model named: the caller's own default (`PATCH /v1/users/me`).
        var model = body.model
        if model == nil { model = try await StoreAccess.run { try await profiles.profile(owner: owner) }?.defaultModel }
        let made = Conversation(
            id: id, owner: owner, title: body.title, systemPrompt: body.systemPrompt, model: model, settings: body.settings,
            metadata: metadata, activeBranchID: branch.id, createdAt: now, updatedAt: now
        )
        try settings.requireRoom(for: items.count, in: made)
        var write = ConversationWrite(owner: owner, conversationID: id, timestamp: now)
        write.create = made
        write.branches = [branch]
        // First items: one chain on the first branch, in the same write.
        var parentID: String?
        for (depth, message) in items.enumerated() {
            let stored = StoredMessage(
                id: ConversationIDs.make(), conversationID: id, parentID: parentID, branchID: branch.id, depth: depth, message: message, createdAt: now
            )
            write.append(stored)
            parentID = stored.id
        }
        if let parentID { write.heads[branch.id] = parentID }
        try await apply(write)
        metrics.count(.create)
        var shown = made
        shown.messageCount = items.count
        return try AdminController.json(ConversationView(shown), status: .created)
    }

    @Sendable func show(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        metrics.count(.read)
        return try AdminController.json(ConversationView(found))
    }

    struct UpdateBody: Decodable {
        var title: JSONValue?
        var systemPrompt: JSONValue?
        var model: JSONValue?
        var settings: JSONValue?
        var metadata: JSONValue?
        var archived: Bool?

        enum CodingKeys: String, CodingKey {
            case title, model, settings, metadata, archived
            case systemPrompt = "system_prompt"
        }
    }

    @Sendable func update(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        let body = try await bodyReader.decode(UpdateBody.self, from: request)
        var found = try await conversation(owner, context)
        found.title = try PatchField.string(body.title, "title", current: found.title)
        found.systemPrompt = try PatchField.string(body.systemPrompt, "system_prompt", current: found.systemPrompt)
        found.model = try PatchField.string(body.model, "model", current: found.model)
        if let settings = body.settings { found.settings = settings == .null ? nil : settings }
        if let archived = body.archived { found.archived = archived }
        if let metadata = body.metadata { found.metadata = try ResponsesInbound.metadata(metadata) }
        let now = Date().timeIntervalSince1970
        var write = ConversationWrite(owner: owner, conversationID: found.id, timestamp: now)
        write.update = found
        try await apply(write)
        found.updatedAt = now
        metrics.count(.update)
        return try AdminController.json(ConversationView(found))
    }

    @Sendable func delete(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        let found = try await conversation(owner, context)
        let deleted = try await StoreAccess.run { try await store.deleteConversations(owner: owner, ids: [found.id]) }
        guard !deleted.isEmpty else { throw ConversationStage.unknownConversation(found.id) }
        metrics.count(.delete)
        return try AdminController.json(DeletedView(id: found.id))
    }

    func tree(_ conversation: Conversation, _ owner: String) async throws(GatewayError) -> ConversationTreeView {
        let messages = try await StoreAccess.run { try await store.messages(owner: owner, conversationID: conversation.id) }
        let branches = try await StoreAccess.run { try await store.branches(owner: owner, conversationID: conversation.id) }
        var children: [String: [String]] = [:]
        for message in messages {
            if let parent = message.parentID { children[parent, default: []].append(message.id) }
        }
        return ConversationTreeView(
            conversation: ConversationView(conversation),
            branches: branches.map { BranchView($0, active: $0.id == conversation.activeBranchID) },
            messages: messages.map { MessageView($0, children: children[$0.id] ?? []) }
        )
    }

    @Sendable func full(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        metrics.count(.read)
        return try AdminController.json(try await tree(found, owner))
    }

    struct BatchBody: Decodable {
        var action: String
        var ids: [String]
    }

    @Sendable func batch(request: Request, context: Context) async throws -> Response {
        try requireEnabled()
        try Self.feature(settings.batch, "Batch operations", "batch")
        let body = try await bodyReader.decode(BatchBody.self, from: request)
        let actions = ["delete", "archive", "unarchive", "export"]
        guard actions.contains(body.action) else {
            throw GatewayError.validation("`action` must be one of \(actions.joined(separator: ", ")), not `\(body.action)`.", param: "action")
        }
        guard (1...100).contains(body.ids.count) else {
            throw GatewayError.validation("`ids` must hold 1 to 100 conversation ids.", param: "ids")
        }
        if body.action == "export" { try Self.feature(settings.export, "Export", "export") }
        let owner = try Self.owner(request, context, readOnly: false)
        var results: [BatchResultView] = []
        for id in body.ids {
            await journal.settled(owner: owner, conversationID: id)
            guard var found = try await StoreAccess.run({ try await store.conversation(owner: owner, id: id) }) else {
                results.append(BatchResultView(id: id, ok: false, error: .init(code: GatewayError.Code.notFound.rawValue, message: "No conversation `\(id)`.")))
                continue
            }
            switch body.action {
            case "delete":
                _ = try await StoreAccess.run { try await store.deleteConversations(owner: owner, ids: [id]) }
                results.append(BatchResultView(id: id, ok: true))
            case "export":
                results.append(BatchResultView(id: id, ok: true, export: try await tree(found, owner)))
            default:
                let now = Date().timeIntervalSince1970
                found.archived = body.action == "archive"
                var write = ConversationWrite(owner: owner, conversationID: id, timestamp: now)
                write.update = found
                try await apply(write)
                found.updatedAt = now
                results.append(BatchResultView(id: id, ok: true, conversation: ConversationView(found)))
            }
        }
        metrics.count(.batch)
        return try AdminController.json(PageView(data: results, hasMore: false))
    }

    @Sendable func export(request: Request, context: Context) async throws -> Response {
        try Self.feature(settings.export, "Export", "export")
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        let format = request.uri.queryParameters["format"].map(String.init) ?? "json"
        metrics.count(.export)
        switch format {
        case "json":
            var response = try AdminController.json(try await tree(found, owner))
            response.headers[.contentDisposition] = "attachment; filename=\"conversation-\(found.id).json\""
            return response
        case "markdown", "md":
            let (active, _) = try await branch(found, owner, id: found.activeBranchID)
            let text = ConversationExport.markdown(found, path: try await path(active, owner))
            return Self.download(text, type: "text/markdown; charset=utf-8", name: "conversation-\(found.id).md")
        case "jsonl":
            let (active, _) = try await branch(found, owner, id: found.activeBranchID)
            let text = try ConversationExport.fineTuningLine(found, path: try await path(active, owner))
            return Self.download(text, type: "application/jsonl", name: "conversation-\(found.id).jsonl")
        default:
            throw GatewayError.validation("`format` must be json, markdown or jsonl, not `\(format)`.", param: "format")
        }
    }

    static func download(_ text: String, type: String, name: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name)\"", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    // MARK: Branches

    @Sendable func listBranches(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        let branches = try await StoreAccess.run { try await store.branches(owner: owner, conversationID: found.id) }
        return try AdminController.json(PageView(data: branches.map { BranchView($0, active: $0.id == found.activeBranchID) }, hasMore: false))
    }

    struct BranchBody: Decodable {
        var name: String?
        var fromMessageID: String?
        var activate: Bool?

        enum CodingKeys: String, CodingKey {
            case name, activate
            case fromMessageID = "from_message_id"
        }
    }

    @Sendable func createBranch(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        let body = try await bodyReader.decode(BranchBody.self, from: request)
        let found = try await conversation(owner, context)
        let branches = try await StoreAccess.run { try await store.branches(owner: owner, conversationID: found.id) }
        try settings.requireRoom(forBranchAfter: branches.count, in: found.id)
        let active = branches.first { $0.id == found.activeBranchID }
        var from: StoredMessage?
        if let id = body.fromMessageID {
            guard let message = try await StoreAccess.run({ try await store.message(owner: owner, id: id) }), message.conversationID == found.id else {
                throw GatewayError.validation("`from_message_id` `\(id)` is not a message of conversation `\(found.id)`.", param: "from_message_id")
            }
            from = message
        } else if let head = active?.headID {
            from = try await StoreAccess.run { try await store.message(owner: owner, id: head) }
        }
        if let name = body.name, name.isEmpty || name.count > 100 {
            throw GatewayError.validation("`name` must be 1 to 100 characters.", param: "name")
        }
        let now = Date().timeIntervalSince1970
        let branch = Branch(
            id: ConversationIDs.make(), conversationID: found.id, name: body.name ?? "branch-\(branches.count + 1)", headID: from?.id,
            forkID: from?.id, parentBranchID: from?.branchID ?? active?.id, createdAt: now, updatedAt: now
        )
        var write = ConversationWrite(owner: owner, conversationID: found.id, timestamp: now)
        write.branches = [branch]
        let activate = body.activate ?? true
        if activate { write.activeBranchID = branch.id }
        try await apply(write)
        metrics.count(.branch)
        return try AdminController.json(BranchView(branch, active: activate), status: .created)
    }

    @Sendable func activate(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        var found = try await conversation(owner, context)
        let (branch, _) = try await branch(found, owner, id: try Self.parameter("branch", context))
        let now = Date().timeIntervalSince1970
        var write = ConversationWrite(owner: owner, conversationID: found.id, timestamp: now)
        write.activeBranchID = branch.id
        try await apply(write)
        found.activeBranchID = branch.id
        found.updatedAt = now
        metrics.count(.activate)
        return try AdminController.json(ConversationView(found))
    }

    struct MergeBody: Decodable {
        var into: String
        var strategy: String?
        var model: String?
    }

    struct MergeView: Encodable {
        var object = "conversation.merge"
        var strategy: String
        var source: BranchView
        var target: BranchView
        var forkID: String?
        var mergedMessages: Int
        var messages: [MessageView]

        enum CodingKeys: String, CodingKey {
            case object, strategy, source, target, messages
            case forkID = "fork_id"
            case mergedMessages = "merged_messages"
        }
    }

    /// Merges a branch's divergent part into another branch: `append` copies its messages after
    /// the target's head; `summarize` appends a model's summary of them as one message.
    @Sendable func merge(request: Request, context: Context) async throws -> Response {
        try Self.feature(settings.merging, "Branch merging", "merging")
        let owner = try Self.owner(request, context, readOnly: false)
        let body = try await bodyReader.decode(MergeBody.self, from: request)
        let strategy = body.strategy ?? "append"
        guard strategy == "append" || strategy == "summarize" else {
            throw GatewayError.validation("`strategy` must be append or summarize, not `\(strategy)`.", param: "strategy")
        }
        let found = try await conversation(owner, context)
        let sourceID = try Self.parameter("branch", context)
        let (source, branches) = try await branch(found, owner, id: sourceID)
        guard body.into != source.id else {
            throw GatewayError.validation("A branch cannot be merged into itself: name another branch in `into`.", param: "into")
        }
        guard let target = branches.first(where: { $0.id == body.into }) else {
            throw GatewayError(.notFound, "No branch `\(body.into)` in conversation `\(found.id)`.", param: "into")
        }
        let sourcePath = try await path(source, owner)
        let targetPath = try await path(target, owner)
        let targetIDs = Set(targetPath.map(\.id))
        // The divergent part: what the source holds after the last message both share.
        let shared = sourcePath.lastIndex { targetIDs.contains($0.id) }
        let divergent = Array(sourcePath[(shared.map { $0 + 1 } ?? 0)...])
        let forkID = shared.map { sourcePath[$0].id }
        var copies: [StoredMessage] = []
        let now = Date().timeIntervalSince1970
        var parentID = target.headID
        var depth = (targetPath.last?.depth ?? -1) + 1
        if !divergent.isEmpty {
            try settings.requireRoom(for: strategy == "append" ? divergent.count : 1, in: found)
            if strategy == "append" {
                for original in divergent {
                    var copy = original
                    copy.id = ConversationIDs.make()
                    copy.parentID = parentID
                    copy.branchID = target.id
                    copy.depth = depth
                    copy.mergedFrom = original.id
                    copy.createdAt = now
                    copies.append(copy)
                    parentID = copy.id
                    depth += 1
                }
            } else {
                copies.append(try await summary(
                    of: divergent, source: source, target: target, conversation: found, model: body.model, parentID: parentID, depth: depth,
                    context: context
                ))
            }
            var write = ConversationWrite(owner: owner, conversationID: found.id, timestamp: Date().timeIntervalSince1970)
            write.messages = copies
            if let last = copies.last { write.heads[target.id] = last.id }
            write.activeBranchID = target.id
            // A turn that landed on the target meanwhile (a summary takes a while) stays: the
            // copies go after the target's head as it is when they are written.
            write.followsHeadOf = target.id
            await journal.settled(owner: owner, conversationID: found.id)
            copies = try await StoreAccess.run { [write] in try await store.apply(write) }
        }
        metrics.count(.merge)
        var merged = target
        merged.headID = copies.last?.id ?? target.headID
        return try AdminController.json(MergeView(
            strategy: strategy, source: BranchView(source, active: false), target: BranchView(merged, active: true), forkID: forkID,
            mergedMessages: copies.count, messages: copies.map { MessageView($0) }
        ))
    }

    /// Asks a model, through the gateway, for a summary of a branch's divergent messages.
    func summary(
        of messages: [StoredMessage], source: Branch, target: Branch, conversation: Conversation, model: String?, parentID: String?, depth: Int,
        context: Context
    ) async throws(GatewayError) -> StoredMessage {
        guard let model = model ?? settings.summaryModel ?? conversation.model, !model.isEmpty else {
            throw GatewayError.validation(
                "A summarize merge needs a model: pass `model`, set `conversations.summary_model`, or give the conversation one.", param: "model"
            )
        }
        let transcript = messages.map { "\($0.role.rawValue): \($0.text)" }.joined(separator: "\n\n")
        let request = ChatRequest(model: model, messages: [
            ChatMessage(role: .system, content: .text(
                "Summarize this branch of a conversation so it can be added to another branch: what was asked, answered and decided. Write the summary only."
            )),
            ChatMessage(role: .user, content: .text(transcript)),
        ])
        let answer = try await pipeline.chat(ModelCall(.chat(request), context: context.callContext()))
        let text = answer.response.choices.first?.message.content?.text ?? ""
        return StoredMessage(
            id: ConversationIDs.make(), conversationID: conversation.id, parentID: parentID, branchID: target.id, depth: depth,
            message: ChatMessage(role: .assistant, content: .text("Summary of branch \(source.name): \(text)")),
            model: answer.servedBy.model, provider: answer.servedBy.provider, promptTokens: answer.usage.promptTokens,
            completionTokens: answer.usage.completionTokens, costUSD: answer.cost, requestID: context.requestID, mergedFrom: source.headID,
            createdAt: Date().timeIntervalSince1970
        )
    }

    @Sendable func stats(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        let (branch, _) = try await branch(found, owner, id: try Self.parameter("branch", context))
        let messages = try await path(branch, owner)
        var models: [String] = []
        for message in messages {
            if let model = message.model, !models.contains(model) { models.append(model) }
        }
        return try AdminController.json(BranchStatsView(
            branchID: branch.id, messages: messages.count, promptTokens: messages.reduce(0) { $0 + ($1.promptTokens ?? 0) },
            completionTokens: messages.reduce(0) { $0 + ($1.completionTokens ?? 0) }, costUSD: messages.reduce(0) { $0 + ($1.costUSD ?? 0) },
            models: models, depth: messages.last.map { $0.depth + 1 } ?? 0, createdAt: Int(branch.createdAt),
            lastActivityAt: messages.map(\.createdAt).max().map { Int($0) }
        ))
    }

    // MARK: Messages

    static func limit(_ request: Request, default value: Int, maximum: Int) throws(GatewayError) -> Int {
        guard let text = request.uri.queryParameters["limit"].map(String.init) else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw GatewayError.validation("`limit` must be a whole number from 1 to \(maximum).", param: "limit")
        }
        return limit
    }

    @Sendable func listMessages(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let found = try await conversation(owner, context)
        let branchID = request.uri.queryParameters["branch"].map(String.init) ?? found.activeBranchID
        let (branch, _) = try await branch(found, owner, id: branchID, param: "branch")
        let limit = try Self.limit(request, default: 100, maximum: 1000)
        var messages = try await path(branch, owner)
        if let after = request.uri.queryParameters["after"].map(String.init) {
            guard let index = messages.firstIndex(where: { $0.id == after }) else {
                throw GatewayError.validation("`after` `\(after)` is not a message of this branch.", param: "after")
            }
            messages.removeFirst(index + 1)
        }
        let page = Array(messages.prefix(limit))
        let more = messages.count > limit
        return try AdminController.json(PageView(data: page.map { MessageView($0) }, hasMore: more, nextCursor: more ? page.last?.id : nil))
    }

    struct AddBody: Decodable {
        var role: ChatRole?
        var content: MessageContent?
        var name: String?
        var toolCallID: String?
        var parentMessageID: String?
        var branchName: String?

        enum CodingKeys: String, CodingKey {
            case role, content, name
            case toolCallID = "tool_call_id"
            case parentMessageID = "parent_message_id"
            case branchName = "branch_name"
        }
    }

    /// Adds a message without asking a model (a note, a tool's answer, an imported turn).
    @Sendable func addMessage(request: Request, context: Context) async throws -> Response {
        _ = try Self.owner(request, context, readOnly: false)
        let body = try await bodyReader.decode(AddBody.self, from: request)
        let id = try Self.parameter("id", context)
        let role = body.role ?? .user
        guard let content = body.content else { throw GatewayError.validation("`content` is required.", param: "content") }
        if role == .tool, body.toolCallID == nil {
            throw GatewayError.validation("A `tool` message needs `tool_call_id`.", param: "tool_call_id")
        }
        let message = ChatMessage(role: role, content: content, name: body.name, toolCallID: body.toolCallID)
        let turn = ConversationTurn(conversationID: id, parentMessageID: body.parentMessageID, newMessages: [message], branchName: body.branchName)
        let stored = try await stage.store(turn, principal: context.principal)
        metrics.count(.append)
        guard let first = stored.messages.first else { throw GatewayError(.internalError, "The message was not stored.") }
        return try AdminController.json(MessageView(first), status: .created)
    }

    struct SearchBody: Decodable {
        var q: String?
        var query: String?
        var limit: Int?
    }

    @Sendable func searchMessages(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: true)
        let body = try await bodyReader.decode(SearchBody.self, from: request)
        guard let text = body.q ?? body.query, !text.isEmpty else {
            throw GatewayError.validation("`q` (the words to find) is required.", param: "q")
        }
        let limit = body.limit ?? 50
        guard (1...200).contains(limit) else { throw GatewayError.validation("`limit` must be from 1 to 200.", param: "limit") }
        let found = try await conversation(owner, context)
        let messages = try await StoreAccess.run { try await store.search(owner: owner, text: text, conversationID: found.id, limit: limit) }
        metrics.count(.search)
        return try AdminController.json(PageView(data: messages.map { MessageView($0) }, hasMore: false))
    }

    /// How a call made by a conversation endpoint is asked: the model (default: the
    /// conversation's), sampling, the new branch's name, and whether to stream the answer.
    struct AnswerOptions: Decodable {
        var model: String?
        var temperature: Double?
        var topP: Double?
        var maxTokens: Int?
        var branchName: String?
        var stream: Bool?
        var streamOptions: StreamOptions?

        enum CodingKeys: String, CodingKey {
            case model, temperature, stream
            case topP = "top_p"
            case maxTokens = "max_tokens"
            case branchName = "branch_name"
            case streamOptions = "stream_options"
        }

        func chat(_ messages: [ChatMessage], turn: ConversationTurn) -> ChatRequest {
            var chat = ChatRequest(
                model: model ?? "", messages: messages, stream: stream ?? false, streamOptions: streamOptions,
                temperature: temperature, topP: topP, maxTokens: maxTokens
            )
            chat.gatewayExtensions.conversation = turn
            return chat
        }
    }

    struct EditBody: Decodable {
        var content: MessageContent?
        var role: ChatRole?
        var regenerate: Bool?
        var options: AnswerOptions

        enum CodingKeys: String, CodingKey {
            case content, role, regenerate
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            content = try container.decodeIfPresent(MessageContent.self, forKey: .content)
            role = try container.decodeIfPresent(ChatRole.self, forKey: .role)
            regenerate = try container.decodeIfPresent(Bool.self, forKey: .regenerate)
            options = try AnswerOptions(from: decoder)
        }
    }

    /// An edit is a sibling with the new content on a new, active branch (the original stays);
    /// with `"regenerate": true` the edited message is answered too.
    @Sendable func editMessage(request: Request, context: Context) async throws -> Response {
        try Self.feature(settings.editing, "Message editing", "editing")
        let owner = try Self.owner(request, context, readOnly: false)
        let body = try await bodyReader.decode(EditBody.self, from: request)
        let found = try await conversation(owner, context)
        let original = try await message(found, owner, id: try Self.parameter("message", context))
        if let role = body.role, role != original.role {
            throw GatewayError.validation(
                "An edit cannot change a message's role (`\(original.role.rawValue)` to `\(role.rawValue)`).", param: "role"
            )
        }
        guard let content = body.content else { throw GatewayError.validation("`content` is required.", param: "content") }
        var edited = original.message
        edited.content = content
        let turn = ConversationTurn(
            conversationID: found.id, parentMessageID: original.parentID, newMessages: [edited], branchName: body.options.branchName,
            startsOver: original.parentID == nil, forceBranch: true
        )
        metrics.count(.edit)
        if body.regenerate == true {
            guard original.role == .user else {
                throw GatewayError.validation("Only a user message's edit can be answered (`regenerate`).", param: "regenerate")
            }
            return try await answer(body.options.chat([edited], turn: turn), context: context)
        }
        let stored = try await stage.store(turn, principal: context.principal)
        guard let first = stored.messages.first else { throw GatewayError(.internalError, "The edit was not stored.") }
        return try AdminController.json(EditView(message: MessageView(first), branch: BranchView(stored.branch, active: true)))
    }

    struct EditView: Encodable {
        var message: MessageView
        var branch: BranchView
    }

    /// A new answer: for an assistant message, a sibling answer to the same prompt on a new,
    /// active branch; for a user message, another answer to it.
    @Sendable func regenerate(request: Request, context: Context) async throws -> Response {
        let owner = try Self.owner(request, context, readOnly: false)
        // The body is optional: no body is `{}`.
        let hasBody = (request.headers[.contentLength].flatMap(Int.init) ?? 0) > 0 || request.headers[.transferEncoding] != nil
        let body = hasBody ? try await bodyReader.decode(AnswerOptions.self, from: request) : AnswerOptions()
        let found = try await conversation(owner, context)
        let original = try await message(found, owner, id: try Self.parameter("message", context))
        let parentID: String
        switch original.role {
        case .assistant:
            guard let parent = original.parentID else {
                throw GatewayError.validation("This answer follows no message: there is nothing to answer again.", param: "message_id")
            }
            parentID = parent
        case .user, .tool:
            parentID = original.id
        default:
            throw GatewayError.validation("Only an answer or a user message can be regenerated, not a `\(original.role.rawValue)` message.")
        }
        let turn = ConversationTurn(
            conversationID: found.id, parentMessageID: parentID, newMessages: [], branchName: body.branchName,
            forceBranch: original.role == .assistant
        )
        metrics.count(.regenerate)
        return try await answer(body.chat([], turn: turn), context: context)
    }

    /// Runs a conversation call through the pipeline and answers as a chat completion, or as
    /// its chunks when streamed (a stream cut short is stored as received, marked incomplete).
    func answer(_ chat: ChatRequest, context: Context) async throws -> Response {
        try ChatValidation.validateParameters(chat)
        return try await calls.respond(to: ModelCall(.chat(chat), context: context.callContext(), stream: chat.stream), context: context)
    }
}

/// The export formats of a conversation's active branch.
enum ConversationExport {
    static func markdown(_ conversation: Conversation, path: [StoredMessage]) -> String {
        var text = "# \(conversation.title ?? "Conversation \(conversation.id)")\n\n"
        text += "- Conversation: `\(conversation.id)`\n"
        if let model = conversation.model { text += "- Model: `\(model)`\n" }
        text += "- Messages: \(path.count)\n"
        if let system = conversation.systemPrompt { text += "\n## System\n\n\(system)\n" }
        for message in path {
            var heading = message.role.rawValue.prefix(1).uppercased() + message.role.rawValue.dropFirst()
            if let model = message.model { heading += " (\(model))" }
            if message.incomplete { heading += " — incomplete" }
            text += "\n## \(heading)\n\n\(message.text)\n"
            for call in message.message.toolCalls ?? [] {
                text += "\n- tool call `\(call.function.name)`: `\(call.function.arguments)`\n"
            }
        }
        return text
    }

    /// One line of OpenAI's chat fine-tuning format: `{"messages":[…]}` (nothing for an empty conversation).
    static func fineTuningLine(_ conversation: Conversation, path: [StoredMessage]) throws -> String {
        guard !path.isEmpty else { return "" }
        var messages: [ChatMessage] = conversation.systemPrompt.map { [ChatMessage(role: .system, content: .text($0))] } ?? []
        messages += path.map { stored in
            ChatMessage(role: stored.role, content: stored.message.content, name: stored.message.name, toolCalls: stored.message.toolCalls,
                toolCallID: stored.message.toolCallID)
        }
        return String(decoding: try JSONCoding.encode(["messages": messages]), as: UTF8.self) + "\n"
    }
}
