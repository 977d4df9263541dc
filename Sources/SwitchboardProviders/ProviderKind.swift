package import AsyncHTTPClient
package import SwitchboardCore

/// A provider type this module serves: its ``ProviderDescriptor`` (config keys, checks,
/// zero-config discovery, defaults) and its adapter factory. Adding a provider is a folder with
/// one of these, its adapter, and a fake upstream in `SwitchboardTesting`.
package protocol ProviderKind: ProviderDescriptor {
    func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter
}

/// What adapters are built with.
package struct AdapterContext: Sendable {
    /// The process's one HTTP client.
    package let client: HTTPClient
    /// `limits.default_max_tokens`, for APIs that require a `max_tokens`.
    package let defaultMaxTokens: Int

    package init(client: HTTPClient, defaultMaxTokens: Int) {
        self.client = client
        self.defaultMaxTokens = defaultMaxTokens
    }
}

/// The provider types of this build, in zero-config discovery order.
package enum BuiltInProviders {
    package static let kinds: [any ProviderKind] = [
        OpenAIProvider(), AnthropicProvider(), GeminiProvider(), BedrockProvider(), AzureProvider(), OpenAICompatibleProvider(),
        MockProvider(),
    ]

    package static var registry: ProviderRegistry { ProviderRegistry(kinds) }

    /// The adapter for a configured provider (its type was checked when the config was read).
    package static func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        guard let kind = kinds.first(where: { $0.type == provider.type }) else {
            throw ConfigError("provider `\(provider.name)` has type `\(provider.type.rawValue)`, which this build cannot serve", line: provider.line)
        }
        return try kind.makeAdapter(provider, context: context)
    }
}

extension ProviderType {
    package static let openai = ProviderType("openai")
    package static let openAICompatible = ProviderType("openai-compatible")
    package static let azure = ProviderType("azure")
    package static let anthropic = ProviderType("anthropic")
    package static let gemini = ProviderType("gemini")
    package static let bedrock = ProviderType("bedrock")
    package static let mock = ProviderType("mock")
}

/// A variable's value, if it is set and not empty.
func variable(_ name: String, in environment: [String: String]) -> String? {
    guard let value = environment[name], !value.isEmpty else { return nil }
    return value
}

/// `responses: native | bridge` on an OpenAI-type provider: whether its upstream serves OpenAI's
/// Responses API itself. OpenAI's and Azure's do (`native` by default); an OpenAI-compatible
/// server is `bridge` unless it says otherwise, and then gets chat completions.
package enum ResponsesMode {
    package static let setting = ProviderSetting("responses")

    package static func isNative(_ provider: ProviderConfig) -> Bool {
        switch provider.settings["responses"] {
        case "native"?: return true
        case "bridge"?: return false
        default: return provider.type == .openai || provider.type == .azure
        }
    }

    package static func validate(_ provider: ProviderConfig) throws(ConfigError) {
        guard let mode = provider.settings["responses"], mode != "native", mode != "bridge" else { return }
        throw ConfigError(
            "provider `\(provider.name)` has `responses: \(mode)`; it is `native` (the upstream serves /v1/responses) or `bridge` (chat completions)",
            line: provider.line
        )
    }
}
