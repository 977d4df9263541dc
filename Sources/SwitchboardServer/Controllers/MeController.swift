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
    typealias Context = AuthenticatedContext

    let store: any GovernanceStore
    let governor: Governor
    let bodyReader: RequestBodyReader
    let minting: MintingConfig

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("users/me", use: me)
        group.get("users/me/usage", use: usage)
        group.get("users/me/balance", use: balance)
        group.get("users/me/api-keys", use: listKeys)
        group.post("users/me/api-keys", use: createKey)
    }

    @Sendable func me(request: Request, context: Context) async throws -> Response {
        try AdminController.json(PrincipalView(context.principal))
    }

    @Sendable func usage(request: Request, context: Context) async throws -> Response {
        let principal = context.principal
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
        let principal = context.principal
        var budgets: [BalanceView] = []
        for scope in principal.scopes where scope.budget != nil {
            if let balance = try await governor.budgets.balance(scope) {
                budgets.append(BalanceView(scope: scope.id, balance))
            }
        }
        return try AdminController.json(
            BalancesView(unlimited: budgets.isEmpty, remainingUSD: budgets.map(\.remainingUSD).min(), budgets: budgets)
        )
    }

    @Sendable func listKeys(request: Request, context: Context) async throws -> Response {
        let principal = context.principal
        let keys: [VirtualKey]
        if let user = principal.userID {
            keys = try await GovernanceAccess.run { try await store.keys(userID: user) }
        } else if let id = principal.keyID {
            keys = try await GovernanceAccess.run { try await store.key(id: id) }.map { [$0] } ?? []
        } else {
            keys = []
        }
        let now = Date().timeIntervalSince1970
        return try AdminController.json(ListView(data: keys.map { KeyView($0, now: now) }))
    }

    /// A user makes a key for themselves: never beyond their own permissions, models, limits,
    /// budget or lifetime (``KeyMinting``), at most `auth.max_keys_per_user` active keys, and at
    /// most `auth.key_mint_per_minute` keys a minute.
    @Sendable func createKey(request: Request, context: Context) async throws -> Response {
        let principal = context.principal
        let fields = try await bodyReader.decode([String: JSONValue].self, from: request)
        let now = Date().timeIntervalSince1970
        var draft = VirtualKey(
            id: KeySecret.makeID(), name: "", prefix: "", hash: "", role: principal.role == .admin ? .user : principal.role, createdAt: now
        )
        try KeyFields.apply(fields, to: &draft, now: now)
        try KeyMinting.bound(&draft, by: principal, maxLifetime: minting.maxLifetimeDays.map { $0 * 86_400 }, now: now)
        if let perMinute = minting.perMinute {
            let scope = LimitScope(id: "mint:\(principal.id)", label: "key creation by \(principal.id)", rpm: perMinute)
            if case .failure(let rejection) = await governor.limiter.admit([scope], promptTokens: 0) {
                if rejection.unavailable { throw RateLimiter.Rejection.unavailableError }
                let wait = rejection.retryAfterWholeSeconds
                throw GatewayError(
                    .rateLimitExceeded, "At most \(perMinute) keys can be created a minute; retry in \(wait) s.", retryAfterSeconds: wait
                )
            }
        }
        // The cap is checked and the key stored in one transaction, so racing requests cannot pass it.
        let cap = principal.role == .admin ? nil : minting.maxKeysPerUser
        let (key, secret) = try await KeyIssuer(store: store).issue(draft, activeKeyCap: cap, now: now)
        context.logger.info("key created", metadata: ["key_id": "\(key.id)", "by": "\(principal.id)"])
        return try AdminController.json(AdminController.withSecret(key, secret: secret), status: .created)
    }
}
