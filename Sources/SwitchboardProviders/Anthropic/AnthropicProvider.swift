package import SwitchboardCore

/// `type: anthropic`: Anthropic's Messages API (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`).
package struct AnthropicProvider: ProviderKind {
    package let type = ProviderType.anthropic
    package var defaultBaseURL: String? { AnthropicAdapter.defaultBaseURL }

    package init() {}

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${ANTHROPIC_API_KEY}")
    }

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("ANTHROPIC_API_KEY", in: environment) else { return [] }
        return [ProviderConfig(name: "anthropic", type: type, apiKey: key, baseURL: variable("ANTHROPIC_BASE_URL", in: environment))]
    }

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        AnthropicAdapter(config: provider, client: context.client, defaultMaxTokens: context.defaultMaxTokens)
    }
}
