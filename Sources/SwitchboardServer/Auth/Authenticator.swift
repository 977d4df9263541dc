import AsyncHTTPClient
import Logging
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns a presented credential into a ``Principal``: the master key, a virtual key (looked up
/// by hash, cached for `auth.key_cache_ttl_s`), or a JWT. Every failure is the same 401.
final class Authenticator: Sendable {
    /// How many makers a self-made key may have above it; a longer chain is refused.
    static let maxMakerChain = KeyMinting.maxMakerChain

    let masterKey: String?
    private let store: any KeyStore & UserLimitStore
    private let jwt: JWTVerifier?
    private let limits: LimitsConfig
    private let cache: any KeyCache
    private let logger: Logger

    init(config: GatewayConfig, store: any KeyStore & UserLimitStore, cache: any KeyCache, client: HTTPClient, logger: Logger) {
        self.masterKey = config.server.masterKey
        self.store = store
        self.cache = cache
        self.jwt = config.jwt.map {
            JWTVerifier(
                config: $0, client: client,
                minimumRefetchInterval: .milliseconds(Int64($0.jwksMinimumRefetchSeconds * 1000)), logger: logger
            )
        }
        self.limits = config.limits
        self.logger = logger
    }

    /// Auth is on when a master key is set (keys and JWTs need it on to mean anything).
    var isEnabled: Bool { masterKey != nil }

    static let rejection = GatewayError(
        .authenticationError, "Missing or invalid API key. Send it as `Authorization: Bearer <key>`."
    )

    func authenticate(_ credential: String?) async throws(GatewayError) -> Principal {
        guard let credential, !credential.isEmpty else { throw Self.rejection }
        if let masterKey, AuthMiddleware.constantTimeEquals(credential, masterKey) {
            return .master
        }
        if credential.hasPrefix(KeySecret.scheme) {
            return try await virtualKey(credential)
        }
        if let jwt, JWTVerifier.looksLikeJWT(credential) {
            let now = Date().timeIntervalSince1970
            let identity: JWTIdentity
            do {
                identity = try await jwt.verify(credential, now: now)
            } catch {
                logger.debug("JWT rejected", metadata: ["reason": "\(error.reason)"])
                throw Self.rejection
            }
            let overrides = try await userLimits(identity.subject)
            return principal(jwtUser: identity, overrides: overrides)
        }
        throw Self.rejection
    }

    private func virtualKey(_ secret: String) async throws(GatewayError) -> Principal {
        let hash = KeySecret.hash(secret)
        var entry = cache.key(hash: hash)
        if entry == nil {
            // Read before the store: an invalidation while we look makes the answer uncacheable.
            let generation = cache.generation
            do {
                let key = try await store.key(hash: hash)
                let overrides: UserLimits? = try await key?.userID.asyncMap { try await store.userLimits($0) } ?? nil
                var makers: [VirtualKey] = []
                var next = key?.makerKeyID
                while let id = next {
                    // A maker that is gone, or a chain too long to be real, leaves the key unusable.
                    guard makers.count < Self.maxMakerChain, let maker = try await store.key(id: id) else {
                        makers.append(VirtualKey(id: id, name: "missing", prefix: "", hash: "", createdAt: 0, revokedAt: 0))
                        break
                    }
                    makers.append(maker)
                    next = maker.makerKeyID
                }
                let fresh = CachedKey(key: key, makers: makers, userLimits: overrides)
                cache.store(fresh, hash: hash, ifGeneration: generation)
                entry = fresh
            } catch {
                logger.error("key lookup failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                throw GatewayError(.internalError, "The key store is unavailable; try again.", status: 503)
            }
        }
        let wallClock = Date().timeIntervalSince1970
        guard let entry, let key = entry.key, key.isActive(at: wallClock),
            entry.makers.allSatisfy({ $0.isActive(at: wallClock) })
        else { throw Self.rejection }
        return principal(key: key, makers: entry.makers, overrides: entry.userLimits)
    }

    private func userLimits(_ userID: String) async throws(GatewayError) -> UserLimits? {
        if let cached = cache.userLimits(userID) { return cached }
        let generation = cache.generation
        do {
            let limits = try await store.userLimits(userID)
            cache.store(limits, userID: userID, ifGeneration: generation)
            return limits
        } catch {
            logger.error("user lookup failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw GatewayError(.internalError, "The key store is unavailable; try again.", status: 503)
        }
    }

    /// Forgets cached lookups so this replica sees an edit or revocation on the next request.
    func invalidate(keyHash: String? = nil, userID: String? = nil) {
        if let keyHash { cache.invalidate(keyHash: keyHash) }
        if let userID { cache.invalidate(userID: userID) }
    }

    /// Forgets every cached key: after a revocation or edit that keys made by this one inherit.
    func invalidateAllKeys() {
        cache.invalidateAllKeys()
    }

    /// A key's principal: its own scope, then the scopes of the keys that made it (so a self-made
    /// key spends its maker's limits and budget, not a copy of them), then its user's.
    func principal(key: VirtualKey, makers: [VirtualKey] = [], overrides: UserLimits?) -> Principal {
        var scopes = [keyScope(key, label: "key `\(key.name)`")]
        for maker in makers {
            scopes.append(keyScope(maker, label: "key `\(maker.name)` (which made key `\(key.name)`)"))
        }
        let madeByUser = (makers.last ?? key).makerUserID
        if let userID = key.userID {
            if madeByUser == userID {
                // Made by a signed-in user: bound by what that user is bound by.
                scopes.append(jwtUserScope(userID, overrides: overrides))
            } else if let overrides {
                scopes.append(
                    LimitScope(id: "user:\(userID)", label: "user `\(userID)`", rpm: overrides.rpm, tpm: overrides.tpm, budget: overrides.budget)
                )
            }
        }
        var principal = Principal(
            kind: .virtualKey, id: key.scopeID, role: key.role, keyID: key.id, keyName: key.name, userID: key.userID,
            team: key.team, allowedModels: key.models, scopes: scopes.filter(\.limitsAnything)
        )
        principal.makerKeyIDs = makers.map(\.id)
        principal.cache = key.cache
        principal.expiresAt = ([key.expiresAt] + makers.map(\.expiresAt)).compactMap { $0 }.min()
        // A maker narrowed since (its role or models edited) narrows what it made.
        for maker in makers {
            principal.permissions.formIntersection(maker.role.permissions)
            if !maker.models.isEmpty { principal.makerModelLists.append(maker.models) }
        }
        return principal
    }

    private func keyScope(_ key: VirtualKey, label: String) -> LimitScope {
        LimitScope(id: key.scopeID, label: label, rpm: key.rpm ?? limits.defaultRPM, tpm: key.tpm ?? limits.defaultTPM, budget: key.budget)
    }

    private func jwtUserScope(_ userID: String, overrides: UserLimits?) -> LimitScope {
        let defaultBudget = limits.defaultBudgetUSD.map { Budget(maxUSD: $0, period: limits.defaultBudgetPeriod) }
        return LimitScope(
            id: "user:\(userID)", label: "user `\(userID)`",
            rpm: overrides?.rpm ?? limits.defaultRPM, tpm: overrides?.tpm ?? limits.defaultTPM,
            budget: overrides?.budget ?? defaultBudget
        )
    }

    func principal(jwtUser identity: JWTIdentity, overrides: UserLimits?) -> Principal {
        Principal(
            kind: .jwtUser, id: "user:\(identity.subject)", role: identity.role, userID: identity.subject,
            scopes: [jwtUserScope(identity.subject, overrides: overrides)].filter(\.limitsAnything)
        )
    }

    /// The anonymous caller of a gateway with auth off, limited per address when `limits.ip_rpm` is set.
    func anonymous(address: String?) -> Principal {
        var principal = Principal.anonymous
        if let rpm = limits.ipRPM, let address {
            principal.scopes = [LimitScope(id: "ip:\(address)", label: "address \(address)", rpm: rpm)]
        }
        return principal
    }
}

extension LimitScope {
    var limitsAnything: Bool { rpm != nil || tpm != nil || budget != nil }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): return try await transform(value)
        case .none: return nil
        }
    }
}
