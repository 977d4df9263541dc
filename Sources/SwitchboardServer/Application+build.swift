import AsyncHTTPClient
public import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import SQLKit
import ServiceLifecycle
package import SwitchboardCore
import SwitchboardProviders
package import SwitchboardStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public typealias GatewayApplication = Application<RouterResponder<GatewayRequestContext>>

/// Everything ``buildGateway(_:)`` assembled, for `main` and for tests that look inside.
package struct BuiltGateway: Sendable {
    package let application: GatewayApplication
    package let config: GatewayConfig
    package let store: any RequestLogStore
    package let governance: any GovernanceStore
    package let writer: RecordWriter
    /// Every route the router serves, as `METHOD /path` (the security table is checked against it).
    package let routes: [String]
}

/// Builds the gateway's application from arguments: used by `switchboard serve` and by tests.
public func buildApplication(_ arguments: some AppArguments) async throws -> GatewayApplication {
    try await buildGateway(arguments).application
}

/// - Parameters:
///   - arguments: where the configuration comes from, and overrides.
///   - onServerRunning: called with the bound port once the server listens (tests pass port 0).
package func buildGateway(
    _ arguments: some AppArguments,
    onServerRunning: (@Sendable (Int) async -> Void)? = nil
) async throws -> BuiltGateway {
    let logger = {
        let output = arguments.logOutput
        var logger = Logger(label: "switchboard", factory: { GatewayLogHandler(label: $0, output: output) })
        logger.logLevel = arguments.logLevel
        return logger
    }()
    let config = try loadConfig(arguments)
    let redisConfiguration = try ResponseCacheAssembly.redisConfiguration(config.cache)

    let storage = try await openStorage(config.storage.url, logger: logger)
    let store = storage.store
    let governance = storage.governance
    // Turns on recently used conversations read nothing from the database (docs/CONVERSATIONS.md).
    let conversationStore: any ConversationStore = config.conversations.cacheEntries > 0 && config.conversations.cacheTTLSeconds > 0
        ? CachedConversationStore(
            base: storage.conversations, capacity: config.conversations.cacheEntries,
            ttl: .milliseconds(Int64(config.conversations.cacheTTLSeconds * 1000)), tailLength: config.conversations.maxContextMessages
        )
        : storage.conversations
    let closeStore = storage.close

    let scrubber = SecretScrubber.configured(config, registry: BuiltInProviders.registry)
    let registry = PrometheusCollectorRegistry()
    let metricsFactory = PrometheusMetricsFactory(registry: registry)
    let writer = RecordWriter(
        store: store,
        capacity: config.requestLog.queueCapacity,
        redactor: Redactor(custom: config.requestLog.redactPatterns, secrets: scrubber),
        previewLimit: config.requestLog.previewChars,
        metricsFactory: metricsFactory,
        logger: logger
    )

    let client = HTTPClientService.makeClient(reliability: config.reliability)

    let adapters: [any ProviderAdapter]
    do {
        adapters = try config.providers.map { provider throws(ConfigError) in
            try BuiltInProviders.makeAdapter(provider, context: AdapterContext(client: client, defaultMaxTokens: config.limits.defaultMaxTokens))
        }
    } catch {
        try? await client.shutdown()
        try? await closeStore()
        throw error
    }
    let catalog = ModelCatalog(providers: adapters, config: config)
    let metrics = GatewayMetrics(factory: metricsFactory, labels: .configured(config))
    let gateway = Gateway(
        catalog: catalog,
        metrics: metrics,
        board: HealthBoard(
            policy: config.reliability.breaker,
            maxCooldown: .milliseconds(Int64(config.reliability.maxRetryAfterSeconds * 1000)),
            targets: catalog.allTargets(),
            scrubber: scrubber
        ),
        limiter: ConcurrencyLimiter(limit: config.reliability.maxConcurrentUpstream),
        requestTimeout: .milliseconds(Int64(config.server.requestTimeoutSeconds * 1000)),
        scrubber: scrubber
    )
    let sharedLimits = try SharedLimitsAssembly.make(config, metricsFactory: metricsFactory, logger: logger)
    let governor = Governor(
        limiter: sharedLimits.limiter,
        budgets: BudgetBook(
            loader: { scope, since in try await governance.spend(scope: scope, since: since) },
            clock: { Date().timeIntervalSince1970 }
        ),
        catalog: catalog,
        defaultMaxTokens: config.limits.defaultMaxTokens
    )
    // The call pipeline: the ledger first (it refuses what it could not record, and records
    // last), then admission and metering, then the response cache (only admitted calls may
    // hit). Later capabilities add their stages here.
    var stages: [any CallStage] = [
        LedgerStage(
            sink: LogModeSink(base: writer, mode: config.requestLog.mode), metrics: metrics,
            captureLimit: config.requestLog.mode == .bodies ? config.requestLog.previewChars : nil,
            backlogged: { writer.isBacklogged }
        ),
    ]
    // Conversation context before admission: the budget reserves for, and the cache keys on,
    // the context the model will see.
    let conversationMetrics = ConversationMetrics(factory: metricsFactory)
    let conversationWriter = ConversationWriter(store: conversationStore, metricsFactory: metricsFactory, logger: logger)
    let conversationStage = ConversationStage(
        store: conversationStore, journal: conversationWriter, settings: config.conversations, catalog: catalog, metrics: conversationMetrics
    )
    stages.append(conversationStage)
    stages.append(AdmissionStage(governor: governor, countCacheHits: config.cache.hitsCountInRateLimits))
    let modelCache = Dictionary(config.models.compactMap { model in model.cache.map { (model.name, $0) } }, uniquingKeysWith: { first, _ in first })
    let semanticCache = ResponseCacheAssembly.semantic(config.cache, models: modelCache, gateway: gateway, logger: logger)
    let cacheAssembly = ResponseCacheAssembly.make(
        config.cache, redis: redisConfiguration, index: semanticCache?.index, metricsFactory: metricsFactory, logger: logger
    )
    let responseCache = cacheAssembly.cache
    let cacheMetrics = cacheAssembly.metrics
    // Always a stage: a key may turn the cache on for itself (it costs a dictionary lookup).
    stages.append(CacheStage(
        cache: responseCache, settings: config.cache, modelSettings: modelCache, catalog: catalog, metrics: cacheMetrics,
        semantic: semanticCache
    ))
    let pipeline = CallPipeline(gateway: gateway, stages: stages)

    let healthWindow = Duration.seconds(300)
    let bodyReader = RequestBodyReader(maxBytes: config.server.maxBodyBytes)
    let startedAtUnix = Int(Date().timeIntervalSince1970)
    let keyCache = try SharedLimitsAssembly.keyCache(
        config, local: MemoryKeyCache(ttl: .milliseconds(Int64(config.auth.keyCacheTTLSeconds * 1000))), logger: logger
    )
    let authenticator = Authenticator(config: config, store: governance, cache: keyCache.cache, client: client, logger: logger)
    let auth = AuthMiddleware(
        // Failed sign-ins are counted per replica: a check before every call's authentication
        // would otherwise cost a Redis round trip each.
        authenticator: authenticator, limiter: RateLimiter(),
        failedSignInsPerMinute: [config.limits.ipRPM, config.auth.maxFailedSignInsPerMinute].compactMap { $0 }.min()
    )
    let operations = OperationsController(
        version: SwitchboardVersion.current, gateway: gateway, startedAt: .now, startedAtUnix: startedAtUnix, registry: registry,
        store: store, providers: adapters.map(\.name), models: catalog.modelNames, authEnabled: config.server.masterKey != nil
    )

    // Every route is public (liveness, readiness) or needs one permission, and renders its
    // errors in its API's shape; docs/SECURITY.md holds the table, checked against this router.
    let router = Router(context: GatewayRequestContext.self)
    router.add(middleware: ObservabilityMiddleware(metricsFactory: metricsFactory))
    operations.addPublicRoutes(to: router)
    /// A route group: its error shape, then authentication and its one permission.
    func routes(_ path: String, _ format: ErrorFormat, _ permission: Permission) -> RouterGroup<AuthenticatedContext> {
        router.group(RouterPath(path))
            .add(middleware: ErrorRenderingMiddleware(format: format, metricsFactory: metricsFactory))
            .add(middleware: auth)
            .group(context: AuthenticatedContext.self)
            .add(middleware: PermissionMiddleware(permission))
    }
    let ops = router.group().add(middleware: ErrorRenderingMiddleware(format: .openAI, metricsFactory: metricsFactory))
    let guardedOps = config.server.publicOpsEndpoints
        ? ops : ops.add(middleware: auth).add(middleware: PermissionMiddleware<GatewayRequestContext>(.readOperations))
    operations.addRoutes(to: guardedOps)
    HealthController(gateway: gateway, window: healthWindow).addRoutes(to: guardedOps)

    // Streams still open this long after the stop signal are cut (and settled) before the grace runs out.
    let shutdownCut = Duration.milliseconds(Int64(max(0, config.server.shutdownGraceSeconds - 2) * 1000))
    let openAI = ChatEndpoint(door: OpenAIChatDoor(catalog: catalog), pipeline: pipeline, bodyReader: bodyReader, shutdownCut: shutdownCut)
    let messages = ChatEndpoint(
        door: AnthropicMessagesDoor(defaultMaxTokens: config.limits.defaultMaxTokens), pipeline: pipeline, bodyReader: bodyReader,
        shutdownCut: shutdownCut
    )
    let simple = ChatEndpoint(door: SimpleChatDoor(catalog: catalog), pipeline: pipeline, bodyReader: bodyReader)
    let embeddings = EmbeddingsEndpoint(pipeline: pipeline, bodyReader: bodyReader)
    let countTokens = CountTokensEndpoint(pipeline: pipeline, bodyReader: bodyReader)
    let models = ModelsController(gateway: gateway, startedAt: startedAtUnix, window: healthWindow, discovery: ModelDiscovery())
    let recommend = RecommendController(gateway: gateway, bodyReader: bodyReader, window: healthWindow)
    let me = MeController(store: governance, governor: governor, bodyReader: bodyReader, minting: config.auth.minting)
    let usage = UsageController(store: governance)
    let conversations = ConversationsController(
        store: conversationStore, profiles: storage.profiles, journal: conversationWriter, stage: conversationStage, pipeline: pipeline, bodyReader: bodyReader,
        metrics: conversationMetrics, calls: openAI
    )
    let users = UsersController(
        profiles: storage.profiles, conversations: conversationStore, journal: conversationWriter, governance: governance, bodyReader: bodyReader
    )
    let responses = ChatEndpoint(
        door: ResponsesDoor(catalog: catalog, defaultMaxTokens: config.limits.defaultMaxTokens), pipeline: pipeline, bodyReader: bodyReader,
        shutdownCut: shutdownCut
    )
    let backgroundResponses = BackgroundResponses()
    let storedResponses = ResponsesController(
        store: conversationStore, journal: conversationWriter, settings: config.conversations, now: { Date().timeIntervalSince1970 },
        endpoint: responses, background: backgroundResponses
    )
    let loggingChat = ChatEndpoint(door: LoggingChatDoor(catalog: catalog, settings: config.conversations), pipeline: pipeline, bodyReader: bodyReader)
    for prefix in ["v1", "api/v1", "openai/v1"] {
        let calls = routes(prefix, .openAI, .callModels)
        calls.post("chat/completions", use: openAI.handle)
        calls.post("embeddings", use: embeddings.handle)
        storedResponses.addRoutes(to: calls)
        let anthropic = routes(prefix, .anthropic, .callModels)
        anthropic.post("messages", use: messages.handle)
        anthropic.post("messages/count_tokens", use: countTokens.handle)
        routes(prefix, .simple, .callModels).post("chat", use: simple.handle)
        let own = routes(prefix, .openAI, .selfService)
        models.addRoutes(to: own)
        recommend.addRoutes(to: own)
        if prefix == "v1" {
            me.addRoutes(to: own)
            users.addRoutes(to: own)
        }
        conversations.addRoutes(to: calls)
        if prefix == "api/v1" {
            usage.addUsageRoutes(to: routes(prefix, .openAI, .readUsage))
        }
    }
    usage.addSeedRoutes(to: routes("api", .openAI, .readUsage))
    // The logging gateway's (seed 003) `/chat`, and its monitoring views behind `read_usage`.
    routes("chat", .simple, .callModels).post(use: loggingChat.handle)
    ConversationLogController(store: conversationStore, journal: conversationWriter).addRoutes(to: routes("conversations", .openAI, .readUsage))
    let admin = routes("admin", .openAI, .administer)
    AdminController(store: governance, authenticator: authenticator, governor: governor, bodyReader: bodyReader).addRoutes(to: admin)
    CacheAdminController(cache: responseCache, metrics: cacheMetrics, semanticIndex: semanticCache?.index).addRoutes(to: admin)
    let routes = router.routes.map { "\($0.method.rawValue) \($0.path)" }

    logStartup(config: config, catalog: catalog, logger: logger)
    let host = config.server.host
    let application = Application(
        router: router,
        // A connection with no traffic either way this long is closed: it bounds clients that
        // stop reading a stream (their blocked writes count as no traffic) as well as idle keep-alives.
        server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(config.server.idleTimeoutSeconds * 1000)))),
        configuration: .init(address: .hostname(host, port: config.server.port), serverName: nil),
        // Services stop in reverse order: the server drains, the writer flushes, then the
        // HTTP client and the database go.
        services: storage.services + [
            ShutdownHook(action: closeStore),
            HTTPClientService(client: client),
            writer,
            conversationWriter,
        ] + cacheAssembly.services + sharedLimits.services + keyCache.services + [
            RetentionSweeper(
                store: governance, retentionDays: config.requestLog.retentionDays,
                interval: .milliseconds(Int64(config.requestLog.sweepIntervalSeconds * 1000)), logger: logger
            ),
            // First to stop: background responses still running are cancelled while the writers run.
            ShutdownHook(action: { backgroundResponses.cancelAll() }),
        ],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? config.server.port
            logger.info("listening on http://\(host):\(port)")
            await onServerRunning?(port)
        },
        logger: logger
    )
    return BuiltGateway(application: application, config: config, store: store, governance: governance, writer: writer, routes: routes)
}
