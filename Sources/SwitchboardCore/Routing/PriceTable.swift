/// Prices per million tokens for common models, and the per-model overrides from the config.
///
/// Used to order targets for the `cheapest` strategy and to rank `/api/v1/models/recommend`.
/// Lookups try the model id as given, then without a date or version suffix.
package struct PriceTable: Sendable {
    private var prices: [String: ModelPrice]

    package init(overrides: [String: ModelPrice] = [:]) {
        var prices = Self.builtIn
        for (model, override) in overrides {
            var price = override
            // A configured price says nothing of the window; the published one stays.
            if price.contextWindow == nil { price.contextWindow = prices[model]?.contextWindow }
            prices[model] = price
        }
        self.prices = prices
    }

    /// USD for a call's usage at this model's price, or `nil` when the model has no known price.
    ///
    /// Cached prompt tokens are charged at the cached-input price and reasoning tokens at the
    /// reasoning price where the model has them; both are already inside the prompt and
    /// completion counts, so they are charged instead of, not on top of, the plain rates.
    package func cost(model: String, usage: Usage) -> Double? {
        guard let price = price(for: model) else { return nil }
        return Self.cost(price, usage: usage)
    }

    package func cost(model: String, promptTokens: Int, completionTokens: Int) -> Double? {
        cost(model: model, usage: Usage(promptTokens: promptTokens, completionTokens: completionTokens))
    }

    package static func cost(_ price: ModelPrice, usage: Usage) -> Double {
        let cached = min(max(0, usage.cachedPromptTokens), max(0, usage.promptTokens))
        let reasoning = min(max(0, usage.reasoningTokens), max(0, usage.completionTokens))
        let input = Double(usage.promptTokens - cached) * price.inputPerMillionTokens
            + Double(cached) * (price.cachedInputPerMillionTokens ?? price.inputPerMillionTokens)
        let output = Double(usage.completionTokens - reasoning) * price.outputPerMillionTokens
            + Double(reasoning) * (price.reasoningPerMillionTokens ?? price.outputPerMillionTokens)
        return (input + output) / 1_000_000
    }

    package func price(for model: String) -> ModelPrice? {
        if let price = lookup(model) { return price }
        // Bedrock ids carry the vendor (`anthropic.claude-…`, `us.anthropic.claude-…`).
        if let dot = model.lastIndex(of: "."), model[..<dot].allSatisfy({ $0.isLetter || $0 == "." }) {
            return lookup(String(model[model.index(after: dot)...]))
        }
        return nil
    }

    private func lookup(_ model: String) -> ModelPrice? {
        if let price = prices[model] { return price }
        // `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`; `claude-3-haiku-20240307-v1:0` → family.
        var candidate = Substring(model)
        while let dash = candidate.lastIndex(of: "-") {
            candidate = candidate[..<dash]
            if let price = prices[String(candidate)] { return price }
        }
        return nil
    }

    /// USD per million tokens (input, output), output limits and context windows, as published
    /// by the providers.
    static let builtIn: [String: ModelPrice] = {
        func p(_ input: Double, _ output: Double, cached: Double? = nil, maxOutput: Int? = nil, window: Int? = nil) -> ModelPrice {
            ModelPrice(
                inputPerMillionTokens: input, outputPerMillionTokens: output, cachedInputPerMillionTokens: cached, maxOutputTokens: maxOutput,
                contextWindow: window
            )
        }
        return [
            "gpt-4o": p(2.50, 10.00, cached: 1.25, maxOutput: 16_384, window: 128_000),
            "gpt-4o-mini": p(0.15, 0.60, cached: 0.075, maxOutput: 16_384, window: 128_000),
            "gpt-4.1": p(2.00, 8.00, cached: 0.50, maxOutput: 32_768, window: 1_047_576),
            "gpt-4.1-mini": p(0.40, 1.60, cached: 0.10, maxOutput: 32_768, window: 1_047_576),
            "gpt-4.1-nano": p(0.10, 0.40, cached: 0.025, maxOutput: 32_768, window: 1_047_576),
            "gpt-5": p(1.25, 10.00, cached: 0.125, maxOutput: 128_000, window: 400_000),
            "gpt-5-mini": p(0.25, 2.00, cached: 0.025, maxOutput: 128_000, window: 400_000),
            "gpt-5-nano": p(0.05, 0.40, cached: 0.005, maxOutput: 128_000, window: 400_000),
            "gpt-4-turbo": p(10.00, 30.00, maxOutput: 4096, window: 128_000),
            "gpt-3.5-turbo": p(0.50, 1.50, maxOutput: 4096, window: 16_385),
            "o1": p(15.00, 60.00, cached: 7.50, maxOutput: 100_000, window: 200_000),
            "o3": p(2.00, 8.00, cached: 0.50, maxOutput: 100_000, window: 200_000),
            "o3-mini": p(1.10, 4.40, cached: 0.55, maxOutput: 100_000, window: 200_000),
            "o4-mini": p(1.10, 4.40, cached: 0.275, maxOutput: 100_000, window: 200_000),
            "text-embedding-3-small": p(0.02, 0, window: 8191),
            "text-embedding-3-large": p(0.13, 0, window: 8191),
            "claude-3-5-haiku": p(0.80, 4.00, cached: 0.08, maxOutput: 8192, window: 200_000),
            "claude-3-5-sonnet": p(3.00, 15.00, cached: 0.30, maxOutput: 8192, window: 200_000),
            "claude-3-7-sonnet": p(3.00, 15.00, cached: 0.30, maxOutput: 64_000, window: 200_000),
            "claude-sonnet-4": p(3.00, 15.00, cached: 0.30, maxOutput: 64_000, window: 200_000),
            "claude-sonnet-4-5": p(3.00, 15.00, cached: 0.30, maxOutput: 64_000, window: 200_000),
            "claude-haiku-4-5": p(1.00, 5.00, cached: 0.10, maxOutput: 64_000, window: 200_000),
            "claude-opus-4": p(15.00, 75.00, cached: 1.50, maxOutput: 32_000, window: 200_000),
            "claude-3-haiku": p(0.25, 1.25, cached: 0.03, maxOutput: 4096, window: 200_000),
            "claude-3-opus": p(15.00, 75.00, cached: 1.50, maxOutput: 4096, window: 200_000),
            "gemini-1.5-flash": p(0.075, 0.30, cached: 0.01875, maxOutput: 8192, window: 1_048_576),
            "gemini-1.5-pro": p(1.25, 5.00, cached: 0.3125, maxOutput: 8192, window: 2_097_152),
            "gemini-2.0-flash": p(0.10, 0.40, cached: 0.025, maxOutput: 8192, window: 1_048_576),
            "gemini-2.5-flash": p(0.30, 2.50, cached: 0.075, maxOutput: 65_536, window: 1_048_576),
            "gemini-2.5-flash-lite": p(0.10, 0.40, cached: 0.025, maxOutput: 65_536, window: 1_048_576),
            "gemini-2.5-pro": p(1.25, 10.00, cached: 0.31, maxOutput: 65_536, window: 1_048_576),
            "text-embedding-004": p(0, 0),
            "titan-embed-text-v2:0": p(0.02, 0),
            "titan-embed-text-v2": p(0.02, 0),
            "embed-english-v3": p(0.10, 0),
            "nova-micro-v1:0": p(0.035, 0.14, maxOutput: 5000, window: 128_000),
            "nova-lite-v1:0": p(0.06, 0.24, maxOutput: 5000, window: 300_000),
            "nova-pro-v1:0": p(0.80, 3.20, maxOutput: 5000, window: 300_000),
            "llama-3.1-8b-instant": p(0.05, 0.08, maxOutput: 8192, window: 131_072),
            "llama-3.3-70b-versatile": p(0.59, 0.79, maxOutput: 32_768, window: 131_072),
            "mistral-large-latest": p(2.00, 6.00, window: 131_072),
            "mistral-small-latest": p(0.20, 0.60, window: 131_072),
        ]
    }()
}
