import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/v1/users/me…`: what callers may see and do about themselves, whatever their role.
struct MeController: Sendable {
    typealias Context = GatewayRequestContext

    let store: any GovernanceStore
    let governor: Governor
    let bodyReader: RequestBodyReader

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("users/me", use: me)
        group.get("users/me/usage", use: usage)
        group.get("users/me/balance", use: balance)
        group.get("users/me/api-keys", use: listKeys)
        group.post("users/me/api-keys", use: createKey)
    }

    @Sendable func me(request: Request, context: Context) async throws -> Response {
        try AdminController.json(GovernanceViews.principal(context.principal ?? .anonymous))
    }

    @Sendable func usage(request: Request, context: Context) async throws -> Response {
        let principal = context.principal ?? .anonymous
        var query = try UsageController.query(request)
        // Callers see their own usage only, whatever filters they send.
        query.keyID = nil
        query.userID = nil
        if let user = principal.userID {
            query.userID = user
        } else if let key = principal.keyID {
            query.keyID = key
        } else if principal.kind != .master, principal.kind != .anonymous {
            throw GatewayError(.permissionDenied, "This credential has no usage of its own.")
        }
        return try AdminController.json(try await UsageController.usageReport(store, query))
    }

    @Sendable func balance(request: Request, context: Context) async throws -> Response {
        let principal = context.principal ?? .anonymous
        var budgets: [JSONValue] = []
        for scope in principal.scopes where scope.budget != nil {
            if let balance = try await governor.budgets.balance(scope) {
                budgets.append(GovernanceViews.balance(scope, balance))
            }
        }
        let remaining = budgets.compactMap { $0["remaining_usd"]?.doubleValue }.min()
        var object = JSONObjectBuilder()
        object.set("object", "balance")
        object.set("unlimited", budgets.isEmpty)
        object.set("remaining_usd", remaining)
        object.set("budgets", json: .array(budgets))
        return try AdminController.json(object.value)
    }

    @Sendable func listKeys(request: Request, context: Context) async throws -> Response {
        let principal = context.principal ?? .anonymous
        let keys: [VirtualKey]
        if let user = principal.userID {
            keys = try await GovernanceAccess.run { try await store.keys(userID: user) }
        } else if let id = principal.keyID {
            keys = try await GovernanceAccess.run { try await store.key(id: id) }.map { [$0] } ?? []
        } else {
            keys = []
        }
        let now = Date().timeIntervalSince1970
        return try AdminController.json(GovernanceViews.list(keys.map { GovernanceViews.key($0, now: now) }))
    }

    /// A user makes a key for themselves: never beyond their own role, models, limits or budget.
    @Sendable func createKey(request: Request, context: Context) async throws -> Response {
        let principal = context.principal ?? .anonymous
        guard let user = principal.userID else {
            throw GatewayError(.permissionDenied, "Only a user (a JWT, or a key that belongs to a user) can create keys here; admins use /admin/keys.")
        }
        var fields = try await bodyReader.decode([String: JSONValue].self, from: request)
        if let owner = fields["user_id"], owner != .string(user) {
            throw GatewayError(.permissionDenied, "A key made here belongs to its maker.", param: "user_id")
        }
        fields["user_id"] = .string(user)
        if let team = principal.team, fields["team"] == nil { fields["team"] = .string(team) }
        let now = Date().timeIntervalSince1970
        // Check the request against the maker's own bounds before anything is stored.
        var draft = VirtualKey(id: "", name: "draft", prefix: "", hash: "", role: principal.role, createdAt: now)
        try KeyFields.apply(fields, to: &draft, now: now)
        if draft.role > principal.role {
            throw GatewayError(.permissionDenied, "A key cannot have a higher role than its maker (\(principal.role.rawValue)).", param: "role")
        }
        fields["role"] = .string(draft.role.rawValue)
        if !principal.allowedModels.isEmpty {
            if draft.models.isEmpty {
                fields["models"] = .array(principal.allowedModels.map { .string($0) })
            } else if let model = draft.models.first(where: { !principal.allowedModels.contains($0) }) {
                throw GatewayError(.permissionDenied, "`\(model)` is not among the models you may use.", param: "models")
            }
        }
        for scope in principal.scopes {
            if let rpm = scope.rpm {
                if let asked = draft.rpm, asked > rpm {
                    throw GatewayError(.permissionDenied, "`rpm` may be at most your own limit of \(rpm).", param: "rpm")
                }
                if draft.rpm == nil { fields["rpm"] = .integer(Int64(rpm)) }
            }
            if let tpm = scope.tpm {
                if let asked = draft.tpm, asked > tpm {
                    throw GatewayError(.permissionDenied, "`tpm` may be at most your own limit of \(tpm).", param: "tpm")
                }
                if draft.tpm == nil { fields["tpm"] = .integer(Int64(tpm)) }
            }
            if let budget = scope.budget {
                if let asked = draft.maxBudgetUSD, asked > budget.maxUSD {
                    throw GatewayError(
                        .permissionDenied, "`max_budget_usd` may be at most your own budget of $\(budget.maxUSD).", param: "max_budget_usd"
                    )
                }
                if draft.maxBudgetUSD == nil {
                    fields["max_budget_usd"] = .double(budget.maxUSD)
                    fields["budget_period"] = .string(budget.period.rawValue)
                }
            }
        }
        let (key, secret) = try await KeyIssuer(store: store).issue(fields, now: now)
        context.logger.info("key created", metadata: ["key_id": "\(key.id)", "by": "\(principal.id)"])
        return try AdminController.json(AdminController.withSecret(key, secret: secret), status: .created)
    }
}
