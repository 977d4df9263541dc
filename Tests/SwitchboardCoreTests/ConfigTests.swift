import SwitchboardCore
import SwitchboardProviders
import Testing

@Suite struct ConfigTests {
    static let designExample = """
        server:
          host: 127.0.0.1
          port: 8080
          master_key: ${SWITCHBOARD_MASTER_KEY}
        storage:
          url: sqlite://./switchboard.db
        providers:
          - name: openai
            type: openai
            api_key: ${OPENAI_API_KEY}
            base_url: https://api.openai.com/v1
          - name: claude
            type: anthropic
            api_key: ${ANTHROPIC_API_KEY}
          - name: aws
            type: bedrock
            region: us-east-1
            access_key_id: ${AWS_ACCESS_KEY_ID}
            secret_access_key: ${AWS_SECRET_ACCESS_KEY}
          - name: azure
            type: azure
            base_url: https://my-resource.openai.azure.com
            api_key: ${AZURE_OPENAI_API_KEY}
            api_version: "2024-10-21"
        models:
          - name: fast
            targets:
              - { provider: openai, model: gpt-4o-mini, weight: 3 }
              - { provider: claude, model: claude-3-5-haiku-latest, weight: 1 }
            strategy: weighted
            fallbacks: [smart]
            timeout_s: 60
            retries: 2
            price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
          - name: smart
            targets: [{ provider: aws, model: anthropic.claude-3-5-sonnet-20240620-v1:0 }]
        limits:
          default_rpm: 600
          default_tpm: 200000
        auth:
          jwt:
            hs256_secret: ${SUPABASE_JWT_SECRET}
            jwks_url: https://issuer.example/.well-known/jwks.json
            issuer: https://issuer.example/
            audience: switchboard
            role_claim: role
        request_log:
          mode: metadata
          preview_chars: 2000
          retention_days: 30
        routing:
          categories:
            chat: fast
            premium: smart
        """

    static let environment = [
        "SWITCHBOARD_MASTER_KEY": "sk-master", "OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant",
        "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AZURE_OPENAI_API_KEY": "az",
    ]

    @Test func parsesTheDesignExample() throws {
        let config = try ConfigLoader(environment: Self.environment, registry: BuiltInProviders.registry).load(yaml: Self.designExample, file: "switchboard.yaml")
        #expect(config.server.masterKey == "sk-master")
        #expect(config.server.port == 8080)
        #expect(config.providers.map(\.name) == ["openai", "claude", "aws", "azure"])
        #expect(config.providers[0].apiKey == "sk-openai")
        #expect(config.providers[2].settings["region"] == "us-east-1")
        #expect(config.providers[3].settings["api_version"] == "2024-10-21")
        let fast = try #require(config.models.first)
        #expect(fast.targets.count == 2)
        #expect(fast.targets[0].weight == 3)
        #expect(fast.strategy == .weighted)
        #expect(fast.fallbacks == ["smart"])
        #expect(fast.timeoutSeconds == 60)
        #expect(fast.retries == 2)
        #expect(fast.price == ModelPrice(inputPerMillionTokens: 0.15, outputPerMillionTokens: 0.60))
        #expect(config.models[1].targets[0].model == "anthropic.claude-3-5-sonnet-20240620-v1:0")
        #expect(config.limits.defaultRPM == 600)
        #expect(config.jwt?.audience == "switchboard")
        #expect(config.jwt?.hs256Secret == nil)
        #expect(config.requestLog.mode == .metadata)
        #expect(config.categories == ["chat": "fast", "premium": "smart"])
    }

    @Test func interpolation() {
        let text = "a: ${SET}\nb: ${UNSET:-fallback}\nc: ${UNSET}\nd: ${EMPTY:-x}\ne: $$HOME\nf: ${SET:-ignored}"
        let result = EnvironmentInterpolation.interpolate(text, environment: ["SET": "value", "EMPTY": ""])
        #expect(result == "a: value\nb: fallback\nc: \nd: x\ne: $HOME\nf: value")
    }

    @Test func secretsWithYAMLCharactersArriveIntact() throws {
        let text = """
            server:
              master_key: ${KEY}
            providers:
              - name: o
                type: openai
                api_key: ${OPENAI}
                headers: { X-Token: "${TOKEN:-none}" }
            """
        let config = try ConfigLoader(environment: ["KEY": "s3cr3t #x9", "OPENAI": "*alias: {x}", "TOKEN": "t#1"], registry: BuiltInProviders.registry).load(yaml: text)
        #expect(config.server.masterKey == "s3cr3t #x9")
        #expect(config.providers[0].apiKey == "*alias: {x}")
        #expect(config.providers[0].headers["X-Token"] == "t#1")
    }

    @Test func typoNamesTheKeyAndLine() {
        let text = """
            server:
              port: 8080
            provders:
              - name: x
            """
        #expect {
            try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text, file: "bad.yaml")
        } throws: { error in
            let description = String(describing: error)
            return description.hasPrefix("bad.yaml:3:") && description.contains("unknown key `provders`")
                && description.contains("did you mean `providers`")
        }
    }

    @Test func modelCapabilitiesAreConfiguredOrInferred() throws {
        let text = """
            providers:
              - name: m
                type: mock
            models:
              - name: seer
                targets: [{ provider: m, model: house }]
                capabilities: [chat, vision]
            """
        let config = try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text)
        #expect(config.models[0].capabilities == [.chat, .vision])
        #expect(ModelCapabilities.inferred(fromModelID: "text-embedding-3-small") == .embeddings)
        #expect(ModelCapabilities.inferred(fromModelID: "amazon.titan-embed-text-v2:0") == .embeddings)
        #expect(ModelCapabilities.inferred(fromModelID: "gpt-4o-mini") == [.chat, .tools, .vision])
        #expect(ModelCapabilities.inferred(fromModelID: "llama-3.1-8b") == [.chat, .tools])
        #expect(ModelCapabilities.needed(forTask: "code") == .chat)
        #expect(ModelCapabilities.needed(forTask: "embeddings") == .embeddings)

        let bad = text.replacingOccurrences(of: "[chat, vision]", with: "[chat, telepathy]")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: bad) }
        #expect(error.line == 7)
        #expect(error.message.contains("chat, tools, vision, embeddings"))
    }

    @Test func contextWindowsAreConfiguredOrPublished() throws {
        let text = """
            providers:
              - name: rec
                type: mock
            models:
              - name: mixed
                targets: [{ provider: rec, model: gpt-4o-mini-2024-07-18 }, { provider: rec, model: gpt-3.5-turbo }]
              - name: house
                targets: [{ provider: rec, model: m }]
              - name: declared
                targets: [{ provider: rec, model: gpt-4o }]
                context_window: 32000
                price: { input_per_mtok: 1, output_per_mtok: 2 }
              - name: priced
                targets: [{ provider: rec, model: claude-sonnet-4-5 }]
                price: { input_per_mtok: 1, output_per_mtok: 2 }
            """
        let config = try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text)
        let catalog = ModelCatalog(providers: [CallPipelineTests.RecordingAdapter()], config: config)
        // Any target may serve the call: the smallest window of them.
        #expect(catalog.contextWindow(of: "mixed") == 16_385)
        #expect(catalog.contextWindow(of: "house") == nil)
        #expect(catalog.contextWindow(of: "declared") == 32_000)
        // A configured price keeps the published window.
        #expect(catalog.contextWindow(of: "priced") == 200_000)
        #expect(catalog.contextWindow(of: "rec/gpt-4.1-mini") == 1_047_576)
        #expect(catalog.contextWindow(of: "nowhere") == nil)

        let bad = text.replacingOccurrences(of: "context_window: 32000", with: "context_window: 8")
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: bad)
        }
        #expect(error.message.contains("context_window"))
        #expect(error.line == 11)
    }

    @Test func responsesRetentionIsConfigured() throws {
        let loader = ConfigLoader(environment: [:], registry: BuiltInProviders.registry)
        #expect(try loader.load(yaml: "server: { port: 0 }").conversations.responseRetentionSeconds == 30 * 86_400)
        #expect(try loader.load(yaml: "responses: { retention_days: 0.5 }").conversations.responseRetentionSeconds == 43_200)
        #expect(try loader.load(yaml: "responses: { retention_days: 0 }").conversations.responseRetentionSeconds == nil)
        let negative = try #require(throws: ConfigError.self) { try loader.load(yaml: "responses: { retention_days: -1 }") }
        #expect(negative.message.contains("retention_days"))
        let typo = try #require(throws: ConfigError.self) { try loader.load(yaml: "responses: { retention: 3 }") }
        #expect(typo.message.contains("retention"))
    }

    @Test func nestedTypoNamesTheLine() throws {
        let text = """
            providers:
              - name: openai
                type: openai
                api_key: k
                base_ulr: http://x
            """
        let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
        #expect(error.line == 5)
        #expect(error.message.contains("`base_ulr`"))
        #expect(error.message.contains("`base_url`"))
    }

    @Test func missingProviderReference() throws {
        let text = """
            providers:
              - name: openai
                type: openai
                api_key: k
            models:
              - name: fast
                targets: [{ provider: opnai, model: gpt-4o-mini }]
            """
        let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
        #expect(error.line == 6)
        #expect(error.message.contains("`opnai`"))
        #expect(error.message.contains("openai"))
    }

    @Test func providerWithoutItsKey() throws {
        let text = """
            providers:
              - name: openai
                type: openai
                api_key: ${OPENAI_API_KEY}
            """
        let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
        #expect(error.line == 2)
        #expect(error.message.contains("`api_key`"))
        #expect(error.message.contains("openai"))
    }

    @Test func invalidYAML() throws {
        let text = """
            server:
              port: 8080
              host: [unclosed
            """
        let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
        #expect(error.message.contains("invalid YAML"))
        #expect(error.line != nil)
    }

    @Test func wrongTypesAndValues() throws {
        let cases: [(String, String)] = [
            ("server:\n  port: eighty\n", "whole number"),
            ("server:\n  port: 70000\n", "at most 65535"),
            ("providers:\n  - name: x\n    type: openia\n", "did you mean `openai`"),
            ("providers: yes\n", "must be a list"),
            ("models:\n  - name: m\n", "needs `targets`"),
            ("storage:\n  url: mysql://x\n", "storage.url"),
            ("request_log:\n  mode: everything\n", "off, metadata, bodies"),
        ]
        for (text, fragment) in cases {
            let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
            #expect(error.message.contains(fragment), "\(text) gave \(error)")
        }
    }

    @Test func sharedLimitsSettings() throws {
        let loader = ConfigLoader(environment: ["REDIS_URL": "redis://cache:6379"], registry: BuiltInProviders.registry)
        let config = try loader.load(yaml: "limits:\n  shared: redis\n  redis_failure: fail_closed\n  redis_timeout_ms: 30\n")
        #expect(config.limits.shared == .redis && config.limits.redisFailure == .closed && config.limits.redisTimeoutMilliseconds == 30)
        // No URL of its own: the cache's Redis (here from REDIS_URL) is the one.
        #expect(config.limits.redisURL == nil && config.cache.redisURL == "redis://cache:6379")
        #expect(try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: "server:\n  port: 8080\n").limits.shared == .memory)
        // An empty prefix reads as unset: never the whole database.
        let empty = try loader.load(yaml: "limits:\n  redis_prefix: \"\"\ncache:\n  redis_prefix: \"\"\n")
        #expect(empty.limits.redisPrefix == "switchboard:limits:" && empty.cache.redisPrefix == "switchboard:cache:")

        let cases: [(String, String)] = [
            ("limits:\n  shared: redis\n", "`limits.shared: redis` needs a Redis"),
            ("limits:\n  shared: postgres\n", "memory, redis"),
            ("limits:\n  redis_failure: maybe\n", "fail_open, fail_closed"),
            ("limits:\n  redis_url: http://x\n", "`limits.redis_url` must start with redis:// or rediss://"),
            ("limits:\n  redis_timeout_ms: 0\n", "`redis_timeout_ms` in limits must be at least 1, not 0"),
            ("limits:\n  redis_prefix: \"switchboard:\"\n", "must not be prefixes of each other"),
        ]
        for (text, fragment) in cases {
            let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
            #expect(error.message.contains(fragment), "\(text) gave \(error)")
        }
    }

    @Test func fallbackToUnknownModel() throws {
        let text = """
            providers:
              - { name: m, type: mock }
            models:
              - name: a
                targets: [{ provider: m, model: x }]
                fallbacks: [b]
            """
        let error = try #require(throws: ConfigError.self) { try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: text) }
        #expect(error.message.contains("`b`"))
    }

    @Test func theSeedsVariablesWithoutAFile() throws {
        let config = try ConfigLoader(environment: [
            "GATEWAY_TOKEN": "shared-secret", "DATABASE_URL": "postgresql://u:p@db:5432/gw", "RATE_LIMIT_REQUESTS": "100",
            "MAX_CONCURRENT_REQUESTS": "50", "AI_GATEWAY_PROMPT_LOGGING": "true",
        ], registry: BuiltInProviders.registry).fromEnvironment()
        #expect(config.server.masterKey == "shared-secret")
        #expect(config.storage.url == "postgresql://u:p@db:5432/gw")
        #expect(config.limits.defaultRPM == 100)
        #expect(config.reliability.maxConcurrentUpstream == 50)
        #expect(config.requestLog.mode == .bodies)
        // Switchboard's own names win; a SQLite path; the logging gateway's RPM name; logging off.
        let other = try ConfigLoader(environment: [
            "SWITCHBOARD_MASTER_KEY": "own", "GATEWAY_TOKEN": "seed", "DB_PATH": "./data/gateway.sqlite", "AI_GATEWAY_RATE_LIMIT_RPM": "60",
            "AI_GATEWAY_PROMPT_LOGGING": "false",
        ], registry: BuiltInProviders.registry).fromEnvironment()
        #expect(other.server.masterKey == "own")
        #expect(other.storage.url == "sqlite://./data/gateway.sqlite")
        #expect(other.limits.defaultRPM == 60)
        #expect(other.requestLog.mode == .metadata)
        for (name, bad, message) in [
            ("RATE_LIMIT_REQUESTS", "lots", "RATE_LIMIT_REQUESTS must be a whole number, 1 or more, not 'lots'"),
            ("MAX_CONCURRENT_REQUESTS", "0", "MAX_CONCURRENT_REQUESTS must be a whole number, 1 or more, not '0'"),
            ("AI_GATEWAY_PROMPT_LOGGING", "maybe", "AI_GATEWAY_PROMPT_LOGGING must be true or false, not 'maybe'"),
            ("DATABASE_URL", "mysql://x", "`storage.url` must be sqlite://PATH or postgres://..."),
        ] {
            let error = try #require(throws: ConfigError.self) {
                try ConfigLoader(environment: [name: bad], registry: BuiltInProviders.registry).fromEnvironment()
            }
            #expect(error.message.contains(message), "\(name)=\(bad) gave \(error)")
        }
    }

    @Test func zeroConfigFromEnvironment() throws {
        let config = try ConfigLoader(environment: [
            "OPENAI_API_KEY": "sk-1", "GROQ_API_KEY": "gsk", "OLLAMA_BASE_URL": "http://localhost:11434",
            "SWITCHBOARD_MASTER_KEY": "master", "GOOGLE_API_KEY": "g",
        ], registry: BuiltInProviders.registry).fromEnvironment()
        #expect(config.providers.map(\.name) == ["openai", "gemini", "groq", "ollama", "mock"])
        #expect(config.providers.first { $0.name == "groq" }?.baseURL == "https://api.groq.com/openai/v1")
        #expect(config.providers.first { $0.name == "ollama" }?.baseURL == "http://localhost:11434/v1")
        #expect(config.server.masterKey == "master")
        #expect(config.storage.url == "sqlite://./switchboard.db")
        let bare = try ConfigLoader(environment: [:], registry: BuiltInProviders.registry).fromEnvironment()
        #expect(bare.providers.map(\.name) == ["mock"])
        #expect(bare.server.masterKey == nil)
    }
}
