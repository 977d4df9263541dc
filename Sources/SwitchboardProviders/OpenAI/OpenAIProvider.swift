package import SwitchboardCore

/// `type: openai`: OpenAI's own API (`OPENAI_API_KEY`, `OPENAI_BASE_URL`).
package struct OpenAIProvider: ProviderKind {
    package let type = ProviderType.openai
    package let settings = [ResponsesMode.setting]
    package var defaultBaseURL: String? { OpenAIAdapter.defaultBaseURL }

    package init() {}

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${OPENAI_API_KEY}, and export the variable")
        try ResponsesMode.validate(provider)
    }

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("OPENAI_API_KEY", in: environment) else { return [] }
        return [ProviderConfig(name: "openai", type: type, apiKey: key, baseURL: variable("OPENAI_BASE_URL", in: environment))]
    }

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        OpenAIAdapter(config: provider, client: context.client)
    }
}

/// `type: openai-compatible`: any server that speaks OpenAI's API at `base_url` (Groq, Mistral,
/// OpenRouter, Ollama, vLLM, llama.cpp), found from `GROQ_API_KEY`, `MISTRAL_API_KEY`,
/// `OPENROUTER_API_KEY` and `OLLAMA_BASE_URL` in zero-config mode.
package struct OpenAICompatibleProvider: ProviderKind {
    package let type = ProviderType.openAICompatible
    package let settings = [ResponsesMode.setting]

    package init() {}

    static let hosted: [(name: String, keyVariable: String, baseURL: String)] = [
        ("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
        ("mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
        ("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
    ]

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.baseURL, "base_url", of: provider, hint: "give the server's API root, e.g. http://localhost:11434/v1")
        try ResponsesMode.validate(provider)
    }

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
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

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        OpenAIAdapter(config: provider, client: context.client)
    }
}

/// `type: azure`: Azure OpenAI deployments (`AZURE_OPENAI_API_KEY` + `AZURE_OPENAI_ENDPOINT`,
/// `AZURE_OPENAI_API_VERSION`); the key goes in `api-key`, the model names the deployment.
package struct AzureProvider: ProviderKind {
    package let type = ProviderType.azure
    package let settings = [ProviderSetting("api_version"), ResponsesMode.setting]

    package init() {}

    package static let defaultAPIVersion = "2024-10-21"

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.baseURL, "base_url", of: provider, hint: "give the resource endpoint, e.g. https://NAME.openai.azure.com")
        try require(provider.apiKey, "api_key", of: provider, hint: "set it, e.g. api_key: ${AZURE_OPENAI_API_KEY}")
        try ResponsesMode.validate(provider)
    }

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let key = variable("AZURE_OPENAI_API_KEY", in: environment), let endpoint = variable("AZURE_OPENAI_ENDPOINT", in: environment) else {
            return []
        }
        return [ProviderConfig(
            name: "azure", type: type, apiKey: key, baseURL: endpoint,
            settings: ["api_version": variable("AZURE_OPENAI_API_VERSION", in: environment) ?? Self.defaultAPIVersion]
        )]
    }

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        OpenAIAdapter(config: provider, client: context.client)
    }
}
