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

    public func upstreamRequest(provider: String, model: String, outcome: String) {
        Counter(
            label: "upstream_requests_total",
            dimensions: [("provider", provider), ("model", model), ("outcome", outcome)],
            factory: factory
        ).increment()
    }
}
