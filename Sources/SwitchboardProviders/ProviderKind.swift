public import AsyncHTTPClient
public import SwitchboardCore

/// A provider type this module serves: its ``ProviderDescriptor`` (config keys, checks,
/// zero-config discovery, defaults) and its adapter factory. Adding a provider is a folder with
/// one of these, its adapter, and a fake upstream in `SwitchboardTesting`.
public protocol ProviderKind: ProviderDescriptor {
    func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter
}

/// What adapters are built with.
public struct AdapterContext: Sendable {
    /// The process's one HTTP client.
    public let client: HTTPClient
    /// `limits.default_max_tokens`, for APIs that require a `max_tokens`.
    public let defaultMaxTokens: Int

    public init(client: HTTPClient, defaultMaxTokens: Int) {
        self.client = client
        self.defaultMaxTokens = defaultMaxTokens
    }
}

/// The provider types of this build, in zero-config discovery order.
public enum BuiltInProviders {
    public static let kinds: [any ProviderKind] = [
        OpenAIProvider(), AnthropicProvider(), GeminiProvider(), BedrockProvider(), AzureProvider(), OpenAICompatibleProvider(),
        MockProvider(),
    ]

    public static var registry: ProviderRegistry { ProviderRegistry(kinds) }

    /// The adapter for a configured provider (its type was checked when the config was read).
    public static func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        guard let kind = kinds.first(where: { $0.type == provider.type }) else {
            throw ConfigError("provider `\(provider.name)` has type `\(provider.type.rawValue)`, which this build cannot serve", line: provider.line)
        }
        return try kind.makeAdapter(provider, context: context)
    }
}

extension ProviderType {
    public static let openai = ProviderType("openai")
    public static let openAICompatible = ProviderType("openai-compatible")
    public static let azure = ProviderType("azure")
    public static let anthropic = ProviderType("anthropic")
    public static let gemini = ProviderType("gemini")
    public static let bedrock = ProviderType("bedrock")
    public static let mock = ProviderType("mock")
}

/// A variable's value, if it is set and not empty.
func variable(_ name: String, in environment: [String: String]) -> String? {
    guard let value = environment[name], !value.isEmpty else { return nil }
    return value
}
