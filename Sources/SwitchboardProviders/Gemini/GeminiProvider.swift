package import SwitchboardCore

/// `type: gemini`: Google's Gemini API (`GEMINI_API_KEY` or `GOOGLE_API_KEY`, `GEMINI_BASE_URL`).
package struct GeminiProvider: ProviderKind {
    package let type = ProviderType.gemini
    package var defaultBaseURL: String? { GeminiAdapter.defaultBaseURL }

    package init() {}

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${GEMINI_API_KEY}")
    }

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("GEMINI_API_KEY", in: environment) ?? variable("GOOGLE_API_KEY", in: environment) else { return [] }
        return [ProviderConfig(name: "gemini", type: type, apiKey: key, baseURL: variable("GEMINI_BASE_URL", in: environment))]
    }

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        GeminiAdapter(config: provider, client: context.client)
    }
}
