/// The rules for a key a caller makes for itself (`POST /v1/users/me/api-keys`).
///
/// A self-made key is never stronger than its maker: its permissions are a subset of the
/// maker's and never admin; its models are among the maker's; it expires no later than the
/// maker; and it does not get limits of its own to spend — it draws on its maker's rate-limit and
/// budget scopes (``VirtualKey/createdBy`` links it, and authentication adds the maker's scopes),
/// so minting keys cannot multiply a budget. A signed-in (JWT) user's token expires but the user
/// does not, so self-made keys also live at most `auth.self_made_key_max_days`.
package enum KeyMinting {
    /// Checks and completes a draft key against its maker; throws `PERMISSION_DENIED` naming the
    /// field that asks for more than the maker has.
    ///
    /// - Parameters:
    ///   - draft: the key as the request asked for it (fields applied, role defaulted to the maker's).
    ///   - maker: the authenticated caller.
    /// How many keys may stand above a self-made key (its maker, the maker's maker, …).
    package static let maxMakerChain = 16

    ///   - maxLifetime: the longest a self-made key may live, in seconds (`auth.self_made_key_max_days`).
    ///   - now: seconds since 1970.
    package static func bound(_ draft: inout VirtualKey, by maker: Principal, maxLifetime: Double? = nil, now: Double = 0) throws(GatewayError) {
        guard let user = maker.userID else {
            throw GatewayError(
                .permissionDenied,
                "Only a user (a JWT, or a key that belongs to a user) can create keys here; admins use /admin/keys."
            )
        }
        if let owner = draft.userID, owner != user {
            throw GatewayError(.permissionDenied, "A key made here belongs to its maker.", param: "user_id")
        }
        draft.userID = user
        // Spend is reported per team: a key made here is booked to its maker's.
        if let team = draft.team, team != maker.team {
            throw GatewayError(.permissionDenied, "A key made here belongs to its maker's team.", param: "team")
        }
        draft.team = maker.team
        // A wider cache scope would let the new key read answers others stored.
        if let scope = draft.cache?.scope, scope != .key, !maker.may(.administer) {
            throw GatewayError(.permissionDenied, "Only an admin may set a key's cache scope.", param: "cache")
        }
        if maker.makerKeyIDs.count + 1 >= maxMakerChain {
            throw GatewayError(.permissionDenied, "Keys made by keys may go \(maxMakerChain) deep at most.")
        }
        guard maker.role.mayMint(draft.role) else {
            let reason = draft.role == .admin
                ? "An admin key cannot be made here."
                : "A `\(draft.role.rawValue)` key may do things a `\(maker.role.rawValue)` credential may not."
            throw GatewayError(.permissionDenied, reason + " A key made here can only have permissions its maker has.", param: "role")
        }
        if !maker.allowedModels.isEmpty {
            if draft.models.isEmpty {
                draft.models = maker.allowedModels
            } else if let model = draft.models.first(where: { !maker.allowedModels.contains($0) }) {
                throw GatewayError(.permissionDenied, "`\(model)` is not among the models you may use.", param: "models")
            }
        }
        for scope in maker.scopes {
            if let rpm = scope.rpm, let asked = draft.rpm, asked > rpm {
                throw GatewayError(.permissionDenied, "`rpm` may be at most your own limit of \(rpm).", param: "rpm")
            }
            if let tpm = scope.tpm, let asked = draft.tpm, asked > tpm {
                throw GatewayError(.permissionDenied, "`tpm` may be at most your own limit of \(tpm).", param: "tpm")
            }
            if let budget = scope.budget, let asked = draft.maxBudgetUSD, asked > budget.maxUSD {
                throw GatewayError(
                    .permissionDenied, "`max_budget_usd` may be at most your own budget of $\(budget.maxUSD).", param: "max_budget_usd"
                )
            }
        }
        if let limit = maker.expiresAt, let asked = draft.expiresAt, asked > limit {
            throw GatewayError(
                .permissionDenied, "A key cannot outlive its maker, which expires at \(CivilDate.isoTimestamp(limit)).",
                param: "expires_at"
            )
        }
        if let maxLifetime, let asked = draft.expiresAt, asked > now + maxLifetime {
            throw GatewayError(
                .permissionDenied, "A key made here lives at most \(Int(maxLifetime / 86_400)) days.", param: "expires_at"
            )
        }
        let limits = [maker.expiresAt, maxLifetime.map { now + $0 }].compactMap { $0 }
        if draft.expiresAt == nil { draft.expiresAt = limits.min() }
        draft.createdBy = maker.id
    }
}
