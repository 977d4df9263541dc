/// Per-user overrides of the default limits (JWT users, and users that keys belong to).
public struct UserLimits: Sendable, Hashable {
    public var userID: String
    public var rpm: Int?
    public var tpm: Int?
    public var maxBudgetUSD: Double?
    public var budgetPeriod: BudgetPeriod
    public var updatedAt: Double

    public init(userID: String, rpm: Int? = nil, tpm: Int? = nil, maxBudgetUSD: Double? = nil, budgetPeriod: BudgetPeriod = .monthly, updatedAt: Double) {
        self.userID = userID
        self.rpm = rpm
        self.tpm = tpm
        self.maxBudgetUSD = maxBudgetUSD
        self.budgetPeriod = budgetPeriod
        self.updatedAt = updatedAt
    }

    public var budget: Budget? { maxBudgetUSD.map { Budget(maxUSD: $0, period: budgetPeriod) } }
}

