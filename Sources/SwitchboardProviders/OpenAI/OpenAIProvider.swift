public import SwitchboardCore

/// `type: openai`: OpenAI's own API (`OPENAI_API_KEY`, `OPENAI_BASE_URL`).
public struct OpenAIProvider: ProviderKind {
    public let type = ProviderType.openai
    public var defaultBaseURL: String? { OpenAIAdapter.defaultBaseURL }

    public init() {}

    public func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${OPENAI_API_KEY}, and export the variable")
    }

    public func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("OPENAI_API_KEY", in: environment) else { return [] }
        return [ProviderConfig(name: "openai", type: type, apiKey: key, baseURL: variable("OPENAI_BASE_URL", in: environment))]
    }

    public func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        OpenAIAdapter(config: provider, client: context.client)
    }
}

/// `type: openai-compatible`: any server that speaks OpenAI's API at `base_url` (Groq, Mistral,
/// OpenRouter, Ollama, vLLM, llama.cpp), found from `GROQ_API_KEY`, `MISTRAL_API_KEY`,
/// `OPENROUTER_API_KEY` and `OLLAMA_BASE_URL` in zero-config mode.
public struct OpenAICompatibleProvider: ProviderKind {
    public let type = ProviderType.openAICompatible

    public init() {}

    static let hosted: [(name: String, keyVariable: String, baseURL: String)] = [
        ("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
        ("mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
        ("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
    ]

    public func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.baseURL, "base_url", of: provider, hint: "give the server's API root, e.g. http://localhost:11434/v1")
    }

    public func discover(in environment: [String: String]) -> [ProviderConfig] {
        var providers: [ProviderConfig] = []
        for entry in Self.hosted {
            if let key = variable(entry.keyVariable, in: environment) {
                providers.append(ProviderConfig(name: entry.name, type: type, apiKey: key, baseURL: entry.baseURL))
            }
        }
        if let base = variable("OLLAMA_BASE_URL", in: environment) {
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            providers.append(ProviderConfig(name: "ollama", type: type, baseURL: trimmed.hasSuffix("/v1") ? trimmed : trimmed + "/v1"))
        }
        return providers
    }

    public func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        OpenAIAdapter(config: provider, client: context.client)
    }
}

/// `type: azure`: Azure OpenAI deployments (`AZURE_OPENAI_API_KEY` + `AZURE_OPENAI_ENDPOINT`,
/// `AZURE_OPENAI_API_VERSION`); the key goes in `api-key`, the model names the deployment.
public struct AzureProvider: ProviderKind {
    public let type = ProviderType.azure
    public let settings = [ProviderSetting("api_version")]

    public init() {}

    public static let defaultAPIVersion = "2024-10-21"

    public func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.baseURL, "base_url", of: provider, hint: "give the resource endpoint, e.g. https://NAME.openai.azure.com")
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${AZURE_OPENAI_API_KEY}")
    }

    public func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("AZURE_OPENAI_API_KEY", in: environment), let endpoint = variable("AZURE_OPENAI_ENDPOINT", in: environment) else {
            return []
        }
        return [ProviderConfig(
            name: "azure", type: type, apiKey: key, baseURL: endpoint,
            settings: ["api_version": variable("AZURE_OPENAI_API_VERSION", in: environment) ?? Self.defaultAPIVersion]
        )]
    }

    public func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        OpenAIAdapter(config: provider, client: context.client)
    }
}
