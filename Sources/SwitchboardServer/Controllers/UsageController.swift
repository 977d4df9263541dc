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
        var report = try await Self.costReport(store, query)
        report.keyID = key.id
        report.name = key.name
        return try AdminController.json(report)
    }

    @Sendable func promptLog(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        let limit = try Self.limit(request)
        let records = try await GovernanceAccess.run { try await store.records(query, limit: limit) }
        return try AdminController.json(ListView(data: records.map(RecordView.init)))
    }

    @Sendable func usage(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        return try AdminController.json(try await Self.usageReport(store, query))
    }

    @Sendable func usageCosts(request: Request, context: Context) async throws -> Response {
        let query = try Self.query(request)
        let rows = try await GovernanceAccess.run { try await store.usage(query) }
        let data = rows.map { CostRowsView.Row(group: $0.group, costUSD: $0.costUSD, requests: $0.requests) }
        return try AdminController.json(
            CostRowsView(groupBy: query.groupBy?.rawValue, data: data, totalUSD: rows.reduce(0) { $0 + $1.costUSD })
        )
    }

    static func usageReport(_ store: any UsageReports, _ query: UsageQuery) async throws(GatewayError) -> UsageReportView {
        let rows = try await GovernanceAccess.run { try await store.usage(query) }
        var overall = query
        overall.groupBy = nil
        var total: UsageRow? = rows.first
        if query.groupBy != nil {
            let overallRows: [UsageRow] = try await GovernanceAccess.run { try await store.usage(overall) }
            total = overallRows.first
        }
        return UsageReportView(
            groupBy: query.groupBy?.rawValue, from: Timestamp(query.from), to: Timestamp(query.to),
            data: query.groupBy == nil ? [] : rows.map(UsageRowView.init), total: total.map(UsageRowView.init)
        )
    }

    static func costReport(_ store: any UsageReports, _ query: UsageQuery) async throws(GatewayError) -> CostReportView {
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
        return CostReportView(
            totalUSD: total?.costUSD ?? 0, requests: total?.requests ?? 0, promptTokens: total?.promptTokens ?? 0,
            completionTokens: total?.completionTokens ?? 0, byModel: models.map(UsageRowView.init), byKey: keys.map(UsageRowView.init)
        )
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
