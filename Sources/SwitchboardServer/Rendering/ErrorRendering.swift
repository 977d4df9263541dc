import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The wire shapes errors are rendered in, one per API surface.
enum ErrorFormat {
    /// `{"error":{"message","type","code","param","request_id"}}`
    case openAI
    /// `{"error":{"code","message","provider"}}` for the simple `/v1/chat` contract.
    case simple
    /// `{"type":"error","error":{"type","message"}}` for `/v1/messages`.
    case anthropic
}

struct OpenAIErrorBody: Encodable {
    struct Detail: Encodable {
        var message: String
        var type: String
        var code: String
        var param: String?
        var requestID: String

        enum CodingKeys: String, CodingKey {
            case message, type, code, param
            case requestID = "request_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(code, forKey: .code)
            // OpenAI always sends `param`, null when there is none.
            try container.encode(param, forKey: .param)
            try container.encode(requestID, forKey: .requestID)
        }
    }

    var error: Detail

    init(_ error: GatewayError, requestID: String) {
        self.error = Detail(
            message: error.message,
            type: error.code.openAIType,
            code: error.code.rawValue,
            param: error.param,
            requestID: requestID
        )
    }
}

struct SimpleErrorBody: Encodable {
    struct Detail: Encodable {
        var code: String
        var message: String
        var provider: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encode(code, forKey: AnyCodingKey("code"))
            try container.encode(message, forKey: AnyCodingKey("message"))
            try container.encode(provider, forKey: AnyCodingKey("provider"))
        }
    }

    var error: Detail
}

extension GatewayError {
    /// The HTTP status, honouring an explicit override (413, 415 carry `VALIDATION_ERROR`).
    var httpStatus: HTTPResponse.Status {
        HTTPResponse.Status(code: status)
    }

    func response(format: ErrorFormat, requestID: String) -> Response {
        let data: Data
        do {
            switch format {
            case .openAI:
                data = try JSONCoding.encode(OpenAIErrorBody(self, requestID: requestID))
            case .simple:
                data = try JSONCoding.encode(
                    SimpleErrorBody(error: .init(code: code.rawValue, message: message, provider: provider))
                )
            case .anthropic:
                data = try JSONCoding.encode(AnthropicErrorRendering.body(self))
            }
        } catch {
            data = Data(#"{"error":{"message":"internal error","type":"server_error","code":"INTERNAL_ERROR"}}"#.utf8)
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds {
            headers[.retryAfter] = String(retryAfterSeconds)
        }
        if let rateLimit {
            CallHeaders.rateLimit(&headers, rateLimit)
        }
        if !requestID.isEmpty {
            headers[HTTPField.Name.requestID] = requestID
        }
        return Response(status: httpStatus, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let switchboardProvider = HTTPField.Name("X-Switchboard-Provider")!
    static let switchboardModel = HTTPField.Name("X-Switchboard-Model")!
    static let switchboardLatency = HTTPField.Name("X-Switchboard-Latency-Ms")!
    static let switchboardOverhead = HTTPField.Name("X-Switchboard-Overhead-Ms")!
    static let switchboardAttempts = HTTPField.Name("X-Switchboard-Attempts")!
    static let switchboardDroppedParams = HTTPField.Name("X-Switchboard-Dropped-Params")!
    static let switchboardCategory = HTTPField.Name("X-Switchboard-Category")!
    static let switchboardTokenCount = HTTPField.Name("X-Switchboard-Token-Count")!
    static let switchboardCache = HTTPField.Name("X-Switchboard-Cache")!
    static let switchboardCacheKey = HTTPField.Name("X-Switchboard-Cache-Key")!
    static let switchboardCacheSimilarity = HTTPField.Name("X-Switchboard-Cache-Similarity")!
    static let switchboardConversationID = HTTPField.Name("X-Switchboard-Conversation-Id")!
    static let switchboardMessageID = HTTPField.Name("X-Switchboard-Message-Id")!
    static let switchboardContextDropped = HTTPField.Name("X-Switchboard-Context-Dropped")!
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!
    static let apiKey = HTTPField.Name("x-api-key")!
    static let costUSD = HTTPField.Name("X-Cost-USD")!
    static let rateLimitLimit = HTTPField.Name("X-RateLimit-Limit")!
    static let rateLimitRemaining = HTTPField.Name("X-RateLimit-Remaining")!
    static let rateLimitResetMs = HTTPField.Name("X-RateLimit-Reset-Ms")!
    static let rateLimitLimitTokens = HTTPField.Name("X-RateLimit-Limit-Tokens")!
    static let rateLimitRemainingTokens = HTTPField.Name("X-RateLimit-Remaining-Tokens")!
}
