package import CoreMetrics
import Synchronization

/// Metric handlers made once per name and dimensions, then reused: making one through the
/// factory (name and label checks, the registry's lock and lookup, a new wrapper) costs more
/// than the count itself, and the request path counts several series per call. Only for series
/// whose dimensions are bounded (configured names, fixed sets), as every series here is.
package final class MetricHandles: Sendable {
    private struct Key: Hashable {
        let label: String
        let dimensions: [String]

        init(_ label: String, _ dimensions: [(String, String)]) {
            self.label = label
            self.dimensions = dimensions.flatMap { [$0.0, $0.1] }
        }
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: any CounterHandler]>([:])
    private let timers = Mutex<[Key: any TimerHandler]>([:])

    package init(factory: any MetricsFactory) {
        self.factory = factory
    }

    package func increment(_ label: String, _ dimensions: [(String, String)], by amount: Int = 1) {
        let key = Key(label, dimensions)
        let handler = counters.withLock { made in
            if let handler = made[key] { return handler }
            let handler = factory.makeCounter(label: label, dimensions: dimensions)
            made[key] = handler
            return handler
        }
        handler.increment(by: Int64(amount))
    }

    /// Records a duration in a timer shown in seconds.
    package func record(_ label: String, _ dimensions: [(String, String)], nanoseconds: Int64) {
        let key = Key(label, dimensions)
        let handler = timers.withLock { made in
            if let handler = made[key] { return handler }
            let handler = factory.makeTimer(label: label, dimensions: dimensions)
            handler.preferDisplayUnit(.seconds)
            made[key] = handler
            return handler
        }
        handler.recordNanoseconds(nanoseconds)
    }
}
