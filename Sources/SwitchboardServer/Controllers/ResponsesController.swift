import Hummingbird
import SwitchboardCore

/// The stored side of the Responses API: `GET` and `DELETE /v1/responses/{id}`, its
/// `input_items`, and `cancel`. A response is its caller's own (another owner's is a 404 like
/// one that never was); reads wait for the caller's queued conversation writes, so a response
/// can be read the moment its answer was sent.
struct ResponsesController: Sendable {
    typealias Context = AuthenticatedContext

    let store: any ConversationStore
    let journal: any ConversationJournal
    let settings: ConversationsConfig
    let now: @Sendable () -> Double
    /// `POST /v1/responses` as a call (streamed or not).
    let endpoint: ChatEndpoint<ResponsesDoor>
    let background: BackgroundResponses

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("responses", use: create)
        group.get("responses/:id", use: show)
        group.delete("responses/:id", use: delete)
        group.get("responses/:id/input_items", use: inputItems)
        group.post("responses/:id/cancel", use: cancel)
    }

    /// A call, answered now; or with `background: true`, queued and answered after this returns.
    @Sendable func create(request: Request, context: Context) async throws -> Response {
        let (wire, body) = try await endpoint.bodyReader.decodeKeepingBody(Responses.Request.self, from: request)
        guard wire.background == true else { return try await endpoint.serve(wire, body: body, request: request, context: context) }
        try settings.requireEnabled(param: "background")
        var chat: ChatRequest
        do throws(GatewayError) {
            chat = try endpoint.door.chatRequest(from: wire, request: request, body: body)
        } catch {
            // Refused at the door, but still a call on the record.
            endpoint.pipeline.refuse(ModelCall(.chat(ChatRequest(model: wire.model ?? "", messages: [])), context: context.callContext(body: body)), error)
            throw error
        }
        let owner = ConversationOwner.of(context.principal)
        // What would be a 404 later is one now: the client polls only what exists.
        await journal.settled(owner: owner)
        if let previous = wire.previousResponseID {
            var found: StoredMessage?
            if let id = ResponsesOutbound.messageID(forResponse: previous) {
                found = try await StoreAccess.run { try await store.message(owner: owner, id: id) }
            }
            guard let found, found.response != nil, settings.responseRetentionSeconds.map({ found.createdAt + $0 >= now() }) ?? true else {
                throw GatewayError(.notFound, "Previous response with id '\(previous)' not found.", param: "previous_response_id")
            }
        }
        if let conversation = wire.conversation?.id, try await StoreAccess.run({ try await store.conversation(owner: owner, id: conversation) }) == nil {
            throw ConversationStage.unknownConversation(conversation)
        }
        let answerID = ConversationIDs.make()
        chat.gatewayExtensions.conversation?.answerID = answerID
        let echo = try ResponsesDoor.echo(from: chat.gatewayExtensions.responses ?? .null)
        let queued = Responses.Object(
            id: ResponsesOutbound.responseID(forMessage: answerID), createdAt: echo.createdAt, status: "queued", model: wire.model ?? "", output: [], echo: echo
        )
        let call = ModelCall(.chat(chat), context: context.callContext(body: body), stream: false)
        let pipeline = endpoint.pipeline
        let journal = self.journal
        background.start(queued, owner: owner) {
            do throws(GatewayError) {
                _ = try await pipeline.chat(call)
                return .completed(settle: { await journal.settled(owner: owner) })
            } catch {
                let code = error.status == 429 ? "rate_limit_exceeded" : "server_error"
                return .failed(Responses.ErrorInfo(code: code, message: error.message))
            }
        }
        return try JSONBody.response(queued)
    }

    @Sendable func show(request: Request, context: Context) async throws -> Response {
        if let running = try runningBackground(context) { return try JSONBody.response(running) }
        let (stored, echo) = try await response(context)
        return try JSONBody.response(ResponsesOutbound.object(stored: stored, echo: echo))
    }

    /// A background response of the caller's still running, failed or cancelled.
    private func runningBackground(_ context: Context) throws(GatewayError) -> Responses.Object? {
        try settings.requireEnabled(param: "response_id")
        return background.response(context.parameters.get("id") ?? "", owner: ConversationOwner.of(context.principal))
    }

    @Sendable func delete(request: Request, context: Context) async throws -> Response {
        let (stored, _) = try await response(context)
        let owner = ConversationOwner.of(context.principal)
        guard try await StoreAccess.run({ try await store.forgetResponse(owner: owner, messageID: stored.id) }) else {
            throw Self.notFound(ResponsesOutbound.responseID(forMessage: stored.id))
        }
        return try JSONBody.response(Responses.Deleted(id: ResponsesOutbound.responseID(forMessage: stored.id)))
    }

    /// The items the response's request added, newest first unless `order=asc`.
    @Sendable func inputItems(request: Request, context: Context) async throws -> Response {
        if let running = try runningBackground(context) {
            throw GatewayError.validation(
                "Response '\(running.id)' is \(running.status); its input items are kept with its answer, once it has completed.", param: "response_id"
            )
        }
        let (stored, echo) = try await response(context)
        let owner = ConversationOwner.of(context.principal)
        let path = try await StoreAccess.run { try await store.path(owner: owner, to: stored.id, limit: echo.inputCount + 1) }
        let items = path.dropLast().flatMap(ResponsesOutbound.inputItems(of:))
        return try JSONBody.response(try Self.page(items, request, of: "this response"))
    }

    /// A page of items, oldest first as given: `order` (`desc`, OpenAI's default, or `asc`),
    /// `after` an item id, `limit` 1–100 (20).
    static func page(_ all: [Responses.OutputItem], _ request: Request, of scope: String) throws(GatewayError) -> Responses.ItemList {
        let limit = try ConversationsController.limit(request, default: 20, maximum: 100)
        let order = request.uri.queryParameters["order"].map(String.init) ?? "desc"
        guard order == "asc" || order == "desc" else {
            throw GatewayError.validation("`order` must be `asc` or `desc`.", param: "order")
        }
        var items = all
        if order == "desc" { items.reverse() }
        if let after = request.uri.queryParameters["after"].map(String.init) {
            guard let index = items.firstIndex(where: { $0.id == after }) else {
                throw GatewayError.validation("`after` `\(after)` is not an item of \(scope).", param: "after")
            }
            items.removeFirst(index + 1)
        }
        let page = Array(items.prefix(limit))
        return Responses.ItemList(data: page, first_id: page.first?.id, last_id: page.last?.id, has_more: items.count > limit)
    }

    /// A `background: true` response stops where it is (`cancelled`); one already finished is
    /// answered as it is. Only background responses can be cancelled.
    @Sendable func cancel(request: Request, context: Context) async throws -> Response {
        try settings.requireEnabled(param: "response_id")
        if let cancelled = background.cancel(context.parameters.get("id") ?? "", owner: ConversationOwner.of(context.principal)) {
            return try JSONBody.response(cancelled)
        }
        let (stored, echo) = try await response(context)
        guard echo.background == true else {
            throw GatewayError.validation("Only responses created with `background: true` can be cancelled.", param: "response_id")
        }
        return try JSONBody.response(ResponsesOutbound.object(stored: stored, echo: echo))
    }

    /// The caller's stored response named by the path, within its retention.
    private func response(_ context: Context) async throws(GatewayError) -> (StoredMessage, Responses.Echo) {
        try settings.requireEnabled(param: "response_id")
        let id = context.parameters.get("id") ?? ""
        guard let messageID = ResponsesOutbound.messageID(forResponse: id) else { throw Self.notFound(id) }
        let owner = ConversationOwner.of(context.principal)
        await journal.settled(owner: owner)
        guard let stored = try await StoreAccess.run({ try await store.message(owner: owner, id: messageID) }), let record = stored.response,
            settings.responseRetentionSeconds.map({ stored.createdAt + $0 >= now() }) ?? true
        else {
            throw Self.notFound(id)
        }
        return (stored, try ResponsesDoor.echo(from: record))
    }

    static func notFound(_ id: String) -> GatewayError {
        GatewayError(.notFound, "Response with id '\(id)' not found.", param: "response_id")
    }
}
