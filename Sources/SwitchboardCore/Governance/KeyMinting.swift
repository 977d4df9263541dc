/// The rules for a key a caller makes for itself (`POST /v1/users/me/api-keys`).
///
/// A self-made key is never stronger than its maker: its permissions are a subset of the
/// maker's and never admin; its models are among the maker's; it expires no later than the
/// maker; and it does not get limits of its own to spend — it draws on its maker's rate-limit and
/// budget scopes (``VirtualKey/createdBy`` links it, and authentication adds the maker's scopes),
/// so minting keys cannot multiply a budget.
public enum KeyMinting {
    /// Checks and completes a draft key against its maker; throws `PERMISSION_DENIED` naming the
    /// field that asks for more than the maker has.
    ///
    /// - Parameters:
    ///   - draft: the key as the request asked for it (fields applied, role defaulted to the maker's).
    ///   - maker: the authenticated caller.
    public static func bound(_ draft: inout VirtualKey, by maker: Principal) throws(GatewayError) {
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
        if draft.team == nil { draft.team = maker.team }
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
        if let limit = maker.expiresAt {
            if let asked = draft.expiresAt, asked > limit {
                throw GatewayError(
                    .permissionDenied, "A key cannot outlive its maker, which expires at \(CivilDate.isoTimestamp(limit)).",
                    param: "expires_at"
                )
            }
            draft.expiresAt = draft.expiresAt ?? limit
        }
        draft.createdBy = maker.id
    }
}
