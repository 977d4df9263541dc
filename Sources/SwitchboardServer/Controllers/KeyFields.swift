import SwitchboardCore

/// Reads the editable fields of a key from a JSON object (create and PATCH share it).
enum KeyFields {
    static let editable: Set<String> = [
        "name", "user_id", "team", "role", "models", "rpm", "tpm", "max_budget_usd", "budget_period", "expires_at", "metadata", "cache",
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
            case "cache":
                key.cache = try cacheSettings(value)
            default:
                break
            }
        }
    }

    /// `cache: {enabled, ttl_s, scope}` (each may be null), or `null` for none.
    static func cacheSettings(_ value: JSONValue) throws(GatewayError) -> KeyCacheSettings? {
        if value == .null { return nil }
        guard case .object(let fields) = value else {
            throw GatewayError.validation("`cache` must be an object with `enabled`, `ttl_s` and `scope`, or null.", param: "cache")
        }
        var settings = KeyCacheSettings()
        for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
            switch (name, field) {
            case (_, .null): continue
            case ("enabled", .bool(let enabled)): settings.enabled = enabled
            case ("ttl_s", _):
                guard let seconds = field.doubleValue, seconds > 0, seconds <= 366 * 86_400 else {
                    throw GatewayError.validation("`cache.ttl_s` must be a number of seconds above 0, at most a year.", param: "cache.ttl_s")
                }
                settings.ttlSeconds = seconds
            case ("scope", _):
                guard let text = field.stringValue, let scope = CacheScope(rawValue: text) else {
                    throw GatewayError.validation("`cache.scope` must be one of key, user, team, global.", param: "cache.scope")
                }
                settings.scope = scope
            case ("enabled", _):
                throw GatewayError.validation("`cache.enabled` must be true or false.", param: "cache.enabled")
            default:
                throw GatewayError.validation("Unknown field `cache.\(name)`; `cache` has enabled, ttl_s, scope.", param: "cache.\(name)")
            }
        }
        return settings.isEmpty ? nil : settings
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
