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

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("responses/:id", use: show)
        group.delete("responses/:id", use: delete)
        group.get("responses/:id/input_items", use: inputItems)
        group.post("responses/:id/cancel", use: cancel)
    }

    @Sendable func show(request: Request, context: Context) async throws -> Response {
        let (stored, echo) = try await response(context)
        return try JSONBody.response(ResponsesOutbound.object(stored: stored, echo: echo))
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

    /// Only a `background: true` response can be cancelled, and this gateway makes none.
    @Sendable func cancel(request: Request, context: Context) async throws -> Response {
        _ = try await response(context)
        throw GatewayError.validation("Only responses created with `background: true` can be cancelled.", param: "response_id")
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
