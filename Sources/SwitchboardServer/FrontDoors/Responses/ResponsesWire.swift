import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI's Responses API on the wire: the request `POST /v1/responses` takes, the response
/// object every endpoint answers with, and its stream events. Shapes follow the official
/// `openai` SDK's types; input items stay `JSONValue` until ``ResponsesInbound`` reads them, so
/// a bad item is refused with a message naming it.
enum Responses {
    struct Request: Decodable, Sendable {
        var model: String?
        var input: Input?
        var instructions: String?
        var previousResponseID: String?
        var conversation: ConversationReference?
        var store: Bool?
        var tools: [JSONValue]?
        var toolChoice: JSONValue?
        var parallelToolCalls: Bool?
        var maxOutputTokens: Int?
        var temperature: Double?
        var topP: Double?
        var text: JSONValue?
        var reasoning: JSONValue?
        var truncation: String?
        var metadata: JSONValue?
        var include: [String]?
        var user: String?
        var stream: Bool?
        var background: Bool?
        var streamOptions: JSONValue?

        enum CodingKeys: String, CodingKey {
            case model, input, instructions, conversation, store, tools, temperature, text, reasoning, truncation, metadata, include,
                user, stream, background
            case previousResponseID = "previous_response_id"
            case toolChoice = "tool_choice"
            case parallelToolCalls = "parallel_tool_calls"
            case maxOutputTokens = "max_output_tokens"
            case topP = "top_p"
            case streamOptions = "stream_options"
        }
    }

    /// `input`: a string (one user message) or a list of items.
    enum Input: Decodable, Sendable {
        case text(String)
        case items([JSONValue])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                self = .text(text)
            } else if let items = try? container.decode([JSONValue].self) {
                self = .items(items)
            } else {
                throw DecodingError.typeMismatch(
                    String.self, .init(codingPath: decoder.codingPath, debugDescription: "`input` must be a string or an array of items")
                )
            }
        }
    }

    /// `conversation`: an id, or `{"id": …}`.
    struct ConversationReference: Decodable, Sendable {
        var id: String

        private struct Object: Decodable { var id: String }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let id = try? container.decode(String.self) {
                self.id = id
            } else {
                self.id = try container.decode(Object.self).id
            }
        }
    }

    /// What a response echoes of its request, kept with a stored response so `GET` answers as
    /// the create did. Stored as JSON with the answer message.
    struct Echo: Codable, Sendable, Hashable {
        var instructions: String?
        var metadata: [String: String]
        var previousResponseID: String?
        var conversationID: String?
        var temperature: Double?
        var topP: Double?
        var maxOutputTokens: Int?
        var toolChoice: JSONValue
        var tools: [JSONValue]
        var parallelToolCalls: Bool
        var text: JSONValue
        var reasoning: JSONValue
        var truncation: String
        var user: String?
        var store: Bool
        /// How many messages the request added before the answer (its input items).
        var inputCount: Int
        /// When the request came (the response's `created_at`).
        var createdAt: Double
        /// A response not stored: its id (a stored one's is its answer's).
        var id: String?
        /// Added by the conversation stage when the answer is stored: why the provider stopped.
        var finishReason: String?
        /// `background: true`: run after the request returned, polled by `GET`.
        var background: Bool?

        enum CodingKeys: String, CodingKey {
            case instructions, metadata, temperature, tools, text, reasoning, truncation, user, store, background
            case finishReason = "finish_reason"
            case previousResponseID = "previous_response_id"
            case conversationID = "conversation_id"
            case topP = "top_p"
            case maxOutputTokens = "max_output_tokens"
            case toolChoice = "tool_choice"
            case parallelToolCalls = "parallel_tool_calls"
            case inputCount = "input_count"
            case createdAt = "created_at"
            case id
        }
    }

    /// The response object (`object: "response"`).
    struct Object: Encodable, Sendable {
        var id: String
        var createdAt: Double
        var status: String
        var model: String
        var output: [OutputItem]
        var usage: Usage?
        var error: ErrorInfo?
        var incompleteReason: String?
        var echo: Echo

        enum CodingKeys: String, CodingKey {
            case id, object, status, model, output, usage, error, instructions, metadata, temperature, tools, text, reasoning, truncation,
                user, background, conversation
            case createdAt = "created_at"
            case incompleteDetails = "incomplete_details"
            case previousResponseID = "previous_response_id"
            case topP = "top_p"
            case maxOutputTokens = "max_output_tokens"
            case toolChoice = "tool_choice"
            case parallelToolCalls = "parallel_tool_calls"
        }

        private struct IncompleteDetails: Encodable { var reason: String }
        private struct ConversationID: Encodable { var id: String }

        /// Every field OpenAI sends, `null` where unset (the SDK's model reads them so).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode("response", forKey: .object)
            try container.encode(Int(createdAt), forKey: .createdAt)
            try container.encode(status, forKey: .status)
            try container.encode(echo.background ?? false, forKey: .background)
            try container.encode(error, forKey: .error)
            try container.encode(incompleteReason.map(IncompleteDetails.init(reason:)), forKey: .incompleteDetails)
            try container.encode(echo.instructions, forKey: .instructions)
            try container.encode(echo.maxOutputTokens, forKey: .maxOutputTokens)
            try container.encode(model, forKey: .model)
            try container.encode(output, forKey: .output)
            try container.encode(echo.parallelToolCalls, forKey: .parallelToolCalls)
            try container.encode(echo.previousResponseID, forKey: .previousResponseID)
            try container.encode(echo.reasoning, forKey: .reasoning)
            try container.encode(echo.temperature ?? 1, forKey: .temperature)
            try container.encode(echo.text, forKey: .text)
            try container.encode(echo.toolChoice, forKey: .toolChoice)
            try container.encode(echo.tools, forKey: .tools)
            try container.encode(echo.topP ?? 1, forKey: .topP)
            try container.encode(echo.truncation, forKey: .truncation)
            try container.encode(usage, forKey: .usage)
            try container.encode(echo.user, forKey: .user)
            try container.encode(echo.metadata, forKey: .metadata)
            try container.encode(echo.conversationID.map(ConversationID.init(id:)), forKey: .conversation)
        }
    }

    struct ErrorInfo: Encodable, Sendable {
        var code: String
        var message: String
    }

    struct Usage: Encodable, Sendable {
        struct InputDetails: Encodable, Sendable {
            var cached_tokens: Int
            /// Prompt tokens written to the provider's cache (Anthropic's `cache_creation_input_tokens`).
            var cache_write_tokens: Int
        }

        struct OutputDetails: Encodable, Sendable {
            var reasoning_tokens: Int
        }

        var input_tokens: Int
        var input_tokens_details: InputDetails
        var output_tokens: Int
        var output_tokens_details: OutputDetails
        var total_tokens: Int

        init(_ usage: SwitchboardCore.Usage) {
            input_tokens = usage.promptTokens
            input_tokens_details = InputDetails(
                cached_tokens: usage.cachedPromptTokens, cache_write_tokens: usage.extra["cache_creation_input_tokens"]?.intValue ?? 0
            )
            output_tokens = usage.completionTokens
            output_tokens_details = OutputDetails(reasoning_tokens: usage.reasoningTokens)
            total_tokens = usage.promptTokens + usage.completionTokens
        }
    }

    /// One item of a response's `output` (or of a stored response's `input_items`).
    enum OutputItem: Encodable, Sendable {
        case message(id: String, role: String, status: String, text: String, input: Bool)
        case functionCall(id: String, callID: String, name: String, arguments: String, status: String)
        case functionCallOutput(id: String, callID: String, output: String)
        case reasoning(id: String, summary: String)
        /// A native upstream's item as it sent it (its id already this gateway's, where it has one).
        case native(id: String, item: JSONValue)

        private enum CodingKeys: String, CodingKey {
            case id, type, role, status, content, name, arguments, output, summary
            case callID = "call_id"
        }

        private struct Text: Encodable {
            var type: String
            var text: String
            var annotations: [JSONValue]?
        }

        func encode(to encoder: any Encoder) throws {
            if case .native(_, let item) = self {
                try item.encode(to: encoder)
                return
            }
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .native: break
            case .message(let id, let role, let status, let text, let input):
                try container.encode(id, forKey: .id)
                try container.encode("message", forKey: .type)
                try container.encode(role, forKey: .role)
                try container.encode(status, forKey: .status)
                let part = input
                    ? Text(type: "input_text", text: text, annotations: nil)
                    : Text(type: "output_text", text: text, annotations: [])
                try container.encode([part], forKey: .content)
            case .functionCall(let id, let callID, let name, let arguments, let status):
                try container.encode(id, forKey: .id)
                try container.encode("function_call", forKey: .type)
                try container.encode(status, forKey: .status)
                try container.encode(callID, forKey: .callID)
                try container.encode(name, forKey: .name)
                try container.encode(arguments, forKey: .arguments)
            case .functionCallOutput(let id, let callID, let output):
                try container.encode(id, forKey: .id)
                try container.encode("function_call_output", forKey: .type)
                try container.encode("completed", forKey: .status)
                try container.encode(callID, forKey: .callID)
                try container.encode(output, forKey: .output)
            case .reasoning(let id, let summary):
                try container.encode(id, forKey: .id)
                try container.encode("reasoning", forKey: .type)
                try container.encode(summary.isEmpty ? [] : [Text(type: "summary_text", text: summary, annotations: nil)], forKey: .summary)
            }
        }

        var id: String {
            switch self {
            case .message(let id, _, _, _, _), .functionCall(let id, _, _, _, _), .functionCallOutput(let id, _, _), .reasoning(let id, _),
                .native(let id, _):
                return id
            }
        }
    }

    /// `GET /v1/responses/{id}/input_items`.
    struct ItemList: Encodable, Sendable {
        var object = "list"
        var data: [OutputItem]
        var first_id: String?
        var last_id: String?
        var has_more: Bool

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encode(object, forKey: AnyCodingKey("object"))
            try container.encode(data, forKey: AnyCodingKey("data"))
            try container.encode(first_id, forKey: AnyCodingKey("first_id"))
            try container.encode(last_id, forKey: AnyCodingKey("last_id"))
            try container.encode(has_more, forKey: AnyCodingKey("has_more"))
        }
    }

    /// `DELETE /v1/responses/{id}`.
    struct Deleted: Encodable, Sendable {
        var id: String
        var object = "response.deleted"
        var deleted = true
    }
}
