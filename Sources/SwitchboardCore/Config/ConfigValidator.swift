/// Cross-checks a parsed configuration: references resolve, every provider has what it needs.
public enum ConfigValidator {
    public static func validate(_ config: GatewayConfig) throws(ConfigError) {
        var providerNames: Set<String> = []
        for provider in config.providers {
            guard !provider.name.contains("/") else {
                throw ConfigError("provider name `\(provider.name)` must not contain `/`", line: provider.line)
            }
            guard providerNames.insert(provider.name).inserted else {
                throw ConfigError("provider `\(provider.name)` is defined twice", line: provider.line)
            }
            try validateCredentials(provider)
            if let base = provider.baseURL, !(base.hasPrefix("http://") || base.hasPrefix("https://")) {
                throw ConfigError(
                    "`base_url` of provider `\(provider.name)` must start with http:// or https://, not `\(base)`",
                    line: provider.line
                )
            }
        }
        var modelNames: Set<String> = []
        for model in config.models {
            guard modelNames.insert(model.name).inserted else {
                throw ConfigError("model `\(model.name)` is defined twice", line: model.line)
            }
            guard !model.targets.isEmpty else {
                throw ConfigError("model `\(model.name)` has no targets", line: model.line)
            }
            for target in model.targets where !providerNames.contains(target.provider) {
                throw ConfigError(
                    "model `\(model.name)` refers to provider `\(target.provider)`, which is not defined"
                        + " (defined: \(providerNames.sorted().joined(separator: ", ")))",
                    line: model.line
                )
            }
        }
        for model in config.models {
            for fallback in model.fallbacks + model.contextWindowFallbacks where !modelNames.contains(fallback) {
                throw ConfigError(
                    "model `\(model.name)` falls back to `\(fallback)`, which is not a defined model",
                    line: model.line
                )
            }
        }
        for (category, model) in config.categories where !modelNames.contains(model) && !isDirect(model, providerNames) {
            throw ConfigError("routing category `\(category)` points to `\(model)`, which is not a defined model")
        }
        let url = config.storage.url
        guard url.hasPrefix("sqlite:") || url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw ConfigError("`storage.url` must be sqlite://PATH or postgres://..., not `\(url)`")
        }
    }

    private static func isDirect(_ model: String, _ providers: Set<String>) -> Bool {
        guard let slash = model.firstIndex(of: "/") else { return false }
        return providers.contains(String(model[..<slash]))
    }

    private static func validateCredentials(_ provider: ProviderConfig) throws(ConfigError) {
        func require(_ value: String?, _ key: String, _ hint: String) throws(ConfigError) {
            guard let value, !value.isEmpty else {
                throw ConfigError(
                    "provider `\(provider.name)` (type \(provider.type.rawValue)) has no `\(key)`; \(hint)",
                    line: provider.line
                )
            }
        }
        switch provider.type {
        case .openai:
            try require(provider.apiKey, "api_key", "set it, e.g. api_key: ${OPENAI_API_KEY}, and export the variable")
        case .openAICompatible:
            try require(provider.baseURL, "base_url", "give the server's API root, e.g. http://localhost:11434/v1")
        case .azure:
            try require(provider.baseURL, "base_url", "give the resource endpoint, e.g. https://NAME.openai.azure.com")
            try require(provider.apiKey, "api_key", "set it, e.g. api_key: ${AZURE_OPENAI_API_KEY}")
        case .anthropic:
            try require(provider.apiKey, "api_key", "set it, e.g. api_key: ${ANTHROPIC_API_KEY}")
        case .gemini:
            try require(provider.apiKey, "api_key", "set it, e.g. api_key: ${GEMINI_API_KEY}")
        case .bedrock:
            try require(provider.region, "region", "e.g. region: us-east-1")
            try require(provider.accessKeyID, "access_key_id", "set it, e.g. access_key_id: ${AWS_ACCESS_KEY_ID}")
            try require(provider.secretAccessKey, "secret_access_key", "set it, e.g. secret_access_key: ${AWS_SECRET_ACCESS_KEY}")
        case .mock:
            break
        }
    }
}
