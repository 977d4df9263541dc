package import SwitchboardCore

/// `type: mock`: the deterministic built-in provider, always present in zero-config mode.
package struct MockProvider: ProviderKind {
    package let type = ProviderType.mock
    package let settings = [
        ProviderSetting("reply"), ProviderSetting("latency_ms", .integer(0...3_600_000)), ProviderSetting("chunks", .integer(1...100_000)),
        ProviderSetting("chunk_delay_ms", .integer(0...3_600_000)), ProviderSetting("failure_rate", .number(0...1)),
        ProviderSetting("failure_status", .integer(400...599)),
    ]

    package init() {}

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {}

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
        [ProviderConfig(name: "mock", type: type, models: ["echo"])]
    }

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        MockAdapter(config: provider)
    }
}

/// The mock's behaviour, from its settings.
struct MockSettings: Sendable, Hashable {
    /// Fixed reply; `nil` echoes the last user message.
    var reply: String?
    var latencyMilliseconds = 0
    var chunks = 4
    var chunkDelayMilliseconds = 0
    /// Share of calls (0–1) that fail with `failureStatus`, for soak and failover tests.
    var failureRate = 0.0
    var failureStatus = 503

    init(_ settings: [String: String]) {
        reply = settings["reply"]
        latencyMilliseconds = settings["latency_ms"].flatMap(Int.init) ?? latencyMilliseconds
        chunks = settings["chunks"].flatMap(Int.init) ?? chunks
        chunkDelayMilliseconds = settings["chunk_delay_ms"].flatMap(Int.init) ?? chunkDelayMilliseconds
        failureRate = settings["failure_rate"].flatMap(Double.init) ?? failureRate
        failureStatus = settings["failure_status"].flatMap(Int.init) ?? failureStatus
    }
}
