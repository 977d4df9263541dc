/// What a model can do, for choosing among models (the recommender).
///
/// A configured model may list its capabilities (`capabilities: [chat, tools, vision]`);
/// otherwise they are inferred from the upstream model id: embedding models by name, vision
/// for the multimodal families, tools for every chat model.
package struct ModelCapabilities: OptionSet, Sendable, Hashable {
    package let rawValue: Int

    package init(rawValue: Int) {
        self.rawValue = rawValue
    }

    package static let chat = ModelCapabilities(rawValue: 1 << 0)
    package static let tools = ModelCapabilities(rawValue: 1 << 1)
    package static let vision = ModelCapabilities(rawValue: 1 << 2)
    package static let embeddings = ModelCapabilities(rawValue: 1 << 3)

    /// The names the config and the recommender's `task` use.
    package static let named: [(name: String, capability: ModelCapabilities)] = [
        ("chat", .chat), ("tools", .tools), ("vision", .vision), ("embeddings", .embeddings),
    ]

    package init?(name: String) {
        guard let entry = Self.named.first(where: { $0.name == name }) else { return nil }
        self = entry.capability
    }

    /// Inferred from an upstream model id such as `text-embedding-3-small` or `gpt-4o-mini`.
    package static func inferred(fromModelID id: String) -> ModelCapabilities {
        let name = id.lowercased()
        let embeddingMarkers = ["embed", "bge-", "e5-", "minilm", "mpnet"]
        if embeddingMarkers.contains(where: name.contains) {
            return .embeddings
        }
        var capabilities: ModelCapabilities = [.chat, .tools]
        let visionMarkers = [
            "gpt-4o", "gpt-4.1", "gpt-4-turbo", "gpt-5", "o1", "o3", "o4", "vision", "claude-3", "claude-opus-4",
            "claude-sonnet-4", "claude-haiku-4", "gemini", "-vl", "llava", "pixtral", "nova-pro", "nova-lite",
        ]
        if visionMarkers.contains(where: name.contains) {
            capabilities.insert(.vision)
        }
        return capabilities
    }

    /// What a recommender task needs: `embeddings` (or `embedding`), `vision` (or `image`),
    /// `tools` (or `function_calling`, `agent`) need those; every other task (`chat`, `code`,
    /// `summarize`, none) needs a chat model.
    package static func needed(forTask task: String?) -> ModelCapabilities {
        switch task?.lowercased() {
        case "embeddings", "embedding", "embed": .embeddings
        case "vision", "image", "images": [.chat, .vision]
        case "tools", "tool_use", "function_calling", "functions", "agent", "agents": [.chat, .tools]
        default: .chat
        }
    }
}
