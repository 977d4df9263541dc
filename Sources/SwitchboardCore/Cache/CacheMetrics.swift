package import Metrics

/// `cache_operations_total{operation,result}`, `cache_saved_usd_total`, `cache_entries`,
/// `cache_bytes` and `cache_backend_up`, made through the injected factory.
package struct CacheMetrics: Sendable {
    package enum Operation: String, Sendable {
        case lookup, store, delete
    }

    package enum Result: String, Sendable {
        case hit, miss, bypass
        case semanticHit = "semantic_hit"
        /// The semantic cache could not embed the prompt in time: a miss.
        case embeddingFailed = "embedding_failed"
        case stored, skipped
        case tooLarge = "too_large"
        case deleted
    }

    private let factory: any MetricsFactory
    private let handles: MetricHandles
    private let entries: Meter
    private let bytes: Meter
    private let saved: FloatingPointCounter
    private let backendUp: Meter

    package init(factory: any MetricsFactory, backend: String) {
        self.factory = factory
        self.handles = MetricHandles(factory: factory)
        self.entries = Meter(label: "cache_entries", dimensions: [], factory: factory)
        self.bytes = Meter(label: "cache_bytes", dimensions: [], factory: factory)
        self.saved = FloatingPointCounter(label: "cache_saved_usd_total", dimensions: [], factory: factory)
        // The series exist (at 0) before the first request.
        entries.set(0)
        bytes.set(0)
        self.backendUp = Meter(label: "cache_backend_up", dimensions: [("backend", backend)], factory: factory)
        backendUp.set(1)
    }

    /// `cache_backend_up`: 1 while the configured store answers, 0 while the cache falls back.
    package func backend(up: Bool) {
        backendUp.set(up ? 1 : 0)
    }

    package func count(_ operation: Operation, _ result: Result, by amount: Int = 1) {
        handles.increment("cache_operations_total", [("operation", operation.rawValue), ("result", result.rawValue)], by: amount)
    }

    package func saved(_ usd: Double) {
        if usd > 0 { saved.increment(by: usd) }
    }

    package func update(_ stats: ResponseCacheStats) {
        entries.set(stats.entries)
        bytes.set(stats.bytes)
    }
}
