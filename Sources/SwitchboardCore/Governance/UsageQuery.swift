/// Filters for usage reports and the request log; every field is optional.
package struct UsageQuery: Sendable, Hashable {
    package enum Grouping: String, Sendable, Hashable, CaseIterable {
        case day, model, provider, key, user
    }

    package var from: Double?
    package var to: Double?
    package var keyID: String?
    package var userID: String?
    package var model: String?
    package var provider: String?
    package var groupBy: Grouping?

    package init(
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
package struct UsageRow: Sendable, Hashable {
    /// The group's value (a day, a model…), `nil` for the overall total.
    package var group: String?
    package var requests: Int
    package var errors: Int
    package var promptTokens: Int
    package var completionTokens: Int
    package var costUSD: Double

    package init(group: String?, requests: Int, errors: Int, promptTokens: Int, completionTokens: Int, costUSD: Double) {
        self.group = group
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
    }
}

