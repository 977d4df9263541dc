package import SwitchboardCore

/// The Gemini API's wire types (`generateContent`, `streamGenerateContent`, `batchEmbedContents`,
/// errors), as its reference documents them. Free-form values (function arguments and results,
/// schemas) stay ``JSONValue``.
package enum Gemini {
    /// `POST models/{model}:generateContent` (and `:streamGenerateContent?alt=sse`).
    package struct Request: Encodable, Sendable, Hashable {
        package var contents: [Content]
        package var systemInstruction: Content?
        package var generationConfig: GenerationConfig?
        package var tools: [Tools]?
        package var toolConfig: ToolConfig?
    }

    package struct Content: Codable, Sendable, Hashable {
        package var role: String?
        package var parts: [Part]

        package init(role: String?, parts: [Part]) {
            self.role = role
            self.parts = parts
        }
    }

    /// One part of a content: exactly one of its fields is set. Parts of kinds the gateway does
    /// not use (executable code, …) are read as empty parts and skipped.
    package struct Part: Codable, Sendable, Hashable {
        package var text: String?
        /// A thought summary (`includeThoughts`), not answer text.
        package var thought: Bool?
        /// Opaque; must go back with the function call it came with.
        package var thoughtSignature: String?
        package var inlineData: Blob?
        package var fileData: FileData?
        package var functionCall: FunctionCall?
        package var functionResponse: FunctionResponse?

        package init(
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

    package struct Blob: Codable, Sendable, Hashable {
        package var mimeType: String
        package var data: String
    }

    package struct FileData: Codable, Sendable, Hashable {
        package var mimeType: String
        package var fileUri: String
    }

    package struct FunctionCall: Codable, Sendable, Hashable {
        package var name: String
        package var args: JSONValue?
    }

    package struct FunctionResponse: Codable, Sendable, Hashable {
        package var name: String
        package var response: JSONValue
    }

    package struct GenerationConfig: Encodable, Sendable, Hashable {
        package var temperature: Double?
        package var topP: Double?
        package var maxOutputTokens: Int?
        package var stopSequences: [String]?
        package var candidateCount: Int?
        package var seed: Int?
        package var presencePenalty: Double?
        package var frequencyPenalty: Double?
        package var responseMimeType: String?
        package var responseSchema: JSONValue?

        var isEmpty: Bool { self == GenerationConfig() }
    }

    package struct Tools: Encodable, Sendable, Hashable {
        package var functionDeclarations: [FunctionDeclaration]
    }

    package struct FunctionDeclaration: Encodable, Sendable, Hashable {
        package var name: String
        package var description: String?
        package var parameters: JSONValue?
    }

    package struct ToolConfig: Encodable, Sendable, Hashable {
        package struct FunctionCallingConfig: Encodable, Sendable, Hashable {
            /// `AUTO`, `ANY` or `NONE`.
            package var mode: String
            package var allowedFunctionNames: [String]?
        }

        package var functionCallingConfig: FunctionCallingConfig
    }

    /// A `generateContent` answer, and each event of a stream.
    package struct Response: Decodable, Sendable, Hashable {
        package var candidates: [Candidate]?
        package var promptFeedback: PromptFeedback?
        package var usageMetadata: UsageMetadata?
        package var modelVersion: String?
        package var responseId: String?
        /// A stream reports a failure after its first event as an event holding only this.
        package var error: ErrorDetail?
    }

    package struct Candidate: Decodable, Sendable, Hashable {
        package var content: Content?
        package var finishReason: String?
        package var index: Int?
    }

    package struct PromptFeedback: Decodable, Sendable, Hashable {
        package var blockReason: String?
    }

    package struct UsageMetadata: Decodable, Sendable, Hashable {
        package var promptTokenCount: Int?
        package var candidatesTokenCount: Int?
        package var thoughtsTokenCount: Int?
        package var cachedContentTokenCount: Int?
        package var totalTokenCount: Int?
    }

    /// `{"error": {...}}`, a google.rpc.Status.
    package struct ErrorBody: Decodable, Sendable, Hashable {
        package var error: ErrorDetail?
    }

    package struct ErrorDetail: Decodable, Sendable, Hashable {
        package var code: Int?
        /// Read only to recognise a context-window error; never kept.
        package var message: String?
        /// `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, …
        package var status: String?
        package var details: [ErrorDetailEntry]?
    }

    /// One entry of `details`: an `ErrorInfo` (`reason`) or a `RetryInfo` (`retryDelay`).
    package struct ErrorDetailEntry: Decodable, Sendable, Hashable {
        package var type: String?
        package var reason: String?
        package var retryDelay: String?

        enum CodingKeys: String, CodingKey {
            case type = "@type"
            case reason, retryDelay
        }
    }

    /// `POST models/{model}:batchEmbedContents`.
    package struct BatchEmbedRequest: Encodable, Sendable, Hashable {
        package struct Item: Encodable, Sendable, Hashable {
            package var model: String
            package var content: Content
            package var outputDimensionality: Int?
        }

        package var requests: [Item]
    }

    package struct BatchEmbedResponse: Decodable, Sendable, Hashable {
        package struct Embedding: Decodable, Sendable, Hashable {
            package var values: [Double]
        }

        package var embeddings: [Embedding]
    }
}
