import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Usage, costs and the request log: `/api/costs`, `/api/costs/{key}`, `/api/prompt-log`,
/// `/api/v1/usage`, `/api/v1/usage/costs`. Mounted behind the admin or viewer role.
struct UsageController: Sendable {
    typealias Context = AuthenticatedContext

    let store: any GovernanceStore

    func addSeedRoutes(to group: RouterGroup<Context>) {
        group.get("costs", use: costs)
        group.get("costs/{key}", use: keyCosts)
        group.get("prompt-log", use: promptLog)
    }

    func addUsageRoutes(to group: RouterGroup<Context>) {
        group.get("usage", use: usage)
        group.get("usage/costs", use: usageCosts)
    }

    @Sendable func costs(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        return try AdminController.json(try await Self.costReport(store, query))
    }

    @Sendable func keyCosts(request: Request, context: Context) async throws -> Response {
        let id = try context.parameters.require("key")
        guard let key = try await GovernanceAccess.run({ try await store.key(id: id) }) else {
            throw GatewayError(.validationError, "No key with id `\(id)`.", status: 404)
        }
        var query = try Self.query(request)
        query.keyID = key.id
        let report = try await Self.costReport(store, query)
        let fields: [String: JSONValue] = ["key_id": .string(key.id), "name": .string(key.name)]
        return try AdminController.json(report.merging(fields))
    }

    @Sendable func promptLog(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        let limit = try Self.limit(request)
        let records = try await GovernanceAccess.run { try await store.records(query, limit: limit) }
        return try AdminController.json(GovernanceViews.list(records.map(GovernanceViews.record)))
    }

    @Sendable func usage(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        return try AdminController.json(try await Self.usageReport(store, query))
    }

    @Sendable func usageCosts(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        let rows = try await GovernanceAccess.run { try await store.usage(query) }
        var total = 0.0
        let data: [JSONValue] = rows.map { row in
            total += row.costUSD
            var object = JSONObjectBuilder()
            if let group = row.group { object.set("group", group) }
            object.set("cost_usd", row.costUSD)
            object.set("requests", row.requests)
            return object.value
        }
        var object = JSONObjectBuilder()
        object.set("object", "list")
        object.set("group_by", query.groupBy?.rawValue)
        object.set("data", json: .array(data))
        object.set("total_usd", total)
        return try AdminController.json(object.value)
    }

    static func usageReport(_ store: any GovernanceStore, _ query: UsageQuery) async throws(GatewayError) -> JSONValue {
        let rows = try await GovernanceAccess.run { try await store.usage(query) }
        var overall = query
        overall.groupBy = nil
        var total: UsageRow? = rows.first
        if query.groupBy != nil {
            let overallRows: [UsageRow] = try await GovernanceAccess.run { try await store.usage(overall) }
            total = overallRows.first
        }
        var object = JSONObjectBuilder()
        object.set("object", "list")
        object.set("group_by", query.groupBy?.rawValue)
        object.set("from", time: query.from)
        object.set("to", time: query.to)
        object.set("data", json: .array(query.groupBy == nil ? [] : rows.map(GovernanceViews.usage)))
        object.set("total", json: total.map(GovernanceViews.usage) ?? .null)
        return object.value
    }

    static func costReport(_ store: any GovernanceStore, _ query: UsageQuery) async throws(GatewayError) -> JSONValue {
        var byModel = query
        byModel.groupBy = .model
        var byKey = query
        byKey.groupBy = .key
        var overall = query
        overall.groupBy = nil
        let models: [UsageRow] = try await GovernanceAccess.run { try await store.usage(byModel) }
        let keys: [UsageRow] = try await GovernanceAccess.run { try await store.usage(byKey) }
        let totals: [UsageRow] = try await GovernanceAccess.run { try await store.usage(overall) }
        let total = totals.first
        var object = JSONObjectBuilder()
        object.set("total_usd", total?.costUSD ?? 0)
        object.set("requests", total?.requests ?? 0)
        object.set("prompt_tokens", total?.promptTokens ?? 0)
        object.set("completion_tokens", total?.completionTokens ?? 0)
        object.set("by_model", json: .array(models.map(GovernanceViews.usage)))
        object.set("by_key", json: .array(keys.map(GovernanceViews.usage)))
        return object.value
    }

    /// `from`, `to` (ISO 8601 or seconds), `key`, `user`, `model`, `provider`, `group_by`.
    static func query(_ request: Request) throws(GatewayError) -> UsageQuery {
        let parameters = request.uri.queryParameters
        var query = UsageQuery()
        for name in ["from", "to"] {
            guard let text = parameters[Substring(name)].map(String.init) else { continue }
            guard let time = CivilDate.parse(text) else {
                throw GatewayError.validation(
                    "`\(name)` must be a date (`2026-12-01`), an ISO 8601 UTC time or seconds since 1970.", param: name
                )
            }
            if name == "from" { query.from = time } else { query.to = time }
        }
        query.keyID = parameters["key"].map(String.init)
        query.userID = parameters["user"].map(String.init)
        query.model = parameters["model"].map(String.init)
        query.provider = parameters["provider"].map(String.init)
        if let text = parameters["group_by"].map(String.init) {
            guard let grouping = UsageQuery.Grouping(rawValue: text) else {
                throw GatewayError.validation(
                    "`group_by` must be one of \(UsageQuery.Grouping.allCases.map(\.rawValue).joined(separator: ", ")).", param: "group_by"
                )
            }
            query.groupBy = grouping
        }
        return query
    }

    static func limit(_ request: Request) throws(GatewayError) -> Int {
        guard let text = request.uri.queryParameters["limit"].map(String.init) else { return 50 }
        guard let limit = Int(text), (1...1000).contains(limit) else {
            throw GatewayError.validation("`limit` must be a whole number from 1 to 1000.", param: "limit")
        }
        return limit
    }
}
