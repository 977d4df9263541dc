public import CoreMetrics

/// The gateway's business metrics, made through an injected factory (no global bootstrap).
public struct GatewayMetrics: Sendable {
    private let factory: any MetricsFactory
    private let activeStreams: Meter

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.activeStreams = Meter(label: "active_streams_current", dimensions: [], factory: factory)
        // Created up front so the series exists (at 0) before the first request.
        activeStreams.set(0)
    }

    public func chatCompleted(model: String, provider: String, status: String) {
        Counter(
            label: "chat_completions_total",
            dimensions: [("model", model), ("provider", provider), ("status", status)],
            factory: factory
        ).increment()
    }

    public func tokens(model: String, provider: String, prompt: Int, completion: Int) {
        if prompt > 0 {
            Counter(
                label: "chat_tokens_total",
                dimensions: [("model", model), ("provider", provider), ("direction", "input")],
                factory: factory
            ).increment(by: prompt)
        }
        if completion > 0 {
            Counter(
                label: "chat_tokens_total",
                dimensions: [("model", model), ("provider", provider), ("direction", "output")],
                factory: factory
            ).increment(by: completion)
        }
    }

    public func error(code: String) {
        Counter(label: "errors_total", dimensions: [("code", code)], factory: factory).increment()
    }

    public func streamOpened() { activeStreams.increment() }
    public func streamClosed() { activeStreams.decrement() }

    func upstreamSettled(target: TargetID, outcome: CallLease.CallOutcome) {
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
        Counter(
            label: "upstream_requests_total",
            dimensions: [("provider", target.provider), ("model", target.model), ("outcome", label)],
            factory: factory
        ).increment()
    }

    func upstreamLatency(target: TargetID, duration: Duration) {
        Timer(
            label: "upstream_latency_seconds",
            dimensions: [("provider", target.provider), ("model", target.model)],
            preferredDisplayUnit: .seconds,
            factory: factory
        ).recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    func retried(target: TargetID) {
        Counter(
            label: "upstream_retries_total",
            dimensions: [("provider", target.provider), ("model", target.model)],
            factory: factory
        ).increment()
    }

    func fallback(from: String, to: String) {
        Counter(label: "fallbacks_total", dimensions: [("from", from), ("to", to)], factory: factory).increment()
    }

    func overloaded(scope: String) {
        Counter(label: "overload_rejections_total", dimensions: [("scope", scope)], factory: factory).increment()
    }

    /// Sets `breaker_state{target}`: 0 closed, 1 half-open, 2 open.
    public func breakerState(target: TargetID, state: CircuitBreaker.State) {
        Gauge(label: "breaker_state", dimensions: [("target", target.description)], factory: factory)
            .record(state.gaugeValue)
    }
}
