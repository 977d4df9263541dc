import Yams

/// Walks the YAML tree into ``GatewayConfig``, rejecting unknown keys and wrong types with their line.
struct ConfigParser {
    let environment: [String: String]
    let registry: ProviderRegistry

    /// Keys every provider block may have, whatever its type.
    static let commonProviderKeys = [
        "name", "type", "api_key", "base_url", "headers", "models", "timeout_s", "max_concurrent", "drop_unsupported_params",
    ]

    /// A mapping section whose scalars are read with `${VAR}` replaced.
    func section(_ node: Node, path: String, allowed: [String]) throws(ConfigError) -> Section {
        try Section(node, path: path, allowed: allowed, environment: environment)
    }

    /// A scalar's text with `${VAR}` replaced.
    func text(_ node: Node) -> String? {
        node.scalar.map { EnvironmentInterpolation.interpolate($0.string, environment: environment) }
    }

    func stringMap(_ node: Node, path: String) throws(ConfigError) -> [String: String] {
        try Section.stringMap(node, path: path).mapValues { EnvironmentInterpolation.interpolate($0, environment: environment) }
    }

    func parse(_ root: Node) throws(ConfigError) -> GatewayConfig {
        let top = try self.section(root, path: "the top level", allowed: [
            "server", "storage", "providers", "models", "limits", "auth", "request_log", "routing", "reliability", "cache",
            "conversations", "responses",
        ])
        var config = GatewayConfig()
        if let node = top["server"] { config.server = try parseServer(node) }
        if let node = top["storage"] {
            let section = try self.section(node, path: "storage", allowed: ["url"])
            if let url = try section.string("url") { config.storage.url = url }
        }
        if let node = top["providers"] {
            config.providers = try Section.list(node, path: "providers").map { node throws(ConfigError) in
                try parseProvider(node)
            }
        }
        if let node = top["models"] {
            config.models = try Section.list(node, path: "models").map { node throws(ConfigError) in
                try parseModel(node)
            }
        }
        if let node = top["limits"] {
            let section = try self.section(node, path: "limits", allowed: [
                "default_rpm", "default_tpm", "default_max_tokens", "default_budget_usd", "default_budget_period", "ip_rpm",
                "shared", "redis_url", "redis_failure", "redis_timeout_ms", "redis_prefix",
            ])
            config.limits.defaultRPM = try section.int("default_rpm", minimum: 0)
            config.limits.defaultTPM = try section.int("default_tpm", minimum: 0)
            if let value = try section.int("default_max_tokens", minimum: 1) { config.limits.defaultMaxTokens = value }
            config.limits.defaultBudgetUSD = try section.double("default_budget_usd", minimum: 0)
            if let period = try section.enumeration("default_budget_period", BudgetPeriod.self) {
                config.limits.defaultBudgetPeriod = period
            }
            config.limits.ipRPM = try section.int("ip_rpm", minimum: 0)
            if let shared = try section.enumeration("shared", LimitsConfig.SharedLimits.self) { config.limits.shared = shared }
            if let value = try section.string("redis_url"), !value.isEmpty { config.limits.redisURL = value }
            if let failure = try section.enumeration("redis_failure", SharedStoreFailure.self) { config.limits.redisFailure = failure }
            if let value = try section.int("redis_timeout_ms", minimum: 1, maximum: 10_000) { config.limits.redisTimeoutMilliseconds = value }
            // An empty value reads as unset: the default prefix stays.
            if let value = try section.string("redis_prefix") { config.limits.redisPrefix = value }
        }
        if let node = top["reliability"] {
            config.reliability = try parseReliability(node)
        }
        if let node = top["auth"] {
            let section = try self.section(node, path: "auth", allowed: [
                "jwt", "key_cache_ttl_s", "max_failed_sign_ins_per_minute", "max_keys_per_user", "key_mint_per_minute",
                "self_made_key_max_days",
            ])
            if let value = try section.double("key_cache_ttl_s", minimum: 0) { config.auth.keyCacheTTLSeconds = value }
            if let value = try section.int("max_failed_sign_ins_per_minute", minimum: 0) {
                config.auth.maxFailedSignInsPerMinute = value == 0 ? nil : value
            }
            if let value = try section.int("max_keys_per_user", minimum: 0) {
                config.auth.minting.maxKeysPerUser = value == 0 ? nil : value
            }
            if let value = try section.int("key_mint_per_minute", minimum: 0) {
                config.auth.minting.perMinute = value == 0 ? nil : value
            }
            if let value = try section.double("self_made_key_max_days", minimum: 0) {
                config.auth.minting.maxLifetimeDays = value == 0 ? nil : value
            }
            if let jwtNode = section["jwt"] {
                let jwt = try self.section(jwtNode, path: "auth.jwt", allowed: [
                    "hs256_secret", "jwks_url", "issuer", "audience", "role_claim", "user_claim", "default_role", "leeway_s", "jwks_min_refetch_s",
                ])
                config.jwt = JWTConfig(
                    hs256Secret: try jwt.string("hs256_secret"),
                    jwksURL: try jwt.string("jwks_url"),
                    issuer: try jwt.string("issuer"),
                    audience: try jwt.string("audience"),
                    roleClaim: try jwt.string("role_claim") ?? "role"
                )
                config.jwt?.userClaim = try jwt.string("user_claim") ?? "sub"
                if let role = try jwt.enumeration("default_role", Role.self) { config.jwt?.defaultRole = role }
                if let leeway = try jwt.double("leeway_s", minimum: 0) { config.jwt?.leewaySeconds = leeway }
                if let value = try jwt.double("jwks_min_refetch_s", minimum: 0) { config.jwt?.jwksMinimumRefetchSeconds = value }
                if config.jwt?.hs256Secret == nil, config.jwt?.jwksURL == nil {
                    throw ConfigError("auth.jwt needs `hs256_secret` or `jwks_url`", line: jwtNode.mark?.line)
                }
            }
        }
        if let node = top["request_log"] {
            let section = try self.section(node, path: "request_log", allowed: [
                "mode", "preview_chars", "retention_days", "redact", "sweep_interval_s", "queue_capacity",
            ])
            if let value = try section.double("sweep_interval_s", minimum: 1) { config.requestLog.sweepIntervalSeconds = value }
            if let value = try section.int("queue_capacity", minimum: 1) { config.requestLog.queueCapacity = value }
            if let redact = section["redact"] {
                for item in try Section.list(redact, path: "request_log.redact") {
                    guard let pattern = text(item), !pattern.isEmpty else {
                        throw ConfigError("`request_log.redact` must be a list of regular expressions", line: item.mark?.line)
                    }
                    guard RedactionPattern.isValid(pattern) else {
                        throw ConfigError("`request_log.redact` has an invalid regular expression: \(pattern)", line: item.mark?.line)
                    }
                    config.requestLog.redactPatterns.append(pattern)
                }
            }
            if let mode = try section.enumeration("mode", RequestLogConfig.Mode.self) { config.requestLog.mode = mode }
            if let value = try section.int("preview_chars", minimum: 0) { config.requestLog.previewChars = value }
            if let value = try section.int("retention_days", minimum: 0) { config.requestLog.retentionDays = value }
        }
        if let node = top["cache"] {
            let section = try self.section(node, path: "cache", allowed: [
                "enabled", "ttl_s", "scope", "max_entries", "max_bytes", "max_entry_bytes", "store_truncated", "replay_chunk_delay_ms",
                "hits_count_in_rate_limits", "redis_url", "redis_timeout_ms", "redis_max_connections", "redis_prefix", "semantic",
            ])
            if let value = try section.bool("enabled") { config.cache.enabled = value }
            if let value = try section.double("ttl_s", minimum: 0.001) { config.cache.ttlSeconds = value }
            if let value = try section.enumeration("scope", CacheScope.self) { config.cache.scope = value }
            if let value = try section.int("max_entries", minimum: 1) { config.cache.maxEntries = value }
            if let value = try section.int("max_bytes", minimum: 1024) { config.cache.maxBytes = value }
            if let value = try section.int("max_entry_bytes", minimum: 256) { config.cache.maxEntryBytes = value }
            if let value = try section.bool("store_truncated") { config.cache.storeTruncated = value }
            if let value = try section.int("replay_chunk_delay_ms", minimum: 0, maximum: 10_000) { config.cache.replayChunkDelayMilliseconds = value }
            if let value = try section.bool("hits_count_in_rate_limits") { config.cache.hitsCountInRateLimits = value }
            if let value = try section.string("redis_url"), !value.isEmpty { config.cache.redisURL = value }
            if let value = try section.int("redis_timeout_ms", minimum: 1, maximum: 10_000) { config.cache.redisTimeoutMilliseconds = value }
            if let value = try section.int("redis_max_connections", minimum: 1, maximum: 256) { config.cache.redisMaxConnections = value }
            // Deletes and sizes walk `prefix*`, so the prefix is never empty: an empty value reads
            // as unset and the default stays.
            if let value = try section.string("redis_prefix") { config.cache.redisPrefix = value }
            if let node = section["semantic"] {
                let semantic = try self.section(node, path: "cache.semantic", allowed: [
                    "embedding_model", "threshold", "input", "timeout_ms", "max_entries", "graph_threshold", "search_breadth",
                ])
                if let value = try semantic.string("embedding_model"), !value.isEmpty { config.cache.semantic.embeddingModel = value }
                if let value = try semantic.double("threshold", minimum: 0) {
                    guard value <= 1 else { throw ConfigError("`cache.semantic.threshold` must be at most 1, not \(value)") }
                    config.cache.semantic.threshold = value
                }
                if let value = try semantic.enumeration("input", SemanticCacheConfig.Input.self) { config.cache.semantic.input = value }
                if let value = try semantic.int("timeout_ms", minimum: 1, maximum: 60_000) { config.cache.semantic.timeoutMilliseconds = value }
                if let value = try semantic.int("max_entries", minimum: 1) { config.cache.semantic.maxEntries = value }
                if let value = try semantic.int("graph_threshold", minimum: 16) { config.cache.semantic.graphThreshold = value }
                if let value = try semantic.int("search_breadth", minimum: 1) { config.cache.semantic.searchBreadth = value }
            }
        }
        if let node = top["conversations"] {
            let section = try self.section(node, path: "conversations", allowed: [
                "enabled", "max_context_messages", "max_context_tokens", "max_branches", "max_conversations_per_user", "max_messages",
                "merging", "editing", "export", "batch", "summary_model", "default_model", "default_provider", "cache_entries",
                "cache_ttl_s",
            ])
            if let value = try section.int("cache_entries", minimum: 0) { config.conversations.cacheEntries = value }
            if let value = try section.double("cache_ttl_s", minimum: 0) { config.conversations.cacheTTLSeconds = value }
            if let value = try section.bool("enabled") { config.conversations.enabled = value }
            if let value = try section.int("max_context_messages", minimum: 1) { config.conversations.maxContextMessages = value }
            if let value = try section.int("max_context_tokens", minimum: 1) { config.conversations.maxContextTokens = value }
            if let value = try section.int("max_branches", minimum: 1) { config.conversations.maxBranches = value }
            if let value = try section.int("max_conversations_per_user", minimum: 1) { config.conversations.maxConversationsPerOwner = value }
            if let value = try section.int("max_messages", minimum: 2) { config.conversations.maxMessages = value }
            if let value = try section.bool("merging") { config.conversations.merging = value }
            if let value = try section.bool("editing") { config.conversations.editing = value }
            if let value = try section.bool("export") { config.conversations.export = value }
            if let value = try section.bool("batch") { config.conversations.batch = value }
            if let value = try section.string("summary_model"), !value.isEmpty { config.conversations.summaryModel = value }
            if let value = try section.string("default_model"), !value.isEmpty { config.conversations.defaultModel = value }
            if let value = try section.string("default_provider"), !value.isEmpty { config.conversations.defaultProvider = value }
        }
        if let node = top["responses"] {
            let section = try self.section(node, path: "responses", allowed: ["retention_days"])
            if let value = try section.double("retention_days", minimum: 0) { config.conversations.responseRetentionDays = value }
        }
        if let node = top["routing"] {
            let section = try self.section(node, path: "routing", allowed: ["categories"])
            if let categories = section["categories"] {
                config.categories = try stringMap(categories, path: "routing.categories")
            }
        }
        return config
    }

    private func parseServer(_ node: Node) throws(ConfigError) -> ServerConfig {
        let section = try self.section(node, path: "server", allowed: [
            "host", "port", "master_key", "max_body_bytes", "shutdown_grace_s", "upstream_timeout_s", "idle_timeout_s", "request_timeout_s",
            "public_ops_endpoints",
        ])
        var server = ServerConfig()
        if let host = try section.string("host") { server.host = host }
        if let port = try section.int("port", minimum: 0, maximum: 65535) { server.port = port }
        server.masterKey = try section.string("master_key")
        if let value = try section.int("max_body_bytes", minimum: 1) { server.maxBodyBytes = value }
        if let value = try section.double("shutdown_grace_s", minimum: 0) { server.shutdownGraceSeconds = value }
        if let value = try section.double("upstream_timeout_s", minimum: 0.001) { server.upstreamTimeoutSeconds = value }
        if let value = try section.double("idle_timeout_s", minimum: 1) { server.idleTimeoutSeconds = value }
        if let value = try section.double("request_timeout_s", minimum: 0.001) { server.requestTimeoutSeconds = value }
        if let value = try section.bool("public_ops_endpoints") { server.publicOpsEndpoints = value }
        return server
    }

    private func parseReliability(_ node: Node) throws(ConfigError) -> ReliabilityConfig {
        let section = try self.section(node, path: "reliability", allowed: [
            "max_concurrent_upstream", "max_retry_after_s", "connect_timeout_s", "breaker",
        ])
        var reliability = ReliabilityConfig()
        reliability.maxConcurrentUpstream = try section.int("max_concurrent_upstream", minimum: 1)
        if let value = try section.double("max_retry_after_s", minimum: 0) { reliability.maxRetryAfterSeconds = value }
        if let value = try section.double("connect_timeout_s", minimum: 0.001) { reliability.connectTimeoutSeconds = value }
        if let breakerNode = section["breaker"] {
            let breaker = try self.section(breakerNode, path: "reliability.breaker", allowed: [
                "consecutive_failures", "error_rate", "min_requests", "window_s", "cooldown_s",
            ])
            var policy = CircuitBreaker.Policy()
            if let value = try breaker.int("consecutive_failures", minimum: 1) { policy.consecutiveFailures = value }
            if let value = try breaker.double("error_rate", minimum: 0) {
                guard value <= 1 else {
                    throw ConfigError("`error_rate` in reliability.breaker must be between 0 and 1", line: breaker.line)
                }
                policy.errorRate = value
            }
            if let value = try breaker.int("min_requests", minimum: 1) { policy.minimumRequests = value }
            if let value = try breaker.double("window_s", minimum: 0.001) { policy.window = .milliseconds(Int64(value * 1000)) }
            if let value = try breaker.double("cooldown_s", minimum: 0) { policy.cooldown = .milliseconds(Int64(value * 1000)) }
            reliability.breaker = policy
        }
        return reliability
    }

    private func parseProvider(_ node: Node) throws(ConfigError) -> ProviderConfig {
        // The type decides which keys the block may have, so it is read first.
        let typeSection = try self.section(node, path: "providers[]", allowed: node.mapping?.keys.compactMap { $0.scalar?.string } ?? [])
        let name = try typeSection.requiredString("name")
        let types = registry.typeNames
        guard let typeName = try typeSection.string("type") else {
            throw ConfigError("provider `\(name)` needs a `type` (one of \(types.joined(separator: ", ")))", line: typeSection.line)
        }
        guard let descriptor = registry.descriptor(for: ProviderType(typeName)) else {
            var message = "`type` in providers[] must be one of \(types.joined(separator: ", ")), not `\(typeName)`"
            if let suggestion = Section.closest(to: typeName, in: types) { message += "; did you mean `\(suggestion)`?" }
            throw ConfigError(message, line: node.mapping?.first { $0.key.scalar?.string == "type" }?.value.mark?.line ?? typeSection.line)
        }
        let section = try self.section(node, path: "providers[]", allowed: Self.commonProviderKeys + descriptor.settings.map(\.key))
        var provider = ProviderConfig(name: name, type: descriptor.type, line: section.line)
        provider.apiKey = try section.string("api_key")
        provider.baseURL = try section.string("base_url")
        if let headers = section["headers"] {
            provider.headers = try stringMap(headers, path: "providers[\(name)].headers")
        }
        if let models = section["models"] {
            provider.models = try Section.list(models, path: "providers[\(name)].models").map { node throws(ConfigError) in
                guard let string = text(node) else {
                    throw ConfigError("`models` of provider `\(name)` must be a list of strings", line: node.mark?.line)
                }
                return string
            }
        }
        provider.timeoutSeconds = try section.double("timeout_s", minimum: 0.001)
        provider.maxConcurrent = try section.int("max_concurrent", minimum: 1)
        if let drop = try section.bool("drop_unsupported_params") { provider.dropUnsupportedParams = drop }
        for setting in descriptor.settings {
            let value: String?
            switch setting.kind {
            case .text, .secret:
                value = try section.string(setting.key)
            case .integer(let range):
                value = try section.int(setting.key, minimum: range.lowerBound, maximum: range.upperBound).map(String.init)
            case .number(let range):
                guard let number = try section.double(setting.key, minimum: range.lowerBound) else {
                    value = nil
                    break
                }
                guard number <= range.upperBound else {
                    throw ConfigError(
                        "`\(setting.key)` of provider `\(name)` must be between \(range.lowerBound) and \(range.upperBound)", line: section.line
                    )
                }
                value = String(number)
            case .flag:
                value = try section.bool(setting.key).map(String.init)
            }
            if let value { provider.settings[setting.key] = value }
        }
        return provider
    }

    private func parseModel(_ node: Node) throws(ConfigError) -> ModelConfig {
        let section = try self.section(node, path: "models[]", allowed: [
            "name", "targets", "strategy", "fallbacks", "context_window_fallbacks", "timeout_s", "first_byte_timeout_s",
            "idle_timeout_s", "retries", "backoff_ms", "max_backoff_ms", "max_concurrent", "price", "capabilities", "cache",
            "context_window",
        ])
        let name = try section.requiredString("name")
        guard let targetsNode = section["targets"] else {
            throw ConfigError("model `\(name)` needs `targets`", line: section.line)
        }
        let targets = try Section.list(targetsNode, path: "models[\(name)].targets").map {
            node throws(ConfigError) -> ModelConfig.Target in
            let target = try self.section(node, path: "a target of model `\(name)`", allowed: ["provider", "model", "weight"])
            return ModelConfig.Target(
                provider: try target.requiredString("provider"),
                model: try target.requiredString("model"),
                weight: try target.double("weight", minimum: 0) ?? 1
            )
        }
        var model = ModelConfig(name: name, targets: targets, line: section.line)
        if let strategy = try section.enumeration("strategy", RoutingStrategy.self) { model.strategy = strategy }
        if let fallbacks = section["fallbacks"] {
            model.fallbacks = try Section.list(fallbacks, path: "models[\(name)].fallbacks").map { node throws(ConfigError) in
                guard let string = text(node) else {
                    throw ConfigError("`fallbacks` of model `\(name)` must be a list of model names", line: node.mark?.line)
                }
                return string
            }
        }
        if let fallbacks = section["context_window_fallbacks"] {
            model.contextWindowFallbacks = try Section.list(fallbacks, path: "models[\(name)].context_window_fallbacks").map {
                node throws(ConfigError) in
                guard let string = text(node) else {
                    throw ConfigError("`context_window_fallbacks` of model `\(name)` must be a list of model names", line: node.mark?.line)
                }
                return string
            }
        }
        if let capabilities = section["capabilities"] {
            let names = ModelCapabilities.named.map(\.name).joined(separator: ", ")
            var set: ModelCapabilities = []
            for node in try Section.list(capabilities, path: "models[\(name)].capabilities") {
                guard let string = text(node), let capability = ModelCapabilities(name: string) else {
                    throw ConfigError("`capabilities` of model `\(name)` must be a list of: \(names)", line: node.mark?.line)
                }
                set.insert(capability)
            }
            model.capabilities = set
        }
        if let cacheNode = section["cache"] {
            let cache = try self.section(cacheNode, path: "models[\(name)].cache", allowed: ["enabled", "ttl_s", "semantic"])
            model.cache = ModelCacheConfig(
                enabled: try cache.bool("enabled"), ttlSeconds: try cache.double("ttl_s", minimum: 0.001), semantic: try cache.bool("semantic")
            )
        }
        model.timeoutSeconds = try section.double("timeout_s", minimum: 0.001)
        model.firstByteTimeoutSeconds = try section.double("first_byte_timeout_s", minimum: 0.001)
        model.idleTimeoutSeconds = try section.double("idle_timeout_s", minimum: 0.001)
        model.backoffMilliseconds = try section.int("backoff_ms", minimum: 0)
        model.maxBackoffMilliseconds = try section.int("max_backoff_ms", minimum: 0)
        model.maxConcurrent = try section.int("max_concurrent", minimum: 1)
        model.contextWindow = try section.int("context_window", minimum: 16)
        if let retries = try section.int("retries", minimum: 0, maximum: 10) { model.retries = retries }
        if let priceNode = section["price"] {
            let price = try self.section(priceNode, path: "models[\(name)].price", allowed: [
                "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "reasoning_per_mtok", "max_output_tokens",
            ])
            model.price = ModelPrice(
                inputPerMillionTokens: try price.double("input_per_mtok", minimum: 0) ?? 0,
                outputPerMillionTokens: try price.double("output_per_mtok", minimum: 0) ?? 0,
                cachedInputPerMillionTokens: try price.double("cached_input_per_mtok", minimum: 0),
                reasoningPerMillionTokens: try price.double("reasoning_per_mtok", minimum: 0),
                maxOutputTokens: try price.int("max_output_tokens", minimum: 1)
            )
        }
        return model
    }
}

/// One YAML mapping with a fixed set of allowed keys.
struct Section {
    let path: String
    let line: Int?
    let environment: [String: String]
    private var values: [String: Node] = [:]

    init(_ node: Node, path: String, allowed: [String], environment: [String: String] = [:]) throws(ConfigError) {
        self.path = path
        self.line = node.mark?.line
        self.environment = environment
        guard let mapping = node.mapping else {
            throw ConfigError("`\(path)` must be a mapping of keys to values", line: node.mark?.line)
        }
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                throw ConfigError("keys in `\(path)` must be plain strings", line: keyNode.mark?.line)
            }
            guard allowed.contains(key) else {
                var message = "unknown key `\(key)` in \(path)"
                if let suggestion = Self.closest(to: key, in: allowed) {
                    message += "; did you mean `\(suggestion)`?"
                } else {
                    message += "; valid keys are \(allowed.joined(separator: ", "))"
                }
                throw ConfigError(message, line: keyNode.mark?.line)
            }
            values[key] = value
        }
    }

    subscript(key: String) -> Node? {
        guard let node = values[key] else { return nil }
        if node.scalar != nil, Self.isNull(node) { return nil }
        return node
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let node = self[key] else { return nil }
        guard let scalar = node.scalar else {
            throw ConfigError("`\(key)` in \(path) must be a single value", line: node.mark?.line)
        }
        let value = EnvironmentInterpolation.interpolate(scalar.string, environment: environment)
        return value.isEmpty ? nil : value
    }

    func requiredString(_ key: String) throws(ConfigError) -> String {
        guard let value = try string(key) else {
            throw ConfigError("\(path) is missing `\(key)`", line: line)
        }
        return value
    }

    func int(_ key: String, minimum: Int? = nil, maximum: Int? = nil) throws(ConfigError) -> Int? {
        guard let node = self[key] else { return nil }
        guard let text = try string(key), let value = Int(text) else {
            throw ConfigError("`\(key)` in \(path) must be a whole number", line: node.mark?.line)
        }
        if let minimum, value < minimum {
            throw ConfigError("`\(key)` in \(path) must be at least \(minimum), not \(value)", line: node.mark?.line)
        }
        if let maximum, value > maximum {
            throw ConfigError("`\(key)` in \(path) must be at most \(maximum), not \(value)", line: node.mark?.line)
        }
        return value
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let node = self[key] else { return nil }
        guard let text = try string(key) else { return nil }
        guard let value = Bool(text) else {
            throw ConfigError("`\(key)` in \(path) must be true or false", line: node.mark?.line)
        }
        return value
    }

    func double(_ key: String, minimum: Double? = nil) throws(ConfigError) -> Double? {
        guard let node = self[key] else { return nil }
        guard let text = try string(key), let value = Double(text), value.isFinite else {
            throw ConfigError("`\(key)` in \(path) must be a number", line: node.mark?.line)
        }
        if let minimum, value < minimum {
            throw ConfigError("`\(key)` in \(path) must be at least \(minimum), not \(text)", line: node.mark?.line)
        }
        return value
    }

    func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(ConfigError) -> E?
    where E.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let value = E(rawValue: text) else {
            let node = values[key]
            var message = "`\(key)` in \(path) must be one of \(Self.choices(type)), not `\(text)`"
            if let suggestion = Self.closest(to: text, in: E.allCases.map(\.rawValue)) {
                message += "; did you mean `\(suggestion)`?"
            }
            throw ConfigError(message, line: node?.mark?.line)
        }
        return value
    }

    static func choices<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> String where E.RawValue == String {
        type.allCases.map(\.rawValue).joined(separator: ", ")
    }

    static func list(_ node: Node, path: String) throws(ConfigError) -> [Node] {
        guard let sequence = node.sequence else {
            throw ConfigError("`\(path)` must be a list", line: node.mark?.line)
        }
        return Array(sequence)
    }

    static func stringMap(_ node: Node, path: String) throws(ConfigError) -> [String: String] {
        guard let mapping = node.mapping else {
            throw ConfigError("`\(path)` must be a mapping", line: node.mark?.line)
        }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            guard let keyString = key.scalar?.string, let valueString = value.scalar?.string else {
                throw ConfigError("`\(path)` must map strings to strings", line: key.mark?.line)
            }
            result[keyString] = valueString
        }
        return result
    }

    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The allowed key closest to a typo, if it is close enough to be a likely slip.
    static func closest(to word: String, in candidates: [String]) -> String? {
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate)
            if distance <= max(2, candidate.count / 3), distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
