public import SwitchboardCore

/// `type: anthropic`: Anthropic's Messages API (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`).
public struct AnthropicProvider: ProviderKind {
    public let type = ProviderType.anthropic
    public var defaultBaseURL: String? { AnthropicAdapter.defaultBaseURL }

    public init() {}

    public func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${ANTHROPIC_API_KEY}")
    }

    public func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("ANTHROPIC_API_KEY", in: environment) else { return [] }
        return [ProviderConfig(name: "anthropic", type: type, apiKey: key, baseURL: variable("ANTHROPIC_BASE_URL", in: environment))]
    }

    public func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        AnthropicAdapter(config: provider, client: context.client, defaultMaxTokens: context.defaultMaxTokens)
    }
}
