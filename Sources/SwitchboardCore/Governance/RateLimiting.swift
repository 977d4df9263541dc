/// Requests- and tokens-per-minute limits for scopes (keys, users, addresses).
///
/// ``RateLimiter`` keeps them in this process's memory; the scale-out issue adds one shared by
/// every replica (Redis) behind the same protocol. A request is admitted for all its scopes at
/// once or for none.
package protocol RateLimiting: Sendable {
    /// Admits one request carrying `promptTokens`, or says which limit refused it and for how long.
    func admit(_ scopes: [LimitScope], promptTokens: Int) async -> Result<RateLimitStatus?, RateLimiter.Rejection>
    /// Charges the tokens a call used beyond (or refunds below) what its admission took.
    func settleTokens(_ scopes: [LimitScope], difference: Int)
    /// Gives back one request and `promptTokens`: an admitted call that is not to count.
    func refund(_ scopes: [LimitScope], promptTokens: Int)
    /// Seconds until `scope` would admit one more request (0 if now), taking nothing.
    func waitBeforeNext(_ scope: LimitScope) async -> Double
}

extension RateLimiter: RateLimiting {
    package func admit(_ scopes: [LimitScope], promptTokens: Int) async -> Result<RateLimitStatus?, Rejection> {
        admit(scopes, promptTokens: promptTokens, now: seconds())
    }

    package func settleTokens(_ scopes: [LimitScope], difference: Int) {
        settleTokens(scopes, difference: difference, now: seconds())
    }

    package func waitBeforeNext(_ scope: LimitScope) async -> Double {
        waitBeforeNext(scope, now: seconds())
    }

    package func refund(_ scopes: [LimitScope], promptTokens: Int) {
        refund(scopes, promptTokens: promptTokens, now: seconds())
    }
}

/// Spend against budgets: a reservation before each call, swapped for the real cost after it.
///
/// ``BudgetBook`` keeps the figures in memory (re-read from the spend table); the scale-out issue
/// adds one exact across replicas behind the same protocol.
package protocol BudgetKeeping: Sendable {
    /// Reserves `amount` dollars in every budgeted scope, or in none and throws `BUDGET_EXCEEDED`.
    func reserve(_ scopes: [LimitScope], amount: Double) async throws(GatewayError) -> BudgetBook.Hold
    /// Releases a hold and books what the call really cost (0 for a call that failed).
    func settle(_ hold: BudgetBook.Hold, actual: Double)
    /// The standing of a budgeted scope now.
    func balance(_ scope: LimitScope) async throws(GatewayError) -> BudgetBook.Balance?
    /// Forgets a scope's figures so the next call reads the store again.
    func forget(_ scopeID: String)
}

extension BudgetBook: BudgetKeeping {}
