/// One place a model can be served: a provider and that provider's model id.
package struct RouteTarget: Sendable {
    package let provider: any ProviderAdapter
    package let model: String
    package let weight: Double
    /// Most calls in flight to this target at once (the tighter of model and provider bounds).
    package let maxConcurrent: Int?
    /// Drop request fields the provider cannot honour instead of refusing the request.
    package let dropUnsupported: Bool
    package let id: TargetID

    package init(
        provider: any ProviderAdapter, model: String, weight: Double = 1, maxConcurrent: Int? = nil, dropUnsupported: Bool = false
    ) {
        self.provider = provider
        self.model = model
        self.weight = weight
        self.maxConcurrent = maxConcurrent
        self.dropUnsupported = dropUnsupported
        self.id = TargetID(provider: provider.name, model: model)
    }
}

/// The timeouts of one attempt.
package struct AttemptTimeouts: Sendable, Hashable {
    /// The whole call, stream included.
    package var total: Duration
    /// Streams: until the first chunk.
    package var firstByte: Duration?
    /// Streams: between two chunks.
    package var idle: Duration?

    package init(total: Duration, firstByte: Duration? = nil, idle: Duration? = nil) {
        self.total = total
        self.firstByte = firstByte
        self.idle = idle
    }
}

/// Everything needed to serve one requested model name.
package struct Route: Sendable {
    /// The name the client asked for.
    package let name: String
    package let targets: [RouteTarget]
    package let strategy: RoutingStrategy
    /// Other model names tried, in order, when every target failed.
    package let fallbacks: [String]
    /// Model names tried when a target reports the context window was exceeded.
    package let contextWindowFallbacks: [String]
    package let timeouts: AttemptTimeouts
    package let retry: RetryPolicy

    package init(
        name: String, targets: [RouteTarget], strategy: RoutingStrategy = .priority, fallbacks: [String] = [],
        contextWindowFallbacks: [String] = [], timeouts: AttemptTimeouts, retry: RetryPolicy = RetryPolicy()
    ) {
        self.name = name
        self.targets = targets
        self.strategy = strategy
        self.fallbacks = fallbacks
        self.contextWindowFallbacks = contextWindowFallbacks
        self.timeouts = timeouts
        self.retry = retry
    }

    package var timeout: Duration { timeouts.total }
}

/// Resolves model names to routes: configured alias, `provider/model`, or a provider's known model.
package struct ModelCatalog: Sendable {
    package let providers: [any ProviderAdapter]
    private let providersByName: [String: any ProviderAdapter]
    private let models: [ModelConfig]
    private let modelsByName: [String: ModelConfig]
    private let providerTimeouts: [String: Double]
    private let providerConcurrency: [String: Int]
    private let dropsUnsupported: Set<String>
    private let defaultTimeoutSeconds: Double
    private let maxRetryAfter: Duration
    private let categories: [String: String]
    package let prices: PriceTable

    package init(
        providers: [any ProviderAdapter],
        config: GatewayConfig
    ) {
        self.providers = providers
        self.providersByName = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.models = config.models
        self.modelsByName = Dictionary(config.models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var timeouts: [String: Double] = [:]
        var concurrency: [String: Int] = [:]
        for provider in config.providers {
            if let timeout = provider.timeoutSeconds { timeouts[provider.name] = timeout }
            if let limit = provider.maxConcurrent { concurrency[provider.name] = limit }
        }
        self.providerTimeouts = timeouts
        self.providerConcurrency = concurrency
        self.dropsUnsupported = Set(config.providers.filter(\.dropUnsupportedParams).map(\.name))
        self.defaultTimeoutSeconds = config.server.upstreamTimeoutSeconds
        self.maxRetryAfter = .milliseconds(Int64(config.reliability.maxRetryAfterSeconds * 1000))
        self.categories = config.categories
        var overrides: [String: ModelPrice] = [:]
        for model in config.models {
            guard let price = model.price else { continue }
            overrides[model.name] = price
            for target in model.targets { overrides[target.model] = overrides[target.model] ?? price }
        }
        self.prices = PriceTable(overrides: overrides)
    }

    package var modelNames: [String] { models.map(\.name) }

    /// The first configured model whose first target is on `provider` (a request that names only a provider).
    package func firstModel(onProvider provider: String) -> String? {
        models.first { $0.targets.first?.provider == provider }?.name
    }

    /// What a model (a configured name or `provider/model`) can do: the config's `capabilities`,
    /// else what its targets' model ids suggest (every target must have a capability for the
    /// route to have it, since any of them may serve the call).
    package func capabilities(of name: String) -> ModelCapabilities {
        if let model = modelsByName[name] {
            if let configured = model.capabilities { return configured }
            let inferred = model.targets.map { ModelCapabilities.inferred(fromModelID: $0.model) }
            return inferred.dropFirst().reduce(inferred.first ?? []) { $0.intersection($1) }
        }
        let modelID = name.split(separator: "/", maxSplits: 1).last.map(String.init) ?? name
        return .inferred(fromModelID: modelID)
    }

    /// The dearest rates any target of the route (or of its fallbacks) charges: what a budget
    /// reservation must assume. `nil` when no target has a price.
    package func reservationPrice(for name: String) -> ModelPrice? {
        guard let route = try? resolve(name) else { return nil }
        var models = route.targets.map(\.model)
        for fallback in route.fallbacks + route.contextWindowFallbacks {
            if let next = try? resolve(fallback) { models += next.targets.map(\.model) }
        }
        var worst: ModelPrice?
        for model in models {
            guard let price = prices.price(for: model) else { continue }
            guard var current = worst else {
                worst = price
                continue
            }
            current.inputPerMillionTokens = max(current.inputPerMillionTokens, price.inputPerMillionTokens)
            current.outputPerMillionTokens = max(current.outputPerMillionTokens, price.outputPerMillionTokens)
            current.reasoningPerMillionTokens = max(
                current.reasoningPerMillionTokens ?? current.outputPerMillionTokens,
                price.reasoningPerMillionTokens ?? price.outputPerMillionTokens
            )
            current.maxOutputTokens = max(current.maxOutputTokens ?? 0, price.maxOutputTokens ?? 0)
            if current.maxOutputTokens == 0 { current.maxOutputTokens = nil }
            worst = current
        }
        if var price = worst {
            // Cached tokens are never dearer than plain input; assume none are cached.
            price.cachedInputPerMillionTokens = nil
            return price
        }
        return nil
    }

    /// The context window a call to this model can count on: the config's `context_window`,
    /// else the smallest published window of its targets (any of them may serve the call).
    /// `nil` when no target's window is known.
    package func contextWindow(of name: String) -> Int? {
        if let configured = modelsByName[name]?.contextWindow { return configured }
        guard let route = try? resolve(name) else { return nil }
        return route.targets.compactMap { prices.price(for: $0.model)?.contextWindow }.min()
    }

    package func provider(named name: String) -> (any ProviderAdapter)? { providersByName[name] }

    /// The model for a category (`routing.categories`), when the client names no model.
    package func model(forCategory category: String) -> String? { categories[category] }

    package var categoryNames: [String] { categories.keys.sorted() }

    /// Resolves for a caller that may be limited to some models: a model out of its reach is
    /// not found, and a miss names only the models it may use.
    package func resolve(_ name: String, for caller: Principal) throws(GatewayError) -> Route {
        guard caller.isModelRestricted else { return try resolve(name) }
        guard caller.mayUse(name) else { throw notFound(name, visibleTo: caller) }
        do {
            return try resolve(name)
        } catch {
            throw notFound(name, visibleTo: caller)
        }
    }

    package func resolve(_ name: String) throws(GatewayError) -> Route {
        if let model = modelsByName[name] {
            let targets = model.targets.compactMap { target -> RouteTarget? in
                guard let provider = providersByName[target.provider] else { return nil }
                let limits = [model.maxConcurrent, providerConcurrency[target.provider]].compactMap { $0 }
                return RouteTarget(
                    provider: provider, model: target.model, weight: target.weight, maxConcurrent: limits.min(),
                    dropUnsupported: dropsUnsupported.contains(target.provider)
                )
            }
            let seconds = model.timeoutSeconds ?? model.targets.compactMap { providerTimeouts[$0.provider] }.max()
                ?? defaultTimeoutSeconds
            var retry = RetryPolicy(retries: model.retries, maxRetryAfter: maxRetryAfter)
            if let base = model.backoffMilliseconds { retry.baseDelay = .milliseconds(base) }
            if let cap = model.maxBackoffMilliseconds { retry.maxDelay = .milliseconds(cap) }
            return Route(
                name: name,
                targets: targets,
                strategy: model.strategy,
                fallbacks: model.fallbacks,
                contextWindowFallbacks: model.contextWindowFallbacks,
                timeouts: AttemptTimeouts(
                    total: Self.duration(seconds),
                    firstByte: model.firstByteTimeoutSeconds.map(Self.duration),
                    idle: model.idleTimeoutSeconds.map(Self.duration)
                ),
                retry: retry
            )
        }
        if let slash = name.firstIndex(of: "/") {
            let providerName = String(name[..<slash])
            let model = String(name[name.index(after: slash)...])
            if let provider = providersByName[providerName], !model.isEmpty {
                return directRoute(name: name, provider: provider, model: model)
            }
        }
        for provider in providers where provider.knownModels.contains(name) {
            return directRoute(name: name, provider: provider, model: name)
        }
        throw notFound(name)
    }

    private func directRoute(name: String, provider: any ProviderAdapter, model: String) -> Route {
        let seconds = providerTimeouts[provider.name] ?? defaultTimeoutSeconds
        return Route(
            name: name,
            targets: [
                RouteTarget(
                    provider: provider, model: model, maxConcurrent: providerConcurrency[provider.name],
                    dropUnsupported: dropsUnsupported.contains(provider.name)
                )
            ],
            strategy: .priority,
            fallbacks: [],
            contextWindowFallbacks: [],
            timeouts: AttemptTimeouts(total: Self.duration(seconds)),
            retry: RetryPolicy(retries: 0, maxRetryAfter: maxRetryAfter)
        )
    }

    static func duration(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Every target of every configured model, and every provider's listed models.
    package func allTargets() -> [TargetID] {
        var seen = Set<TargetID>()
        var result: [TargetID] = []
        for model in models {
            for target in model.targets {
                let id = TargetID(provider: target.provider, model: target.model)
                if seen.insert(id).inserted { result.append(id) }
            }
        }
        for provider in providers {
            for model in provider.knownModels {
                let id = TargetID(provider: provider.name, model: model)
                if seen.insert(id).inserted { result.append(id) }
            }
        }
        return result
    }

    /// - Parameter caller: when limited to some models, only those are named.
    private func notFound(_ name: String, visibleTo caller: Principal? = nil) -> GatewayError {
        let restricted = caller?.isModelRestricted ?? false
        let available = listModels().map(\.id).filter { caller?.mayUse($0) ?? true }
        var message = "Model `\(name)` is not available."
        if available.isEmpty {
            message += restricted ? " No model you may use is configured." : " No models are configured."
        } else {
            let shown = available.prefix(40).joined(separator: ", ")
            message += " Available models: \(shown)\(available.count > 40 ? ", ..." : "")."
        }
        if !providers.isEmpty, !restricted {
            message += " Any model can also be asked for as provider/model with one of the providers: "
                + providers.map(\.name).joined(separator: ", ") + "."
        }
        return GatewayError(.modelNotFound, message, param: "model")
    }

    /// Configured aliases first, then each provider's known models as `provider/model`.
    package func listModels(created: Int = 0) -> [ModelInfo] {
        var result = models.map { ModelInfo(id: $0.name, created: created, ownedBy: "switchboard") }
        var seen = Set(result.map(\.id))
        for provider in providers {
            for model in provider.knownModels {
                let id = "\(provider.name)/\(model)"
                if seen.insert(id).inserted {
                    result.append(ModelInfo(id: id, created: created, ownedBy: provider.name))
                }
            }
        }
        return result
    }

    /// Finds a listed model by id (`GET /v1/models/{id}`).
    package func modelInfo(id: String, created: Int = 0) -> ModelInfo? {
        listModels(created: created).first { $0.id == id }
    }
}
