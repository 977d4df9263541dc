import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/admin`: virtual keys and per-user limits. Mounted behind the admin role.
struct AdminController: Sendable {
    typealias Context = AuthenticatedContext

    let store: any GovernanceStore
    let authenticator: Authenticator
    let governor: Governor
    let bodyReader: RequestBodyReader

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("keys", use: createKey)
        group.get("keys", use: listKeys)
        group.get("keys/{id}", use: getKey)
        group.patch("keys/{id}", use: updateKey)
        group.delete("keys/{id}", use: revokeKey)
        group.put("users/{id}", use: setUser)
        group.get("users/{id}", use: getUser)
    }

    @Sendable func createKey(request: Request, context: Context) async throws -> Response {
        let fields = try await bodyReader.decode([String: JSONValue].self, from: request)
        let (key, secret) = try await KeyIssuer(store: store).issue(fields, now: Date().timeIntervalSince1970)
        context.logger.info("key created", metadata: ["key_id": "\(key.id)", "by": "\(context.principal.id)"])
        return try Self.json(Self.withSecret(key, secret: secret), status: .created)
    }

    @Sendable func listKeys(request: Request, context: Context) async throws -> Response {
        let user = request.uri.queryParameters["user_id"].map(String.init)
        let keys = try await GovernanceAccess.run { try await store.keys(userID: user) }
        let now = Date().timeIntervalSince1970
        return try Self.json(ListView(data: keys.map { KeyView($0, now: now) }))
    }

    @Sendable func getKey(request: Request, context: Context) async throws -> Response {
        let key = try await existingKey(context)
        var view = KeyView(key, now: Date().timeIntervalSince1970)
        if let budget = key.budget,
            let balance = try await governor.budgets.balance(LimitScope(id: key.scopeID, label: "key", budget: budget))
        {
            view.spend = .budget(BalanceView(scope: key.scopeID, balance))
        } else {
            let spent = try await GovernanceAccess.run { try await store.spend(scope: key.scopeID, since: key.budgetPeriod.start(containing: Date().timeIntervalSince1970)) }
            view.spend = .unbudgeted(spentUSD: spent, period: key.budgetPeriod)
        }
        return try Self.json(view)
    }

    @Sendable func updateKey(request: Request, context: Context) async throws -> Response {
        var key = try await existingKey(context)
        let fields = try await bodyReader.decode([String: JSONValue].self, from: request)
        let now = Date().timeIntervalSince1970
        try KeyFields.apply(fields, to: &key, now: now)
        let updated = key
        try await GovernanceAccess.run { try await store.updateKey(updated) }
        // Keys this one made carry it in their cache entries.
        authenticator.invalidateAllKeys()
        governor.budgets.forget(key.scopeID)
        context.logger.info("key updated", metadata: ["key_id": "\(key.id)", "by": "\(context.principal.id)"])
        return try Self.json(KeyView(key, now: now))
    }

    /// Revokes a key and every key it made (and they made), and says how many of those went.
    @Sendable func revokeKey(request: Request, context: Context) async throws -> Response {
        var key = try await existingKey(context)
        let now = Date().timeIntervalSince1970
        if key.revokedAt == nil {
            key.revokedAt = now
            let revoked = key
            try await GovernanceAccess.run { try await store.updateKey(revoked) }
        }
        let minted = try await revokeMinted(by: key, now: now)
        // Cached keys carry their makers: forget them all so none outlives this one here.
        authenticator.invalidateAllKeys()
        context.logger.info(
            "key revoked", metadata: ["key_id": "\(key.id)", "minted_keys_revoked": "\(minted)", "by": "\(context.principal.id)"]
        )
        var view = KeyView(key, now: now)
        view.mintedKeysRevoked = minted
        return try Self.json(view)
    }

    /// Revokes the keys `maker` made, theirs in turn, and so on; returns how many were still active.
    private func revokeMinted(by maker: VirtualKey, now: Double) async throws(GatewayError) -> Int {
        var pending = [maker.scopeID]
        var seen: Set<String> = [maker.id]
        var revoked = 0
        while let creator = pending.popLast() {
            let children = try await GovernanceAccess.run { try await store.keys(createdBy: creator) }
            for var child in children where seen.insert(child.id).inserted {
                pending.append(child.scopeID)
                guard child.revokedAt == nil else { continue }
                child.revokedAt = now
                let update = child
                try await GovernanceAccess.run { try await store.updateKey(update) }
                revoked += 1
            }
        }
        return revoked
    }

    @Sendable func setUser(request: Request, context: Context) async throws -> Response {
        let userID = try context.parameters.require("id")
        let fields = try await bodyReader.decode([String: JSONValue].self, from: request)
        let allowed: Set<String> = ["rpm", "tpm", "max_budget_usd", "budget_period"]
        for field in fields.keys.sorted() where !allowed.contains(field) {
            throw GatewayError.validation("Unknown field `\(field)`; user limits have \(allowed.sorted().joined(separator: ", ")).", param: field)
        }
        // The key-field rules apply to the same fields.
        var scratch = VirtualKey(id: "", name: "user", prefix: "", hash: "", createdAt: 0)
        try KeyFields.apply(fields, to: &scratch, now: 0)
        let limits = UserLimits(
            userID: userID, rpm: scratch.rpm, tpm: scratch.tpm, maxBudgetUSD: scratch.maxBudgetUSD,
            budgetPeriod: scratch.budgetPeriod, updatedAt: Date().timeIntervalSince1970
        )
        try await GovernanceAccess.run { try await store.setUserLimits(limits) }
        authenticator.invalidate(userID: userID)
        governor.budgets.forget("user:\(userID)")
        return try Self.json(UserLimitsView(limits))
    }

    @Sendable func getUser(request: Request, context: Context) async throws -> Response {
        let userID = try context.parameters.require("id")
        let limits = try await GovernanceAccess.run { try await store.userLimits(userID) }
        let keys = try await GovernanceAccess.run { try await store.keys(userID: userID) }
        let now = Date().timeIntervalSince1970
        let period = limits?.budgetPeriod ?? .monthly
        let spent = try await GovernanceAccess.run { try await store.spend(scope: "user:\(userID)", since: period.start(containing: now)) }
        return try Self.json(UserView(
            userID: userID, limits: limits.map(UserLimitsView.init), spentUSD: spent, budgetPeriod: period.rawValue,
            keys: keys.map { KeyView($0, now: now) }
        ))
    }

    private func existingKey(_ context: Context) async throws -> VirtualKey {
        let id = try context.parameters.require("id")
        guard let key = try await GovernanceAccess.run({ try await store.key(id: id) }) else {
            throw GatewayError(.validationError, "No key with id `\(id)`.", status: 404)
        }
        return key
    }

    /// The key with its secret: the answer that creates it, the only time the secret is shown.
    static func withSecret(_ key: VirtualKey, secret: String) -> KeyView {
        var view = KeyView(key, now: Date().timeIntervalSince1970)
        view.key = secret
        return view
    }

    /// A governance answer: JSON, never cached.
    static func json<Body: Encodable>(_ value: Body, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = try JSONBody.response(value, status: status)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
