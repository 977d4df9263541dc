import HTTPTypes
import Hummingbird
import SwitchboardCore

/// `/admin/cache`: what the response cache holds, and emptying it (all, by scope or model, or one key).
struct CacheAdminController: Sendable {
    typealias Context = AuthenticatedContext

    let cache: any ResponseCache
    let metrics: CacheMetrics
    /// The semantic cache's vectors, when a model uses it.
    var semanticIndex: SemanticIndex?

    struct StatsView: Encodable {
        var backend: String
        var backendUp: Bool
        var entries: Int
        var bytes: Int
        var maxEntries: Int
        var maxBytes: Int
        var evictions: Int
        var expired: Int
        /// Prompt vectors this replica's semantic index holds (absent without a semantic cache).
        var semanticVectors: Int?

        enum CodingKeys: String, CodingKey {
            case backend, entries, bytes, evictions, expired
            case semanticVectors = "semantic_vectors"
            case backendUp = "backend_up"
            case maxEntries = "max_entries"
            case maxBytes = "max_bytes"
        }
    }

    struct DeletedView: Encodable {
        var deleted: Int
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("cache/stats", use: stats)
        group.delete("cache", use: clear)
        group.delete("cache/{key}", use: remove)
    }

    @Sendable func stats(request: Request, context: Context) async throws -> Response {
        let stats = await cache.stats()
        return try AdminController.json(StatsView(
            backend: cache.backend, backendUp: stats.backendUp, entries: stats.entries, bytes: stats.bytes, maxEntries: stats.maxEntries,
            maxBytes: stats.maxBytes, evictions: stats.evictions, expired: stats.expired, semanticVectors: semanticIndex?.count
        ))
    }

    /// `DELETE /admin/cache[?scope=key:abc][&model=fast]`: every entry matching both filters.
    @Sendable func clear(request: Request, context: Context) async throws -> Response {
        let parameters = request.uri.queryParameters
        let scope = parameters["scope"].map(String.init)
        let model = parameters["model"].map(String.init)
        if let scope, !Self.isScope(scope) {
            throw GatewayError.validation("`scope` must be `global` or start with `key:`, `user:` or `team:`.", param: "scope")
        }
        let deleted = await cache.removeAll(scope: scope, model: model)
        metrics.count(.delete, .deleted, by: deleted)
        context.logger.info("cache cleared", metadata: ["deleted": "\(deleted)", "by": "\(context.principal.id)"])
        return try AdminController.json(DeletedView(deleted: deleted))
    }

    @Sendable func remove(request: Request, context: Context) async throws -> Response {
        let key = try context.parameters.require("key")
        guard key.utf8.count == 64, key.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw GatewayError.validation("A cache key is 64 lowercase hex digits (X-Switchboard-Cache-Key).", param: "key")
        }
        // Idempotent: deleting an entry that is not (or no longer) there removes nothing.
        let removed = await cache.remove(key)
        if removed { metrics.count(.delete, .deleted) }
        return try AdminController.json(DeletedView(deleted: removed ? 1 : 0))
    }

    static func isScope(_ scope: String) -> Bool {
        scope == "global" || ["key:", "user:", "team:"].contains { scope.hasPrefix($0) && scope.count > $0.count }
    }
}
