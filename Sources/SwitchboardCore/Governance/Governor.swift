/// Applies a principal's policy to one model call: allowed models, RPM/TPM, budget reservation.
///
/// Everything here is in memory; the only database read is a scope's spend the first time a
/// period needs it. Controllers call ``admit(_:model:promptTokens:maxTokens:)`` before the
/// upstream call and ``settle(_:usage:cost:)`` exactly once after it, whatever happened.
package struct Governor: Sendable {
    package let limiter: any RateLimiting
    package let budgets: any BudgetKeeping
    private let catalog: ModelCatalog
    private let defaultMaxTokens: Int

    package init(limiter: any RateLimiting, budgets: any BudgetKeeping, catalog: ModelCatalog, defaultMaxTokens: Int) {
        self.limiter = limiter
        self.budgets = budgets
        self.catalog = catalog
        self.defaultMaxTokens = defaultMaxTokens
    }

    /// What an admitted call holds until it settles.
    package struct Admission: Sendable {
        package var scopes: [LimitScope]
        package var hold: BudgetBook.Hold
        package var promptTokens: Int
        /// For the `X-RateLimit-*` headers; `nil` when no rate limit applies.
        package var rate: RateLimitStatus?

        package static let unlimited = Admission(scopes: [], hold: .none, promptTokens: 0, rate: nil)
    }

    /// Checks and reserves, or throws `PERMISSION_DENIED`, `RATE_LIMIT_EXCEEDED` or `BUDGET_EXCEEDED`.
    ///
    /// - Parameters:
    ///   - promptTokens: the prompt's estimated size.
    ///   - maxTokens: the request's output cap per answer, if it set one.
    ///   - choices: how many answers the provider may generate and bill (`n`).
    package func admit(
        _ principal: Principal, model: String, promptTokens: Int, maxTokens: Int?, choices: Int = 1
    ) async throws(GatewayError) -> Admission {
        guard principal.may(.callModels) else {
            throw GatewayError(.permissionDenied, "This credential may not call models.")
        }
        guard principal.mayUse(model) else {
            throw GatewayError(.permissionDenied, "This credential may not use model `\(model)`.", param: "model")
        }
        if principal.isModelRestricted {
            // A miss names only the models this caller may use, not everything configured.
            _ = try catalog.resolve(model, for: principal)
        }
        if principal.scopes.isEmpty { return .unlimited }
        let rate: RateLimitStatus?
        switch await limiter.admit(principal.scopes, promptTokens: promptTokens) {
        case .success(let status):
            rate = status
        case .failure(let rejection) where rejection.unavailable:
            throw RateLimiter.Rejection.unavailableError
        case .failure(let rejection):
            let wait = rejection.retryAfterWholeSeconds
            var error = GatewayError(
                .rateLimitExceeded,
                "Rate limit exceeded for \(rejection.scope.label): \(rejection.limit) \(rejection.tokens ? "tokens" : "requests") per minute. Retry in \(wait) s.",
                retryAfterSeconds: wait
            )
            error.rateLimit = RateLimitStatus(
                limit: rejection.limit, remaining: 0, resetMilliseconds: wait * 1000
            )
            throw error
        }
        // Pricing the call means resolving its route; only budgets need it.
        let budgeted = principal.scopes.contains { $0.budget != nil }
        let hold = budgeted
            ? try await budgets.reserve(
                principal.scopes, amount: maximumCost(model: model, promptTokens: promptTokens, maxTokens: maxTokens, choices: choices)
            )
            : .none
        return Admission(scopes: principal.scopes, hold: hold, promptTokens: promptTokens, rate: rate)
    }

    /// Books what the call used: real tokens against TPM, real cost against budgets.
    package func settle(_ admission: Admission, usage: Usage?, cost: Double?) {
        guard !admission.scopes.isEmpty else { return }
        let used = usage.map { $0.promptTokens + $0.completionTokens } ?? 0
        limiter.settleTokens(admission.scopes, difference: used - admission.promptTokens)
        budgets.settle(admission.hold, actual: cost ?? 0)
    }

    /// Undoes an admission for a call that is not to count (a cache hit when
    /// `cache.hits_count_in_rate_limits` is off): the request and its tokens go back to the rate
    /// limits and the budget hold is released uncharged.
    package func refund(_ admission: Admission) {
        guard !admission.scopes.isEmpty else { return }
        limiter.refund(admission.scopes, promptTokens: admission.promptTokens)
        budgets.settle(admission.hold, actual: 0)
    }

    /// The most a call can cost: the prompt plus the whole output allowance of every answer it
    /// may generate, at the dearest target's rates.
    package func maximumCost(model: String, promptTokens: Int, maxTokens: Int?, choices: Int = 1) -> Double {
        guard let price = catalog.reservationPrice(for: model) else { return 0 }
        // In Double: a client's `max_tokens` times `n` must not overflow.
        let output = Double(maxTokens ?? price.maxOutputTokens ?? defaultMaxTokens) * Double(max(1, choices))
        let outputRate = max(price.outputPerMillionTokens, price.reasoningPerMillionTokens ?? 0)
        return (Double(promptTokens) * price.inputPerMillionTokens + output * outputRate) / 1_000_000
    }
}
