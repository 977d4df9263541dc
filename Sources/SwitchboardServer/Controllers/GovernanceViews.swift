import SwitchboardCore

/// Builds a JSON object one field at a time (cheap for the type checker, unlike big literals).
struct JSONObjectBuilder {
    private(set) var fields: [String: JSONValue] = [:]

    mutating func set(_ key: String, _ value: String?) { fields[key] = value.map(JSONValue.string) ?? .null }
    mutating func set(_ key: String, _ value: Int?) { fields[key] = value.map { JSONValue.integer(Int64($0)) } ?? .null }
    mutating func set(_ key: String, _ value: Double?) { fields[key] = value.map(JSONValue.double) ?? .null }
    mutating func set(_ key: String, _ value: Bool) { fields[key] = .bool(value) }
    mutating func set(_ key: String, json value: JSONValue) { fields[key] = value }
    /// Seconds since 1970 as an ISO 8601 UTC time.
    mutating func set(_ key: String, time value: Double?) {
        fields[key] = value.map { JSONValue.string(CivilDate.isoTimestamp($0)) } ?? .null
    }
    mutating func set(_ key: String, strings value: [String]) { fields[key] = .array(value.map(JSONValue.string)) }

    var value: JSONValue { .object(fields) }
}

/// JSON views of governance objects for the admin, usage and `/v1/users/me` endpoints.
enum GovernanceViews {
    static func list(_ items: [JSONValue]) -> JSONValue {
        var object = JSONObjectBuilder()
        object.set("object", "list")
        object.set("data", json: .array(items))
        return object.value
    }

    static func key(_ key: VirtualKey, now: Double) -> JSONValue {
        let status: String
        if key.revokedAt != nil {
            status = "revoked"
        } else if let expires = key.expiresAt, expires <= now {
            status = "expired"
        } else {
            status = "active"
        }
        var object = JSONObjectBuilder()
        object.set("id", key.id)
        object.set("object", "api_key")
        object.set("name", key.name)
        object.set("prefix", key.prefix)
        object.set("user_id", key.userID)
        object.set("team", key.team)
        object.set("role", key.role.rawValue)
        object.set("models", strings: key.models)
        object.set("rpm", key.rpm)
        object.set("tpm", key.tpm)
        object.set("max_budget_usd", key.maxBudgetUSD)
        object.set("budget_period", key.budgetPeriod.rawValue)
        object.set("expires_at", time: key.expiresAt)
        object.set("metadata", json: .object(key.metadata))
        object.set("created_at", time: key.createdAt)
        object.set("revoked_at", time: key.revokedAt)
        object.set("created_by", key.createdBy)
        object.set("status", status)
        return object.value
    }

    static func userLimits(_ limits: UserLimits) -> JSONValue {
        var object = JSONObjectBuilder()
        object.set("user_id", limits.userID)
        object.set("rpm", limits.rpm)
        object.set("tpm", limits.tpm)
        object.set("max_budget_usd", limits.maxBudgetUSD)
        object.set("budget_period", limits.budgetPeriod.rawValue)
        object.set("updated_at", time: limits.updatedAt)
        return object.value
    }

    static func usage(_ row: UsageRow) -> JSONValue {
        var object = JSONObjectBuilder()
        if let group = row.group { object.set("group", group) }
        object.set("requests", row.requests)
        object.set("errors", row.errors)
        object.set("prompt_tokens", row.promptTokens)
        object.set("completion_tokens", row.completionTokens)
        object.set("total_tokens", row.promptTokens + row.completionTokens)
        object.set("cost_usd", row.costUSD)
        return object.value
    }

    static func balance(_ scope: LimitScope, _ balance: BudgetBook.Balance) -> JSONValue {
        var object = JSONObjectBuilder()
        object.set("scope", scope.id)
        object.set("max_budget_usd", balance.maxUSD)
        object.set("spent_usd", balance.spentUSD)
        object.set("reserved_usd", balance.reservedUSD)
        object.set("remaining_usd", balance.remainingUSD)
        object.set("budget_period", balance.period.rawValue)
        object.set("resets_at", time: balance.resetsAt)
        return object.value
    }

    static func record(_ record: RequestRecord) -> JSONValue {
        var object = JSONObjectBuilder()
        object.set("request_id", record.requestID)
        object.set("time", time: record.timestamp)
        object.set("principal", record.principal)
        object.set("key_id", record.keyID)
        object.set("user_id", record.userID)
        object.set("team", record.team)
        object.set("endpoint", record.endpoint)
        object.set("model_requested", record.modelRequested)
        object.set("model_served", record.modelServed)
        object.set("provider", record.provider)
        object.set("status", record.status)
        object.set("error_code", record.errorCode)
        object.set("stream", record.stream)
        object.set("prompt_tokens", record.promptTokens)
        object.set("completion_tokens", record.completionTokens)
        object.set("cached_tokens", record.cachedTokens)
        object.set("reasoning_tokens", record.reasoningTokens)
        object.set("usage_estimated", record.usageEstimated)
        object.set("cost_usd", record.costUSD)
        object.set("latency_ms", record.latencyMilliseconds)
        object.set("upstream_ms", record.upstreamMilliseconds)
        object.set("overhead_ms", record.overheadMilliseconds)
        object.set("attempts", record.attempts)
        object.set("request_body", record.requestBody)
        object.set("response_body", record.responseBody)
        return object.value
    }

    static func principal(_ principal: Principal) -> JSONValue {
        var object = JSONObjectBuilder()
        object.set("id", principal.id)
        object.set("kind", principal.kind.rawValue)
        object.set("role", principal.role.rawValue)
        object.set("user_id", principal.userID)
        object.set("key_id", principal.keyID)
        object.set("key_name", principal.keyName)
        object.set("team", principal.team)
        object.set("models", strings: principal.allowedModels)
        let limits: [JSONValue] = principal.scopes.map { scope in
            var limit = JSONObjectBuilder()
            limit.set("scope", scope.id)
            limit.set("rpm", scope.rpm)
            limit.set("tpm", scope.tpm)
            limit.set("max_budget_usd", scope.budget?.maxUSD)
            limit.set("budget_period", scope.budget?.period.rawValue)
            return limit.value
        }
        object.set("limits", json: .array(limits))
        return object.value
    }
}

/// Reads the editable fields of a key from a JSON object (create and PATCH share it).
enum KeyFields {
    static let editable: Set<String> = [
        "name", "user_id", "team", "role", "models", "rpm", "tpm", "max_budget_usd", "budget_period", "expires_at", "metadata",
    ]

    static func apply(_ object: [String: JSONValue], to key: inout VirtualKey, now: Double) throws(GatewayError) {
        for field in object.keys.sorted() where !editable.contains(field) {
            throw GatewayError.validation(
                "Unknown field `\(field)`; a key has \(editable.sorted().joined(separator: ", ")).", param: field
            )
        }
        for (field, value) in object {
            switch field {
            case "name":
                guard let name = value.stringValue, !name.isEmpty, name.count <= 200 else {
                    throw GatewayError.validation("`name` must be a non-empty string of at most 200 characters.", param: "name")
                }
                key.name = name
            case "user_id": key.userID = try optionalString(value, field)
            case "team": key.team = try optionalString(value, field)
            case "role":
                guard let text = value.stringValue, let role = Role(rawValue: text) else {
                    throw GatewayError.validation("`role` must be one of admin, user, viewer.", param: "role")
                }
                key.role = role
            case "models":
                if value == .null {
                    key.models = []
                    continue
                }
                guard case .array(let items) = value, items.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
                    throw GatewayError.validation("`models` must be a list of model names or patterns (`gpt-4o*`).", param: "models")
                }
                key.models = items.compactMap(\.stringValue)
            case "rpm": key.rpm = try limit(value, field)
            case "tpm": key.tpm = try limit(value, field)
            case "max_budget_usd":
                if value == .null {
                    key.maxBudgetUSD = nil
                    continue
                }
                guard let amount = value.doubleValue, amount >= 0, amount.isFinite else {
                    throw GatewayError.validation("`max_budget_usd` must be a number of dollars, 0 or more.", param: field)
                }
                key.maxBudgetUSD = amount
            case "budget_period":
                guard let text = value.stringValue, let period = BudgetPeriod(rawValue: text) else {
                    throw GatewayError.validation("`budget_period` must be one of daily, monthly, total.", param: field)
                }
                key.budgetPeriod = period
            case "expires_at":
                if value == .null {
                    key.expiresAt = nil
                    continue
                }
                guard let time = value.doubleValue ?? value.stringValue.flatMap(CivilDate.parse), CivilDate.range.contains(time) else {
                    throw GatewayError.validation(
                        "`expires_at` must be an ISO 8601 UTC time (`2026-12-31T00:00:00Z`) or seconds since 1970.", param: field
                    )
                }
                key.expiresAt = time
            case "metadata":
                if value == .null {
                    key.metadata = [:]
                    continue
                }
                guard case .object(let metadata) = value else {
                    throw GatewayError.validation("`metadata` must be a JSON object.", param: field)
                }
                // Read back on every lookup of the key: bounded like every stored free-form value.
                try StoredJSON.check(value, field: field)
                key.metadata = metadata
            default:
                break
            }
        }
    }

    static func optionalString(_ value: JSONValue, _ field: String) throws(GatewayError) -> String? {
        if value == .null { return nil }
        guard let text = value.stringValue, !text.isEmpty, text.count <= 200 else {
            throw GatewayError.validation("`\(field)` must be a non-empty string or null.", param: field)
        }
        return text
    }

    static func limit(_ value: JSONValue, _ field: String) throws(GatewayError) -> Int? {
        if value == .null { return nil }
        guard let number = value.intValue, number >= 0 else {
            throw GatewayError.validation("`\(field)` must be a whole number, 0 or more, or null.", param: field)
        }
        return number
    }
}
