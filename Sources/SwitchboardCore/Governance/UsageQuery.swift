/// Filters for usage reports and the request log; every field is optional.
public struct UsageQuery: Sendable, Hashable {
    public enum Grouping: String, Sendable, Hashable, CaseIterable {
        case day, model, provider, key, user
    }

    public var from: Double?
    public var to: Double?
    public var keyID: String?
    public var userID: String?
    public var model: String?
    public var provider: String?
    public var groupBy: Grouping?

    public init(
        from: Double? = nil, to: Double? = nil, keyID: String? = nil, userID: String? = nil,
        model: String? = nil, provider: String? = nil, groupBy: Grouping? = nil
    ) {
        self.from = from
        self.to = to
        self.keyID = keyID
        self.userID = userID
        self.model = model
        self.provider = provider
        self.groupBy = groupBy
    }
}

/// One line of a usage report: totals for a group (or for everything).
public struct UsageRow: Sendable, Hashable {
    /// The group's value (a day, a model…), `nil` for the overall total.
    public var group: String?
    public var requests: Int
    public var errors: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Double

    public init(group: String?, requests: Int, errors: Int, promptTokens: Int, completionTokens: Int, costUSD: Double) {
        self.group = group
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
    }
}

