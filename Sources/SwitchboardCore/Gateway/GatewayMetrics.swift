package import CoreMetrics

/// Which model and provider names may become metric labels: the configured ones. Anything a
/// caller made up (`provider/<anything>`) is counted as `other`, so callers cannot grow the
/// number of series without bound.
package struct MetricLabels: Sendable {
    let models: Set<String>?
    let providers: Set<String>?

    /// Every name is its own label (for tests of the metrics themselves).
    package static let unrestricted = MetricLabels(models: nil, providers: nil)

    package init(models: Set<String>?, providers: Set<String>?) {
        self.models = models
        self.providers = providers
    }

    /// The configured aliases, target models and listed models, and the configured providers.
    package static func configured(_ config: GatewayConfig) -> MetricLabels {
        var models = Set(config.models.map(\.name))
        for model in config.models { models.formUnion(model.targets.map(\.model)) }
        for provider in config.providers { models.formUnion(provider.models) }
        return MetricLabels(models: models, providers: Set(config.providers.map(\.name) + ["none"]))
    }

    package func model(_ name: String) -> String {
        guard let models else { return name }
        return models.contains(name) ? name : "other"
    }

    package func provider(_ name: String) -> String {
        guard let providers else { return name }
        return providers.contains(name) ? name : "other"
    }

    func target(_ target: TargetID) -> TargetID {
        TargetID(provider: provider(target.provider), model: model(target.model))
    }
}

/// The gateway's business metrics, made through an injected factory (no global bootstrap).
package struct GatewayMetrics: Sendable {
    private let factory: any MetricsFactory
    private let handles: MetricHandles
    private let activeStreams: Meter
    package let labels: MetricLabels

    package init(factory: any MetricsFactory, labels: MetricLabels = .unrestricted) {
        self.factory = factory
        self.handles = MetricHandles(factory: factory)
        self.labels = labels
        self.activeStreams = Meter(label: "active_streams_current", dimensions: [], factory: factory)
        // Created up front so the series exists (at 0) before the first request.
        activeStreams.set(0)
    }

    package func chatCompleted(model: String, provider: String, status: String) {
        let model = labels.model(model)
        let provider = labels.provider(provider)
        handles.increment("chat_completions_total", [("model", model), ("provider", provider), ("status", status)])
    }

    package func tokens(model: String, provider: String, prompt: Int, completion: Int) {
        let model = labels.model(model)
        let provider = labels.provider(provider)
        if prompt > 0 {
            handles.increment("chat_tokens_total", [("model", model), ("provider", provider), ("direction", "input")], by: prompt)
        }
        if completion > 0 {
            handles.increment("chat_tokens_total", [("model", model), ("provider", provider), ("direction", "output")], by: completion)
        }
    }

    package func error(code: String) {
        handles.increment("errors_total", [("code", code)])
    }

    package func streamOpened() { activeStreams.increment() }
    package func streamClosed() { activeStreams.decrement() }

    func upstreamSettled(target: TargetID, outcome: CallLease.CallOutcome) {
        let target = labels.target(target)
        let label: String
        switch outcome {
        case .success: label = "success"
        case .abandoned: label = "abandoned"
        case .failure(let error):
            switch error.kind {
            case .status(let status): label = status == 429 ? "rate_limited" : "http_\(status / 100)xx"
            case .timeout: label = "timeout"
            case .connect: label = "connect_error"
            case .invalidResponse: label = "invalid_response"
            case .streamInterrupted: label = "stream_interrupted"
            case .unsupported: label = "unsupported"
            }
        }
        handles.increment("upstream_requests_total", [("provider", target.provider), ("model", target.model), ("outcome", label)])
    }

    func upstreamLatency(target: TargetID, duration: Duration) {
        let target = labels.target(target)
        handles.record(
            "upstream_latency_seconds", [("provider", target.provider), ("model", target.model)],
            nanoseconds: duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        )
    }

    func retried(target: TargetID) {
        let target = labels.target(target)
        handles.increment("upstream_retries_total", [("provider", target.provider), ("model", target.model)])
    }

    func fallback(from: String, to: String) {
        handles.increment("fallbacks_total", [("from", labels.model(from)), ("to", labels.model(to))])
    }

    func overloaded(scope: String) {
        handles.increment("overload_rejections_total", [("scope", scope)])
    }

    /// Sets `breaker_state{target}`: 0 closed, 1 half-open, 2 open.
    package func breakerState(target: TargetID, state: CircuitBreaker.State) {
        let target = labels.target(target)
        Gauge(label: "breaker_state", dimensions: [("target", target.description)], factory: factory)
            .record(state.gaugeValue)
    }
}
