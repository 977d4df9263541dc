/// What the semantic cache compares: the prompt's text (embedded) and everything else, which
/// must match exactly — the partition, a hash like ``CacheKey`` over the request with that text
/// taken out, the scope included.
package enum SemanticKey {
    /// The text to embed; `nil` when there is none (no user message, only images).
    package static func text(of request: ChatRequest, input: SemanticCacheConfig.Input) -> String? {
        let text: String
        switch input {
        case .lastUser:
            guard let last = request.messages.last(where: { $0.role == .user }) else { return nil }
            text = last.content?.text ?? ""
        case .conversation:
            text = request.messages.compactMap { message in
                message.content.map { "\(message.role.rawValue): \($0.text)" }
            }.joined(separator: "\n")
        }
        return text.isEmpty ? nil : text
    }

    /// The partition: the exact key of the request with the embedded text blanked. Only the
    /// text goes: images and other parts stay in, so the same words about another image are
    /// another partition.
    package static func partition(
        of request: ChatRequest, input: SemanticCacheConfig.Input, targets: [String], scope: String
    ) throws -> String {
        var blanked = request
        switch input {
        case .lastUser:
            if let index = blanked.messages.lastIndex(where: { $0.role == .user }) {
                blanked.messages[index].content = blanked.messages[index].content.map(withoutText)
            }
        case .conversation:
            for index in blanked.messages.indices {
                blanked.messages[index].content = blanked.messages[index].content.map(withoutText)
            }
        }
        return try CacheKey.make(blanked, targets: targets, scope: "semantic|" + scope)
    }

    static func withoutText(_ content: MessageContent) -> MessageContent {
        switch content {
        case .text: return .text("")
        case .parts(let parts):
            return .parts(parts.map { part in
                if case .text = part { return .text("") }
                return part
            })
        }
    }
}

/// Embeds one text for the semantic cache: the gateway's own embedding model.
package typealias CacheEmbedder = @Sendable (String) async throws -> [Float]

/// The semantic cache's parts, when any model uses it.
package struct SemanticCache: Sendable {
    package let settings: SemanticCacheConfig
    package let index: SemanticIndex
    package let embed: CacheEmbedder

    package init(settings: SemanticCacheConfig, index: SemanticIndex, embed: @escaping CacheEmbedder) {
        self.settings = settings
        self.index = index
        self.embed = embed
    }

    /// The text's vector, or `nil` when the embedding failed or took longer than the budget.
    package func vector(for text: String) async -> [Float]? {
        let embed = self.embed
        let timeout = Duration.milliseconds(settings.timeoutMilliseconds)
        return await withTaskGroup(of: [Float]?.self) { group in
            group.addTask { try? await embed(text) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
