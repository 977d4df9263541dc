/// One upstream provider as configured (or derived from the environment).
package struct ProviderConfig: Sendable, Hashable {
    package var name: String
    package var type: ProviderType
    package var apiKey: String?
    package var baseURL: String?
    /// Extra headers sent on every upstream call (OpenRouter's `HTTP-Referer`, ...).
    package var headers: [String: String]
    /// Model ids this provider is known to serve; listed in `/v1/models` and matched by bare name.
    package var models: [String]
    package var timeoutSeconds: Double?
    /// Most calls in flight to this provider at once; beyond it the target is skipped.
    package var maxConcurrent: Int?
    /// Drop request fields the provider cannot honour (named in `X-Switchboard-Dropped-Params`)
    /// instead of refusing the request with a 400.
    package var dropUnsupportedParams = false
    /// The type's own settings (``ProviderDescriptor/settings``: `region`, `api_version`, the
    /// mock's `reply`, ...), checked when the config was read.
    package var settings: [String: String]
    package var line: Int?

    package init(
        name: String,
        type: ProviderType,
        apiKey: String? = nil,
        baseURL: String? = nil,
        headers: [String: String] = [:],
        models: [String] = [],
        timeoutSeconds: Double? = nil,
        settings: [String: String] = [:],
        line: Int? = nil
    ) {
        self.name = name
        self.type = type
        self.apiKey = apiKey
        self.baseURL = baseURL
        self.headers = headers
        self.models = models
        self.timeoutSeconds = timeoutSeconds
        self.settings = settings
        self.line = line
    }
}

/// How a model's targets are chosen.
package enum RoutingStrategy: String, Sendable, Hashable, CaseIterable {
    case weighted
    case priority
    case leastLatency = "least-latency"
    case leastBusy = "least-busy"
    case cheapest
}

/// USD per million tokens. Cached prompt tokens and reasoning tokens fall back to the input and
/// output prices when the model has no separate price for them.
package struct ModelPrice: Sendable, Hashable {
    package var inputPerMillionTokens: Double
    package var outputPerMillionTokens: Double
    package var cachedInputPerMillionTokens: Double?
    package var reasoningPerMillionTokens: Double?
    /// The model's output limit, for budget reservations of requests without `max_tokens`.
    package var maxOutputTokens: Int?
    /// The model's context window (prompt and answer together), in tokens: how much of a
    /// stored conversation's history fits into a call.
    package var contextWindow: Int?

    package init(
        inputPerMillionTokens: Double,
        outputPerMillionTokens: Double,
        cachedInputPerMillionTokens: Double? = nil,
        reasoningPerMillionTokens: Double? = nil,
        maxOutputTokens: Int? = nil,
        contextWindow: Int? = nil
    ) {
        self.inputPerMillionTokens = inputPerMillionTokens
        self.outputPerMillionTokens = outputPerMillionTokens
        self.cachedInputPerMillionTokens = cachedInputPerMillionTokens
        self.reasoningPerMillionTokens = reasoningPerMillionTokens
        self.maxOutputTokens = maxOutputTokens
        self.contextWindow = contextWindow
    }
}

/// A model name clients may ask for, and where it is served.
package struct ModelConfig: Sendable, Hashable {
    package struct Target: Sendable, Hashable {
        package var provider: String
        package var model: String
        package var weight: Double

        package init(provider: String, model: String, weight: Double = 1) {
            self.provider = provider
            self.model = model
            self.weight = weight
        }
    }

    package var name: String
    package var targets: [Target]
    package var strategy: RoutingStrategy
    package var fallbacks: [String]
    /// Models tried when a target says the prompt is longer than its context window.
    package var contextWindowFallbacks: [String]
    /// Whole-call timeout per attempt (stream included).
    package var timeoutSeconds: Double?
    /// Streams: the first chunk must arrive within this.
    package var firstByteTimeoutSeconds: Double?
    /// Streams: the longest allowed gap between two chunks.
    package var idleTimeoutSeconds: Double?
    package var retries: Int
    package var backoffMilliseconds: Int?
    package var maxBackoffMilliseconds: Int?
    /// Most calls in flight to each target of this model at once.
    package var maxConcurrent: Int?
    package var price: ModelPrice?
    /// What the model can do, when the config says so (otherwise inferred from the target's model id).
    package var capabilities: ModelCapabilities?
    /// The model's own response-cache settings.
    package var cache: ModelCacheConfig?
    /// The context window of this model's targets, when the built-in table does not know it
    /// (or knows it wrong): stored conversations' context is cut to fit it.
    package var contextWindow: Int?
    package var line: Int?

    package init(
        name: String,
        targets: [Target],
        strategy: RoutingStrategy = .priority,
        fallbacks: [String] = [],
        contextWindowFallbacks: [String] = [],
        timeoutSeconds: Double? = nil,
        firstByteTimeoutSeconds: Double? = nil,
        idleTimeoutSeconds: Double? = nil,
        retries: Int = 0,
        backoffMilliseconds: Int? = nil,
        maxBackoffMilliseconds: Int? = nil,
        maxConcurrent: Int? = nil,
        price: ModelPrice? = nil,
        line: Int? = nil
    ) {
        self.name = name
        self.targets = targets
        self.strategy = strategy
        self.fallbacks = fallbacks
        self.contextWindowFallbacks = contextWindowFallbacks
        self.timeoutSeconds = timeoutSeconds
        self.firstByteTimeoutSeconds = firstByteTimeoutSeconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.retries = retries
        self.backoffMilliseconds = backoffMilliseconds
        self.maxBackoffMilliseconds = maxBackoffMilliseconds
        self.maxConcurrent = maxConcurrent
        self.price = price
        self.line = line
    }
}

package struct ServerConfig: Sendable, Hashable {
    package var host: String
    package var port: Int
    /// Admin bearer key; when `nil` auth is off.
    package var masterKey: String?
    /// Largest request body accepted, in bytes.
    package var maxBodyBytes: Int
    /// How long in-flight requests and streams may run on after SIGTERM/SIGINT.
    package var shutdownGraceSeconds: Double
    /// Upstream timeout when a model sets none.
    package var upstreamTimeoutSeconds: Double
    /// A client connection with no traffic either way this long is closed.
    package var idleTimeoutSeconds: Double = 300
    /// The most one request may take across all attempts, retries and fallbacks.
    package var requestTimeoutSeconds: Double = 600
    /// Serve `/health/detailed`, `/info` and `/metrics` without a credential (for a scraper on a
    /// private network). Off by default: they name every provider, target and last error.
    package var publicOpsEndpoints = false

    package init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        masterKey: String? = nil,
        maxBodyBytes: Int = 10 * 1024 * 1024,
        shutdownGraceSeconds: Double = 30,
        upstreamTimeoutSeconds: Double = 600
    ) {
        self.host = host
        self.port = port
        self.masterKey = masterKey
        self.maxBodyBytes = maxBodyBytes
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.upstreamTimeoutSeconds = upstreamTimeoutSeconds
    }
}

/// Gateway-wide failure handling: breakers, overload bounds, retry caps.
package struct ReliabilityConfig: Sendable, Hashable {
    /// Most upstream calls in flight across all targets; beyond it requests get a fast 429.
    package var maxConcurrentUpstream: Int?
    /// A `Retry-After` (or 429 cooldown) longer than this is capped.
    package var maxRetryAfterSeconds: Double
    package var connectTimeoutSeconds: Double
    package var breaker: CircuitBreaker.Policy

    package init(
        maxConcurrentUpstream: Int? = nil,
        maxRetryAfterSeconds: Double = 30,
        connectTimeoutSeconds: Double = 10,
        breaker: CircuitBreaker.Policy = .init()
    ) {
        self.maxConcurrentUpstream = maxConcurrentUpstream
        self.maxRetryAfterSeconds = maxRetryAfterSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.breaker = breaker
    }
}

package struct StorageConfig: Sendable, Hashable {
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://...`.
    package var url: String

    package init(url: String = "sqlite://./switchboard.db") {
        self.url = url
    }
}

package struct LimitsConfig: Sendable, Hashable {
    /// Requests per minute for each key and JWT user without limits of its own.
    package var defaultRPM: Int?
    package var defaultTPM: Int?
    package var defaultMaxTokens: Int
    /// Budget for each JWT user without an override (keys carry their own).
    package var defaultBudgetUSD: Double?
    package var defaultBudgetPeriod: BudgetPeriod = .monthly
    /// Requests per minute per client address for calls without a credential: every call when
    /// auth is off, and failed sign-ins when it is on.
    package var ipRPM: Int?
    /// Where RPM/TPM are counted: this process (`memory`), or Redis, shared by every replica.
    package var shared = SharedLimits.memory
    /// The Redis of `shared: redis`; `nil`: the cache's (`cache.redis_url`, `REDIS_URL`, …).
    package var redisURL: String?
    /// What a call with limits gets while that Redis does not answer.
    package var redisFailure = SharedStoreFailure.open
    /// The most the shared limiter may add to an admission before the failure mode applies.
    package var redisTimeoutMilliseconds = 50
    /// Every rate-limit key in Redis starts with this.
    package var redisPrefix = "switchboard:limits:"

    package enum SharedLimits: String, Sendable, Hashable, CaseIterable {
        case memory, redis
    }

    package init(defaultRPM: Int? = nil, defaultTPM: Int? = nil, defaultMaxTokens: Int = 4096) {
        self.defaultRPM = defaultRPM
        self.defaultTPM = defaultTPM
        self.defaultMaxTokens = defaultMaxTokens
    }
}

/// What a call gets while a shared store (Redis) does not answer: this replica's own view
/// (`fail_open`), or a 503 (`fail_closed`).
package enum SharedStoreFailure: String, Sendable, Hashable, CaseIterable {
    case open = "fail_open"
    case closed = "fail_closed"
}

package struct JWTConfig: Sendable, Hashable {
    package var hs256Secret: String?
    package var jwksURL: String?
    package var issuer: String?
    package var audience: String?
    package var roleClaim: String
    /// The claim that names the user (`sub`).
    package var userClaim: String = "sub"
    /// The role of a token whose role claim is missing or names no role.
    package var defaultRole: Role = .user
    /// Clock skew allowed on `exp` and `nbf`.
    package var leewaySeconds: Double = 30
    /// A token naming an unknown key id fetches the JWKS again, at most this often.
    package var jwksMinimumRefetchSeconds: Double = 10

    package init(hs256Secret: String? = nil, jwksURL: String? = nil, issuer: String? = nil, audience: String? = nil, roleClaim: String = "role") {
        self.hs256Secret = hs256Secret
        self.jwksURL = jwksURL
        self.issuer = issuer
        self.audience = audience
        self.roleClaim = roleClaim
    }
}

package struct AuthConfig: Sendable, Hashable {
    /// How long a looked-up virtual key is trusted before the store is asked again: the longest
    /// a revocation on another replica takes to apply here. This replica applies its own at once.
    package var keyCacheTTLSeconds: Double = 5
    /// Failed sign-ins allowed per client address per minute before answers become 429
    /// (`nil` or 0: no throttle). On by default, so keys cannot be guessed quickly.
    package var maxFailedSignInsPerMinute: Int? = 20
    /// Self-service keys (`POST /v1/users/me/api-keys`).
    package var minting = MintingConfig()

    package init() {}
}

/// Bounds on keys callers make for themselves.
package struct MintingConfig: Sendable, Hashable {
    /// Most active keys a non-admin user may hold (`nil`: no cap).
    package var maxKeysPerUser: Int? = 10
    /// Most keys one caller may create per minute (`nil`: no limit).
    package var perMinute: Int? = 5
    /// The longest a self-made key may live, in days (`nil`: as long as its maker).
    package var maxLifetimeDays: Double? = 90

    package init() {}
}

package struct RequestLogConfig: Sendable, Hashable {
    package enum Mode: String, Sendable, Hashable, CaseIterable {
        case off
        case metadata
        case bodies
    }

    package var mode: Mode
    package var previewChars: Int
    /// Rows older than this are deleted by the retention sweep; 0 keeps them forever.
    package var retentionDays: Int
    /// Extra regular expressions whose matches are replaced in logged bodies.
    package var redactPatterns: [String] = []
    package var sweepIntervalSeconds: Double = 3600
    /// Rows queued for the database beyond which optional rows are shed (spend rows never are).
    package var queueCapacity: Int = 50_000

    package init(mode: Mode = .metadata, previewChars: Int = 2000, retentionDays: Int = 30) {
        self.mode = mode
        self.previewChars = previewChars
        self.retentionDays = retentionDays
    }
}

/// `cache`: the response cache (docs/CACHE.md).
package struct CacheConfig: Sendable, Hashable {
    /// Whether models without their own `cache.enabled` are cached.
    package var enabled = false
    package var ttlSeconds: Double = 3600
    package var scope: CacheScope = .key
    package var maxEntries = 10_000
    package var maxBytes = 64 << 20
    package var maxEntryBytes = 1 << 20
    /// Also store answers cut by `max_tokens` (`finish_reason: length`).
    package var storeTruncated = false
    /// A cached answer streamed back: the pause between chunks.
    package var replayChunkDelayMilliseconds = 0
    /// Whether a hit counts against the caller's request rate limit (it always passes admission).
    package var hitsCountInRateLimits = true
    /// A shared Redis (`redis://…` or `rediss://…`); `nil`: the in-memory cache only.
    package var redisURL: String?
    /// Used when `redisURL` holds no password (`REDIS_PASSWORD`).
    package var redisPassword: String?
    /// The longest a Redis command may add to a request before the cache falls back to memory.
    package var redisTimeoutMilliseconds = 20
    package var redisMaxConnections = 4
    /// Every cache key in Redis starts with this.
    package var redisPrefix = "switchboard:cache:"
    /// The semantic cache, for models that opt in (`models[].cache.semantic: true`).
    package var semantic = SemanticCacheConfig()

    package init() {}
}

/// `cache.semantic`: how prompts are embedded and compared (docs/CACHE.md).
package struct SemanticCacheConfig: Sendable, Hashable {
    package enum Input: String, Sendable, Hashable, CaseIterable {
        /// The last user message's text.
        case lastUser = "last_user"
        /// Every message's text, with its role.
        case conversation
    }

    /// A model of this gateway (or `provider/model`) that answers `/v1/embeddings`.
    package var embeddingModel: String?
    /// The least cosine similarity that counts as the same prompt.
    package var threshold = 0.95
    package var input = Input.lastUser
    /// An embedding slower than this makes the call a miss.
    package var timeoutMilliseconds = 100
    /// Vectors kept in all (the oldest go first).
    package var maxEntries = 50_000
    /// Entries in one partition past which it is searched through an HNSW graph, not a flat scan.
    package var graphThreshold = 8192
    /// Candidates a graph search keeps (HNSW's `ef`): more finds more, slower.
    package var searchBreadth = 64

    package init() {}
}

/// A model's own `cache` settings, over the `cache` section.
package struct ModelCacheConfig: Sendable, Hashable {
    package var enabled: Bool?
    package var ttlSeconds: Double?
    /// Also answer prompts similar to a stored one (`cache.semantic`).
    package var semantic: Bool?

    package init(enabled: Bool? = nil, ttlSeconds: Double? = nil, semantic: Bool? = nil) {
        self.enabled = enabled
        self.ttlSeconds = ttlSeconds
        self.semantic = semantic
    }
}

/// `conversations`: stored message trees (docs/CONVERSATIONS.md). Seed names in brackets.
package struct ConversationsConfig: Sendable, Hashable {
    package var enabled = true
    /// Messages of the path sent upstream at most, newest kept [MAX_CONTEXT_MESSAGES].
    package var maxContextMessages = 100
    /// The estimated prompt tokens a context may reach before its oldest turns are dropped.
    package var maxContextTokens = 100_000
    /// [MAX_BRANCHES_PER_CONVERSATION]
    package var maxBranches = 10
    /// [MAX_CONVERSATIONS_PER_USER]
    package var maxConversationsPerOwner = 1000
    /// [MAX_MESSAGES_PER_CONVERSATION]
    package var maxMessages = 500
    /// [ENABLE_BRANCH_MERGING], [ENABLE_MESSAGE_EDITING], [ENABLE_CONVERSATION_EXPORT], [ENABLE_BATCH_OPERATIONS]
    package var merging = true
    package var editing = true
    package var export = true
    package var batch = true
    /// The model a `summarize` merge asks (default: the conversation's model).
    package var summaryModel: String?
    /// Recently used conversations kept in memory for turns (0: none), and for how long.
    package var cacheEntries = 1000
    package var cacheTTLSeconds: Double = 30
    /// The model seed 003's `/chat` uses when the request names none [DEFAULT_MODEL].
    package var defaultModel: String?
    /// The provider seed 003's `/chat` uses when the request names none [DEFAULT_PROVIDER].
    package var defaultProvider: String?
    /// How long a stored Responses-API response can be read and continued (`responses.retention_days`).
    package var responseRetentionDays: Double = 30

    /// ``responseRetentionDays`` in seconds; `nil`: kept as long as its conversation (0 days).
    package var responseRetentionSeconds: Double? { responseRetentionDays > 0 ? responseRetentionDays * 86_400 : nil }

    package init() {}
}

/// The whole gateway configuration: DESIGN §4.
package struct GatewayConfig: Sendable, Hashable {
    package var server: ServerConfig
    package var storage: StorageConfig
    package var providers: [ProviderConfig]
    package var models: [ModelConfig]
    package var limits: LimitsConfig
    package var reliability: ReliabilityConfig
    package var jwt: JWTConfig?
    package var auth: AuthConfig = AuthConfig()
    package var requestLog: RequestLogConfig
    package var cache = CacheConfig()
    package var conversations = ConversationsConfig()
    /// Category → model name, used when a client names no model.
    package var categories: [String: String]
    /// Where the config came from, for the start-up log (`switchboard.yaml`, `environment`).
    package var source: String
    /// Things worth a warning at start-up (a provider key in the environment this build cannot use).
    package var warnings: [String] = []

    package init(
        server: ServerConfig = ServerConfig(),
        storage: StorageConfig = StorageConfig(),
        providers: [ProviderConfig] = [],
        models: [ModelConfig] = [],
        limits: LimitsConfig = LimitsConfig(),
        reliability: ReliabilityConfig = ReliabilityConfig(),
        jwt: JWTConfig? = nil,
        requestLog: RequestLogConfig = RequestLogConfig(),
        categories: [String: String] = [:],
        source: String = "defaults"
    ) {
        self.server = server
        self.storage = storage
        self.providers = providers
        self.models = models
        self.limits = limits
        self.reliability = reliability
        self.jwt = jwt
        self.requestLog = requestLog
        self.categories = categories
        self.source = source
    }
}
