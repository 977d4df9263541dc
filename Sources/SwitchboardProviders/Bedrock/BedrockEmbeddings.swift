import SwitchboardCore

/// Embedding models on Bedrock's InvokeModel, each with its own body shape.
///
/// Titan Text Embeddings takes one text per call (`{"inputText", "dimensions"}` →
/// `{"embedding", "inputTextTokenCount"}`); Cohere Embed takes a batch (`{"texts", "input_type"}`
/// → `{"embeddings"}`). Other model families are refused.
enum BedrockEmbeddings {
    enum Family: Sendable, Hashable {
        case titan
        case cohere
    }

    /// Recognizes the family from a model id or an ARN that contains one.
    static func family(of model: String) -> Family? {
        let id = model.lowercased()
        if id.contains("amazon.titan-embed") { return .titan }
        if id.contains("cohere.embed") { return .cohere }
        return nil
    }

    struct TitanRequest: Encodable, Sendable {
        var inputText: String
        var dimensions: Int?
    }

    struct TitanResponse: Decodable, Sendable {
        var embedding: [Double]
        var inputTextTokenCount: Int?
    }

    struct CohereRequest: Encodable, Sendable {
        var texts: [String]
        var inputType: String

        enum CodingKeys: String, CodingKey {
            case texts
            case inputType = "input_type"
        }
    }

    struct CohereResponse: Decodable, Sendable {
        var embeddings: [[Double]]
    }
}
