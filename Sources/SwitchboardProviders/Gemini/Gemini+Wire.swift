public import SwitchboardCore

/// The Gemini API's wire types (`generateContent`, `streamGenerateContent`, `batchEmbedContents`,
/// errors), as its reference documents them. Free-form values (function arguments and results,
/// schemas) stay ``JSONValue``.
public enum Gemini {
    /// `POST models/{model}:generateContent` (and `:streamGenerateContent?alt=sse`).
    public struct Request: Encodable, Sendable, Hashable {
        public var contents: [Content]
        public var systemInstruction: Content?
        public var generationConfig: GenerationConfig?
        public var tools: [Tools]?
        public var toolConfig: ToolConfig?
    }

    public struct Content: Codable, Sendable, Hashable {
        public var role: String?
        public var parts: [Part]

        public init(role: String?, parts: [Part]) {
            self.role = role
            self.parts = parts
        }
    }

    /// One part of a content: exactly one of its fields is set. Parts of kinds the gateway does
    /// not use (executable code, …) are read as empty parts and skipped.
    public struct Part: Codable, Sendable, Hashable {
        public var text: String?
        /// A thought summary (`includeThoughts`), not answer text.
        public var thought: Bool?
        /// Opaque; must go back with the function call it came with.
        public var thoughtSignature: String?
        public var inlineData: Blob?
        public var fileData: FileData?
        public var functionCall: FunctionCall?
        public var functionResponse: FunctionResponse?

        public init(
            text: String? = nil, thought: Bool? = nil, thoughtSignature: String? = nil, inlineData: Blob? = nil,
            fileData: FileData? = nil, functionCall: FunctionCall? = nil, functionResponse: FunctionResponse? = nil
        ) {
            self.text = text
            self.thought = thought
            self.thoughtSignature = thoughtSignature
            self.inlineData = inlineData
            self.fileData = fileData
            self.functionCall = functionCall
            self.functionResponse = functionResponse
        }
    }

    public struct Blob: Codable, Sendable, Hashable {
        public var mimeType: String
        public var data: String
    }

    public struct FileData: Codable, Sendable, Hashable {
        public var mimeType: String
        public var fileUri: String
    }

    public struct FunctionCall: Codable, Sendable, Hashable {
        public var name: String
        public var args: JSONValue?
    }

    public struct FunctionResponse: Codable, Sendable, Hashable {
        public var name: String
        public var response: JSONValue
    }

    public struct GenerationConfig: Encodable, Sendable, Hashable {
        public var temperature: Double?
        public var topP: Double?
        public var maxOutputTokens: Int?
        public var stopSequences: [String]?
        public var candidateCount: Int?
        public var seed: Int?
        public var presencePenalty: Double?
        public var frequencyPenalty: Double?
        public var responseMimeType: String?
        public var responseSchema: JSONValue?

        var isEmpty: Bool { self == GenerationConfig() }
    }

    public struct Tools: Encodable, Sendable, Hashable {
        public var functionDeclarations: [FunctionDeclaration]
    }

    public struct FunctionDeclaration: Encodable, Sendable, Hashable {
        public var name: String
        public var description: String?
        public var parameters: JSONValue?
    }

    public struct ToolConfig: Encodable, Sendable, Hashable {
        public struct FunctionCallingConfig: Encodable, Sendable, Hashable {
            /// `AUTO`, `ANY` or `NONE`.
            public var mode: String
            public var allowedFunctionNames: [String]?
        }

        public var functionCallingConfig: FunctionCallingConfig
    }

    /// A `generateContent` answer, and each event of a stream.
    public struct Response: Decodable, Sendable, Hashable {
        public var candidates: [Candidate]?
        public var promptFeedback: PromptFeedback?
        public var usageMetadata: UsageMetadata?
        public var modelVersion: String?
        public var responseId: String?
        /// A stream reports a failure after its first event as an event holding only this.
        public var error: ErrorDetail?
    }

    public struct Candidate: Decodable, Sendable, Hashable {
        public var content: Content?
        public var finishReason: String?
        public var index: Int?
    }

    public struct PromptFeedback: Decodable, Sendable, Hashable {
        public var blockReason: String?
    }

    public struct UsageMetadata: Decodable, Sendable, Hashable {
        public var promptTokenCount: Int?
        public var candidatesTokenCount: Int?
        public var thoughtsTokenCount: Int?
        public var cachedContentTokenCount: Int?
        public var totalTokenCount: Int?
    }

    /// `{"error": {...}}`, a google.rpc.Status.
    public struct ErrorBody: Decodable, Sendable, Hashable {
        public var error: ErrorDetail?
    }

    public struct ErrorDetail: Decodable, Sendable, Hashable {
        public var code: Int?
        /// Read only to recognise a context-window error; never kept.
        public var message: String?
        /// `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, …
        public var status: String?
        public var details: [ErrorDetailEntry]?
    }

    /// One entry of `details`: an `ErrorInfo` (`reason`) or a `RetryInfo` (`retryDelay`).
    public struct ErrorDetailEntry: Decodable, Sendable, Hashable {
        public var type: String?
        public var reason: String?
        public var retryDelay: String?

        enum CodingKeys: String, CodingKey {
            case type = "@type"
            case reason, retryDelay
        }
    }

    /// `POST models/{model}:batchEmbedContents`.
    public struct BatchEmbedRequest: Encodable, Sendable, Hashable {
        public struct Item: Encodable, Sendable, Hashable {
            public var model: String
            public var content: Content
            public var outputDimensionality: Int?
        }

        public var requests: [Item]
    }

    public struct BatchEmbedResponse: Decodable, Sendable, Hashable {
        public struct Embedding: Decodable, Sendable, Hashable {
            public var values: [Double]
        }

        public var embeddings: [Embedding]
    }
}
