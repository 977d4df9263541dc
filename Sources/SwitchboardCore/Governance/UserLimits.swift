/// Per-user overrides of the default limits (JWT users, and users that keys belong to).
package struct UserLimits: Sendable, Hashable {
    package var userID: String
    package var rpm: Int?
    package var tpm: Int?
    package var maxBudgetUSD: Double?
    package var budgetPeriod: BudgetPeriod
    package var updatedAt: Double

    package init(userID: String, rpm: Int? = nil, tpm: Int? = nil, maxBudgetUSD: Double? = nil, budgetPeriod: BudgetPeriod = .monthly, updatedAt: Double) {
        self.userID = userID
        self.rpm = rpm
        self.tpm = tpm
        self.maxBudgetUSD = maxBudgetUSD
        self.budgetPeriod = budgetPeriod
        self.updatedAt = updatedAt
    }

    package var budget: Budget? { maxBudgetUSD.map { Budget(maxUSD: $0, period: budgetPeriod) } }
}

