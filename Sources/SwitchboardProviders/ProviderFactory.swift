public import AsyncHTTPClient
public import SwitchboardCore

/// Builds the adapter for each configured provider.
public enum ProviderFactory {
    /// The provider types this build can serve.
    public static let supportedTypes: Set<ProviderType> = [.openai, .openAICompatible, .bedrock, .mock]

    public static func makeAdapter(_ config: ProviderConfig, client: HTTPClient) throws(ConfigError) -> any ProviderAdapter {
        switch config.type {
        case .openai, .openAICompatible:
            return OpenAIAdapter(config: config, client: client)
        case .bedrock:
            return try BedrockAdapter(config: config, client: client)
        case .mock:
            return MockAdapter(config: config)
        case .azure, .anthropic, .gemini:
            throw ConfigError(
                "provider `\(config.name)` has type `\(config.type.rawValue)`, which this build cannot serve yet"
                    + " (supported: openai, openai-compatible, bedrock, mock)",
                line: config.line
            )
        }
    }

    /// Checks every provider can be built, without an HTTP client (for `check-config`).
    public static func validate(_ config: GatewayConfig) throws(ConfigError) {
        for provider in config.providers where !supportedTypes.contains(provider.type) {
            throw ConfigError(
                "provider `\(provider.name)` has type `\(provider.type.rawValue)`, which this build cannot serve yet"
                    + " (supported: openai, openai-compatible, bedrock, mock)",
                line: provider.line
            )
        }
    }
}
