/// One upstream provider as configured (or derived from the environment).
public struct ProviderConfig: Sendable, Hashable {
    public var name: String
    public var type: ProviderType
    public var apiKey: String?
    public var baseURL: String?
    /// Extra headers sent on every upstream call (OpenRouter's `HTTP-Referer`, ...).
    public var headers: [String: String]
    /// Model ids this provider is known to serve; listed in `/v1/models` and matched by bare name.
    public var models: [String]
    public var timeoutSeconds: Double?
    /// Most calls in flight to this provider at once; beyond it the target is skipped.
    public var maxConcurrent: Int?
    /// Drop request fields the provider cannot honour (named in `X-Switchboard-Dropped-Params`)
    /// instead of refusing the request with a 400.
    public var dropUnsupportedParams = false
    /// The type's own settings (``ProviderDescriptor/settings``: `region`, `api_version`, the
    /// mock's `reply`, ...), checked when the config was read.
    public var settings: [String: String]
    public var line: Int?

    public init(
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
public enum RoutingStrategy: String, Sendable, Hashable, CaseIterable {
    case weighted
    case priority
    case leastLatency = "least-latency"
    case leastBusy = "least-busy"
    case cheapest
}

/// USD per million tokens. Cached prompt tokens and reasoning tokens fall back to the input and
/// output prices when the model has no separate price for them.
public struct ModelPrice: Sendable, Hashable {
    public var inputPerMillionTokens: Double
    public var outputPerMillionTokens: Double
    public var cachedInputPerMillionTokens: Double?
    public var reasoningPerMillionTokens: Double?
    /// The model's output limit, for budget reservations of requests without `max_tokens`.
    public var maxOutputTokens: Int?

    public init(
        inputPerMillionTokens: Double,
        outputPerMillionTokens: Double,
        cachedInputPerMillionTokens: Double? = nil,
        reasoningPerMillionTokens: Double? = nil,
        maxOutputTokens: Int? = nil
    ) {
        self.inputPerMillionTokens = inputPerMillionTokens
        self.outputPerMillionTokens = outputPerMillionTokens
        self.cachedInputPerMillionTokens = cachedInputPerMillionTokens
        self.reasoningPerMillionTokens = reasoningPerMillionTokens
        self.maxOutputTokens = maxOutputTokens
    }
}

/// A model name clients may ask for, and where it is served.
public struct ModelConfig: Sendable, Hashable {
    public struct Target: Sendable, Hashable {
        public var provider: String
        public var model: String
        public var weight: Double

        public init(provider: String, model: String, weight: Double = 1) {
            self.provider = provider
            self.model = model
            self.weight = weight
        }
    }

    public var name: String
    public var targets: [Target]
    public var strategy: RoutingStrategy
    public var fallbacks: [String]
    /// Models tried when a target says the prompt is longer than its context window.
    public var contextWindowFallbacks: [String]
    /// Whole-call timeout per attempt (stream included).
    public var timeoutSeconds: Double?
    /// Streams: the first chunk must arrive within this.
    public var firstByteTimeoutSeconds: Double?
    /// Streams: the longest allowed gap between two chunks.
    public var idleTimeoutSeconds: Double?
    public var retries: Int
    public var backoffMilliseconds: Int?
    public var maxBackoffMilliseconds: Int?
    /// Most calls in flight to each target of this model at once.
    public var maxConcurrent: Int?
    public var price: ModelPrice?
    public var line: Int?

    public init(
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

public struct ServerConfig: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Admin bearer key; when `nil` auth is off.
    public var masterKey: String?
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// How long in-flight requests and streams may run on after SIGTERM/SIGINT.
    public var shutdownGraceSeconds: Double
    /// Upstream timeout when a model sets none.
    public var upstreamTimeoutSeconds: Double
    /// A client connection with no traffic either way this long is closed.
    public var idleTimeoutSeconds: Double = 300
    /// The most one request may take across all attempts, retries and fallbacks.
    public var requestTimeoutSeconds: Double = 600
    /// Serve `/health/detailed`, `/info` and `/metrics` without a credential (for a scraper on a
    /// private network). Off by default: they name every provider, target and last error.
    public var publicOpsEndpoints = false

    public init(
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
public struct ReliabilityConfig: Sendable, Hashable {
    /// Most upstream calls in flight across all targets; beyond it requests get a fast 429.
    public var maxConcurrentUpstream: Int?
    /// A `Retry-After` (or 429 cooldown) longer than this is capped.
    public var maxRetryAfterSeconds: Double
    public var connectTimeoutSeconds: Double
    public var breaker: CircuitBreaker.Policy

    public init(
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

public struct StorageConfig: Sendable, Hashable {
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://...`.
    public var url: String

    public init(url: String = "sqlite://./switchboard.db") {
        self.url = url
    }
}

public struct LimitsConfig: Sendable, Hashable {
    /// Requests per minute for each key and JWT user without limits of its own.
    public var defaultRPM: Int?
    public var defaultTPM: Int?
    public var defaultMaxTokens: Int
    /// Budget for each JWT user without an override (keys carry their own).
    public var defaultBudgetUSD: Double?
    public var defaultBudgetPeriod: BudgetPeriod = .monthly
    /// Requests per minute per client address for calls without a credential: every call when
    /// auth is off, and failed sign-ins when it is on.
    public var ipRPM: Int?

    public init(defaultRPM: Int? = nil, defaultTPM: Int? = nil, defaultMaxTokens: Int = 4096) {
        self.defaultRPM = defaultRPM
        self.defaultTPM = defaultTPM
        self.defaultMaxTokens = defaultMaxTokens
    }
}

public struct JWTConfig: Sendable, Hashable {
    public var hs256Secret: String?
    public var jwksURL: String?
    public var issuer: String?
    public var audience: String?
    public var roleClaim: String
    /// The claim that names the user (`sub`).
    public var userClaim: String = "sub"
    /// The role of a token whose role claim is missing or names no role.
    public var defaultRole: Role = .user
    /// Clock skew allowed on `exp` and `nbf`.
    public var leewaySeconds: Double = 30
    /// A token naming an unknown key id fetches the JWKS again, at most this often.
    public var jwksMinimumRefetchSeconds: Double = 10

    public init(hs256Secret: String? = nil, jwksURL: String? = nil, issuer: String? = nil, audience: String? = nil, roleClaim: String = "role") {
        self.hs256Secret = hs256Secret
        self.jwksURL = jwksURL
        self.issuer = issuer
        self.audience = audience
        self.roleClaim = roleClaim
    }
}

public struct AuthConfig: Sendable, Hashable {
    /// How long a looked-up virtual key is trusted before the store is asked again: the longest
    /// a revocation on another replica takes to apply here. This replica applies its own at once.
    public var keyCacheTTLSeconds: Double = 5
    /// Failed sign-ins allowed per client address per minute before answers become 429
    /// (`nil` or 0: no throttle). On by default, so keys cannot be guessed quickly.
    public var maxFailedSignInsPerMinute: Int? = 20
    /// Self-service keys (`POST /v1/users/me/api-keys`).
    public var minting = MintingConfig()

    public init() {}
}

/// Bounds on keys callers make for themselves.
public struct MintingConfig: Sendable, Hashable {
    /// Most active keys a non-admin user may hold (`nil`: no cap).
    public var maxKeysPerUser: Int? = 10
    /// Most keys one caller may create per minute (`nil`: no limit).
    public var perMinute: Int? = 5
    /// The longest a self-made key may live, in days (`nil`: as long as its maker).
    public var maxLifetimeDays: Double? = 90

    public init() {}
}

public struct RequestLogConfig: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        case off
        case metadata
        case bodies
    }

    public var mode: Mode
    public var previewChars: Int
    /// Rows older than this are deleted by the retention sweep; 0 keeps them forever.
    public var retentionDays: Int
    /// Extra regular expressions whose matches are replaced in logged bodies.
    public var redactPatterns: [String] = []
    public var sweepIntervalSeconds: Double = 3600
    /// Rows queued for the database beyond which optional rows are shed (spend rows never are).
    public var queueCapacity: Int = 50_000

    public init(mode: Mode = .metadata, previewChars: Int = 2000, retentionDays: Int = 30) {
        self.mode = mode
        self.previewChars = previewChars
        self.retentionDays = retentionDays
    }
}

/// The whole gateway configuration: DESIGN §4.
public struct GatewayConfig: Sendable, Hashable {
    public var server: ServerConfig
    public var storage: StorageConfig
    public var providers: [ProviderConfig]
    public var models: [ModelConfig]
    public var limits: LimitsConfig
    public var reliability: ReliabilityConfig
    public var jwt: JWTConfig?
    public var auth: AuthConfig = AuthConfig()
    public var requestLog: RequestLogConfig
    /// Category → model name, used when a client names no model.
    public var categories: [String: String]
    /// Where the config came from, for the start-up log (`switchboard.yaml`, `environment`).
    public var source: String
    /// Things worth a warning at start-up (a provider key in the environment this build cannot use).
    public var warnings: [String] = []

    public init(
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
