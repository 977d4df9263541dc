public import Logging

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Which kind of model call this is: names the ledger row's `endpoint`.
public enum CallEndpoint: String, Sendable, Hashable {
    case chat
    case embeddings
    case countTokens = "count_tokens"
}

/// What is asked of the model.
public enum CallRequest: Sendable, Hashable {
    case chat(ChatRequest)
    case embeddings(EmbeddingsRequest)
    /// Count a chat request's prompt tokens without answering it.
    case countTokens(ChatRequest)

    public var endpoint: CallEndpoint {
        switch self {
        case .chat: return .chat
        case .embeddings: return .embeddings
        case .countTokens: return .countTokens
        }
    }

    /// The model name as the client asked for it.
    public var model: String {
        switch self {
        case .chat(let request), .countTokens(let request): return request.model
        case .embeddings(let request): return request.model
        }
    }

    public var chat: ChatRequest? {
        switch self {
        case .chat(let request): return request
        default: return nil
        }
    }
}

/// Who is calling, and since when; set by the front door, fixed for the call.
public struct CallContext: Sendable {
    /// The authenticated caller.
    public let principal: Principal
    /// `X-Request-Id`: the client's or the gateway's.
    public let requestID: String
    /// When the gateway started on the request (latency and overhead are measured from here).
    public let started: ContinuousClock.Instant
    public let logger: Logger
    /// The request body as it arrived, for the request log's `bodies` mode.
    public let body: Data?

    public init(principal: Principal, requestID: String, started: ContinuousClock.Instant, logger: Logger, body: Data? = nil) {
        self.principal = principal
        self.requestID = requestID
        self.started = started
        self.logger = logger
        self.body = body
    }
}

/// One model call as the pipeline runs it: what is asked, by whom, and how the answer goes out.
public struct ModelCall: Sendable {
    /// What is asked; before-stages may rewrite it (conversation or memory context prepended).
    public var request: CallRequest
    public let context: CallContext
    /// Whether the answer is streamed to the client.
    public var stream: Bool

    public init(_ request: CallRequest, context: CallContext, stream: Bool = false) {
        self.request = request
        self.context = context
        self.stream = stream
    }

    public var endpoint: CallEndpoint { request.endpoint }
    public var principal: Principal { context.principal }
}
