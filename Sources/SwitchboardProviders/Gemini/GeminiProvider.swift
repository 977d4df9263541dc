public import SwitchboardCore

/// `type: gemini`: Google's Gemini API (`GEMINI_API_KEY` or `GOOGLE_API_KEY`, `GEMINI_BASE_URL`).
public struct GeminiProvider: ProviderKind {
    public let type = ProviderType.gemini
    public var defaultBaseURL: String? { GeminiAdapter.defaultBaseURL }

    public init() {}

    public func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${GEMINI_API_KEY}")
    }

    public func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("GEMINI_API_KEY", in: environment) ?? variable("GOOGLE_API_KEY", in: environment) else { return [] }
        return [ProviderConfig(name: "gemini", type: type, apiKey: key, baseURL: variable("GEMINI_BASE_URL", in: environment))]
    }

    public func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        GeminiAdapter(config: provider, client: context.client)
    }
}
