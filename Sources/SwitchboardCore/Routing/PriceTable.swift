/// Prices per million tokens for common models, and the per-model overrides from the config.
///
/// Used to order targets for the `cheapest` strategy and to rank `/api/v1/models/recommend`.
/// Lookups try the model id as given, then without a date or version suffix.
public struct PriceTable: Sendable {
    private var prices: [String: ModelPrice]

    public init(overrides: [String: ModelPrice] = [:]) {
        var prices = Self.builtIn
        for (model, price) in overrides { prices[model] = price }
        self.prices = prices
    }

    /// USD for a call's usage at this model's price, or `nil` when the model has no known price.
    public func cost(model: String, promptTokens: Int, completionTokens: Int) -> Double? {
        guard let price = price(for: model) else { return nil }
        return (Double(promptTokens) * price.inputPerMillionTokens + Double(completionTokens) * price.outputPerMillionTokens) / 1_000_000
    }

    public func price(for model: String) -> ModelPrice? {
        if let price = prices[model] { return price }
        // `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`; `anthropic.claude-3-haiku-20240307-v1:0` → family.
        var candidate = Substring(model)
        while let dash = candidate.lastIndex(of: "-") {
            candidate = candidate[..<dash]
            if let price = prices[String(candidate)] { return price }
        }
        return nil
    }

    /// USD per million tokens (input, output), as published by the providers.
    static let builtIn: [String: ModelPrice] = [
        "gpt-4o": .init(inputPerMillionTokens: 2.50, outputPerMillionTokens: 10.00),
        "gpt-4o-mini": .init(inputPerMillionTokens: 0.15, outputPerMillionTokens: 0.60),
        "gpt-4.1": .init(inputPerMillionTokens: 2.00, outputPerMillionTokens: 8.00),
        "gpt-4.1-mini": .init(inputPerMillionTokens: 0.40, outputPerMillionTokens: 1.60),
        "gpt-4.1-nano": .init(inputPerMillionTokens: 0.10, outputPerMillionTokens: 0.40),
        "gpt-4-turbo": .init(inputPerMillionTokens: 10.00, outputPerMillionTokens: 30.00),
        "gpt-3.5-turbo": .init(inputPerMillionTokens: 0.50, outputPerMillionTokens: 1.50),
        "o1": .init(inputPerMillionTokens: 15.00, outputPerMillionTokens: 60.00),
        "o3-mini": .init(inputPerMillionTokens: 1.10, outputPerMillionTokens: 4.40),
        "o4-mini": .init(inputPerMillionTokens: 1.10, outputPerMillionTokens: 4.40),
        "text-embedding-3-small": .init(inputPerMillionTokens: 0.02, outputPerMillionTokens: 0),
        "text-embedding-3-large": .init(inputPerMillionTokens: 0.13, outputPerMillionTokens: 0),
        "claude-3-5-haiku": .init(inputPerMillionTokens: 0.80, outputPerMillionTokens: 4.00),
        "claude-3-5-sonnet": .init(inputPerMillionTokens: 3.00, outputPerMillionTokens: 15.00),
        "claude-3-7-sonnet": .init(inputPerMillionTokens: 3.00, outputPerMillionTokens: 15.00),
        "claude-sonnet-4": .init(inputPerMillionTokens: 3.00, outputPerMillionTokens: 15.00),
        "claude-3-haiku": .init(inputPerMillionTokens: 0.25, outputPerMillionTokens: 1.25),
        "claude-3-opus": .init(inputPerMillionTokens: 15.00, outputPerMillionTokens: 75.00),
        "gemini-1.5-flash": .init(inputPerMillionTokens: 0.075, outputPerMillionTokens: 0.30),
        "gemini-1.5-pro": .init(inputPerMillionTokens: 1.25, outputPerMillionTokens: 5.00),
        "gemini-2.0-flash": .init(inputPerMillionTokens: 0.10, outputPerMillionTokens: 0.40),
        "gemini-2.5-flash": .init(inputPerMillionTokens: 0.30, outputPerMillionTokens: 2.50),
        "gemini-2.5-pro": .init(inputPerMillionTokens: 1.25, outputPerMillionTokens: 10.00),
        "llama-3.1-8b-instant": .init(inputPerMillionTokens: 0.05, outputPerMillionTokens: 0.08),
        "llama-3.3-70b-versatile": .init(inputPerMillionTokens: 0.59, outputPerMillionTokens: 0.79),
        "mistral-large-latest": .init(inputPerMillionTokens: 2.00, outputPerMillionTokens: 6.00),
        "mistral-small-latest": .init(inputPerMillionTokens: 0.20, outputPerMillionTokens: 0.60),
    ]
}
