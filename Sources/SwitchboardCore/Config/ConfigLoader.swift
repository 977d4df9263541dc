import Yams

/// Reads DESIGN §4 configuration from YAML text or from the environment, and validates it.
///
/// Every key is checked: a typo is an error naming the key, its line and the closest valid key,
/// so a bad file never starts a half-working server.
package struct ConfigLoader: Sendable {
    package var environment: [String: String]
    /// The provider types this build serves.
    package var registry: ProviderRegistry

    package init(environment: [String: String], registry: ProviderRegistry) {
        self.environment = environment
        self.registry = registry
    }

    /// Parses and validates a YAML configuration.
    /// - Parameters:
    ///   - text: the file's contents, before `${VAR}` interpolation.
    ///   - file: the name used in error messages.
    package func load(yaml text: String, file: String? = nil) throws(ConfigError) -> GatewayConfig {
        // `${VAR}` is replaced inside each scalar after parsing, so a value holding `#`, `:` or a
        // leading `*` is taken as it is instead of changing the YAML around it.
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw ConfigError("invalid YAML: \(error)", file: file)
        }
        guard let root else {
            throw ConfigError("the file is empty", line: 1, file: file)
        }
        do {
            var config = try ConfigParser(environment: environment, registry: registry).parse(root)
            config.source = file ?? "yaml"
            try applyRedisEnvironment(to: &config.cache)
            if config.storage.url == StorageConfig().url, let url = environment["SWITCHBOARD_DATABASE_URL"], !url.isEmpty {
                config.storage.url = url
            }
            try ConfigValidator.validate(config, registry: registry)
            return config
        } catch {
            var error = error
            error.file = file
            throw error
        }
    }

    /// Builds the zero-config setup: every provider whose key is in the environment, plus `mock`.
    package func fromEnvironment() throws(ConfigError) -> GatewayConfig {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        // Each provider type finds its own variables; the registry's order is the providers' order.
        let providers = registry.descriptors.flatMap { $0.discover(in: environment) }
        // The seeds' names come second: `GATEWAY_TOKEN` (the service gateway's shared secret).
        var server = ServerConfig(masterKey: value("SWITCHBOARD_MASTER_KEY") ?? value("GATEWAY_TOKEN"))
        if let host = value("SWITCHBOARD_HOST") { server.host = host }
        if let port = value("SWITCHBOARD_PORT") ?? value("PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigError("SWITCHBOARD_PORT must be a port number, not '\(port)'")
            }
            server.port = number
        }
        // `DATABASE_URL` (PostgreSQL, as hosting platforms set it), or a SQLite file at
        // `DATABASE_PATH` / `DB_PATH` (the logging gateway's names).
        let path = value("DATABASE_PATH") ?? value("DB_PATH")
        let storage = StorageConfig(
            url: value("SWITCHBOARD_DATABASE_URL") ?? value("DATABASE_URL") ?? path.map { "sqlite://" + $0 } ?? StorageConfig().url
        )
        var config = GatewayConfig(server: server, storage: storage, providers: providers, source: "environment")
        try applySeedEnvironment(to: &config)
        // The response cache: `SWITCHBOARD_CACHE=true` turns it on; `CACHE_TTL_DEFAULT` (seconds) as the chat orchestrator names it.
        if let flag = value("SWITCHBOARD_CACHE") {
            guard let enabled = Self.flag(flag) else {
                throw ConfigError("SWITCHBOARD_CACHE must be true or false, not '\(flag)'")
            }
            config.cache.enabled = enabled
        }
        if let ttl = value("CACHE_TTL_DEFAULT") {
            guard let seconds = Double(ttl), seconds > 0 else {
                throw ConfigError("CACHE_TTL_DEFAULT must be a number of seconds above 0, not '\(ttl)'")
            }
            config.cache.ttlSeconds = seconds
        }
        try applyRedisEnvironment(to: &config.cache)
        try ConfigValidator.validate(config, registry: registry)
        return config
    }

    /// Limits and logging as the seeds name them, for a gateway started without a file:
    /// `RATE_LIMIT_REQUESTS` or `AI_GATEWAY_RATE_LIMIT_RPM` (requests per minute for each key
    /// without its own), `MAX_CONCURRENT_REQUESTS` (upstream calls at once),
    /// `AI_GATEWAY_PROMPT_LOGGING` (`true`: the request log keeps bodies; `false`: metadata only).
    func applySeedEnvironment(to config: inout GatewayConfig) throws(ConfigError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func count(_ name: String, minimum: Int) throws(ConfigError) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), number >= minimum else {
                throw ConfigError("\(name) must be a whole number, \(minimum) or more, not '\(text)'")
            }
            return number
        }
        let seedRPM = try count("RATE_LIMIT_REQUESTS", minimum: 1)
        let gatewayRPM = try count("AI_GATEWAY_RATE_LIMIT_RPM", minimum: 1)
        if let rpm = seedRPM ?? gatewayRPM { config.limits.defaultRPM = rpm }
        if let concurrent = try count("MAX_CONCURRENT_REQUESTS", minimum: 1) {
            config.reliability.maxConcurrentUpstream = concurrent
        }
        if let flag = value("AI_GATEWAY_PROMPT_LOGGING") {
            guard let logging = Self.flag(flag) else {
                throw ConfigError("AI_GATEWAY_PROMPT_LOGGING must be true or false, not '\(flag)'")
            }
            config.requestLog.mode = logging ? .bodies : .metadata
        }
        // The chat orchestrator's conversation limits and switches, and seed 003's defaults.
        if let value = try count("MAX_CONTEXT_MESSAGES", minimum: 1) { config.conversations.maxContextMessages = value }
        if let value = try count("MAX_BRANCHES_PER_CONVERSATION", minimum: 1) { config.conversations.maxBranches = value }
        if let value = try count("MAX_CONVERSATIONS_PER_USER", minimum: 1) { config.conversations.maxConversationsPerOwner = value }
        if let value = try count("MAX_MESSAGES_PER_CONVERSATION", minimum: 2) { config.conversations.maxMessages = value }
        let switches: [(String, WritableKeyPath<ConversationsConfig, Bool>)] = [
            ("ENABLE_BRANCH_MERGING", \.merging), ("ENABLE_MESSAGE_EDITING", \.editing), ("ENABLE_CONVERSATION_EXPORT", \.export),
            ("ENABLE_BATCH_OPERATIONS", \.batch),
        ]
        for (name, path) in switches {
            guard let text = value(name) else { continue }
            guard let flag = Self.flag(text) else { throw ConfigError("\(name) must be true or false, not '\(text)'") }
            config.conversations[keyPath: path] = flag
        }
        if let model = value("DEFAULT_MODEL") { config.conversations.defaultModel = model }
        if let provider = value("DEFAULT_PROVIDER") { config.conversations.defaultProvider = provider }
    }

    /// The chat orchestrator's Redis variables: `REDIS_URL`, or `REDIS_HOST` and `REDIS_PORT`,
    /// when the file names no `cache.redis_url`; `REDIS_PASSWORD` when the URL holds none;
    /// `REDIS_MAX_CONNECTIONS`; `REDIS_ENABLED=false` turns Redis off whatever else says.
    func applyRedisEnvironment(to cache: inout CacheConfig) throws(ConfigError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        if let flag = value("REDIS_ENABLED") {
            guard let enabled = Self.flag(flag) else {
                throw ConfigError("REDIS_ENABLED must be true or false, not '\(flag)'")
            }
            if !enabled {
                cache.redisURL = nil
                return
            }
        }
        if cache.redisURL == nil {
            if let url = value("REDIS_URL") {
                cache.redisURL = url
            } else if let host = value("REDIS_HOST") {
                let port = value("REDIS_PORT") ?? "6379"
                guard let number = Int(port), (1...65535).contains(number) else {
                    throw ConfigError("REDIS_PORT must be a port number, not '\(port)'")
                }
                cache.redisURL = "redis://\(host):\(number)"
            }
        }
        if let password = value("REDIS_PASSWORD") { cache.redisPassword = password }
        if let connections = value("REDIS_MAX_CONNECTIONS") {
            guard let number = Int(connections), (1...256).contains(number) else {
                throw ConfigError("REDIS_MAX_CONNECTIONS must be a number from 1 to 256, not '\(connections)'")
            }
            cache.redisMaxConnections = number
        }
    }

    /// `true`/`1`/`on` or `false`/`0`/`off`, in any case; `nil` for anything else.
    static func flag(_ text: String) -> Bool? {
        ["true": true, "1": true, "on": true, "false": false, "0": false, "off": false][text.lowercased()]
    }

    static func describe(_ error: YamlError, file: String?) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text))" }
            return ConfigError(message, line: mark.line, file: file)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(
                "duplicated key \(duplicates.joined(separator: ", ")) (\(context.text))",
                line: context.mark.line,
                file: file
            )
        default:
            return ConfigError("invalid YAML: \(error)", file: file)
        }
    }
}
