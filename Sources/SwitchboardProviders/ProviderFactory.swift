public import AsyncHTTPClient
public import SwitchboardCore

/// Builds the adapter for each configured provider.
public enum ProviderFactory {
    /// The provider types this build can serve: all of them.
    public static let supportedTypes = Set(ProviderType.allCases)

    public static func makeAdapter(
        _ config: ProviderConfig,
        client: HTTPClient,
        defaultMaxTokens: Int = 4096
    ) throws(ConfigError) -> any ProviderAdapter {
        switch config.type {
        case .openai, .openAICompatible, .azure:
            return OpenAIAdapter(config: config, client: client)
        case .bedrock:
            return try BedrockAdapter(config: config, client: client)
        case .mock:
            return MockAdapter(config: config)
        case .anthropic:
            return AnthropicAdapter(config: config, client: client, defaultMaxTokens: defaultMaxTokens)
        case .gemini:
            return GeminiAdapter(config: config, client: client)
        }
    }

    /// Checks every provider can be served, without an HTTP client (for `check-config`).
    public static func validate(_ config: GatewayConfig) throws(ConfigError) {
        for provider in config.providers where !supportedTypes.contains(provider.type) {
            throw ConfigError(
                "provider `\(provider.name)` has type `\(provider.type.rawValue)`, which this build cannot serve",
                line: provider.line
            )
        }
    }
}
