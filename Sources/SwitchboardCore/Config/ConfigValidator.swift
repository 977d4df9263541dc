/// Cross-checks a parsed configuration: references resolve, every provider has what it needs.
package enum ConfigValidator {
    /// - Parameter registry: the provider types this build serves (each checks its own blocks).
    package static func validate(_ config: GatewayConfig, registry: ProviderRegistry) throws(ConfigError) {
        var providerNames: Set<String> = []
        for provider in config.providers {
            guard !provider.name.contains("/") else {
                throw ConfigError("provider name `\(provider.name)` must not contain `/`", line: provider.line)
            }
            guard providerNames.insert(provider.name).inserted else {
                throw ConfigError("provider `\(provider.name)` is defined twice", line: provider.line)
            }
            guard let descriptor = registry.descriptor(for: provider.type) else {
                throw ConfigError(
                    "provider `\(provider.name)` has type `\(provider.type.rawValue)`, which this build cannot serve", line: provider.line
                )
            }
            try descriptor.validate(provider)
            if let base = provider.baseURL, !(base.hasPrefix("http://") || base.hasPrefix("https://")) {
                throw ConfigError(
                    "`base_url` of provider `\(provider.name)` must start with http:// or https://, not `\(base)`",
                    line: provider.line
                )
            }
        }
        if let url = config.cache.redisURL, !(url.hasPrefix("redis://") || url.hasPrefix("rediss://")) {
            // The message names the scheme only: the URL may hold a password.
            throw ConfigError("`cache.redis_url` must start with redis:// or rediss://")
        }
        if let url = config.limits.redisURL, !(url.hasPrefix("redis://") || url.hasPrefix("rediss://")) {
            throw ConfigError("`limits.redis_url` must start with redis:// or rediss://")
        }
        let prefixes = (config.cache.redisPrefix, config.limits.redisPrefix)
        if prefixes.0.hasPrefix(prefixes.1) || prefixes.1.hasPrefix(prefixes.0) {
            // Emptying the cache walks `cache.redis_prefix*`: it must not reach the limits' keys.
            throw ConfigError("`cache.redis_prefix` and `limits.redis_prefix` must not be prefixes of each other")
        }
        if config.limits.shared == .redis, config.limits.redisURL ?? config.cache.redisURL == nil {
            throw ConfigError("`limits.shared: redis` needs a Redis: `limits.redis_url`, or the cache's (`cache.redis_url`, REDIS_URL)")
        }
        let semanticModels = config.models.filter { $0.cache?.semantic == true }.map(\.name)
        if let first = semanticModels.first, config.cache.semantic.embeddingModel == nil {
            throw ConfigError("model `\(first)` asks for the semantic cache, but `cache.semantic.embedding_model` is not set")
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
}
