package import Metrics

/// `conversations_total{operation}`: what was done to stored conversations.
package struct ConversationMetrics: Sendable {
    package enum Operation: String, Sendable, CaseIterable {
        case create, chat, read, update, delete, branch, activate, merge, edit, regenerate, search, export, batch, append
    }

    private let handles: MetricHandles?

    package init(factory: (any MetricsFactory)?) {
        self.handles = factory.map(MetricHandles.init)
    }

    package func count(_ operation: Operation) {
        handles?.increment("conversations_total", [("operation", operation.rawValue)])
    }
}
