package import Logging

#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Which kind of model call this is: names the ledger row's `endpoint`.
package enum CallEndpoint: String, Sendable, Hashable {
    case chat
    case embeddings
    case countTokens = "count_tokens"
}

/// What is asked of the model.
package enum CallRequest: Sendable, Hashable {
    case chat(ChatRequest)
    case embeddings(EmbeddingsRequest)
    /// Count a chat request's prompt tokens without answering it.
    case countTokens(ChatRequest)

    package var endpoint: CallEndpoint {
        switch self {
        case .chat: return .chat
        case .embeddings: return .embeddings
        case .countTokens: return .countTokens
        }
    }

    /// The model name as the client asked for it.
    package var model: String {
        switch self {
        case .chat(let request), .countTokens(let request): return request.model
        case .embeddings(let request): return request.model
        }
    }

    package var chat: ChatRequest? {
        switch self {
        case .chat(let request): return request
        default: return nil
        }
    }
}

/// Who is calling, and since when; set by the front door, fixed for the call.
package struct CallContext: Sendable {
    /// The authenticated caller.
    package let principal: Principal
    /// `X-Request-Id`: the client's or the gateway's.
    package let requestID: String
    /// When the gateway started on the request (latency and overhead are measured from here).
    package let started: ContinuousClock.Instant
    package let logger: Logger
    /// The request body as it arrived, for the request log's `bodies` mode.
    package let body: Data?
    /// What the request's headers (`Cache-Control`) say about the response cache.
    package let cacheControls: CacheControls?

    package init(
        principal: Principal, requestID: String, started: ContinuousClock.Instant, logger: Logger, body: Data? = nil,
        cacheControls: CacheControls? = nil
    ) {
        self.principal = principal
        self.requestID = requestID
        self.started = started
        self.logger = logger
        self.body = body
        self.cacheControls = cacheControls
    }
}

/// One model call as the pipeline runs it: what is asked, by whom, and how the answer goes out.
package struct ModelCall: Sendable {
    /// What is asked; before-stages may rewrite it (conversation or memory context prepended).
    package var request: CallRequest
    package let context: CallContext
    /// Whether the answer is streamed to the client.
    package var stream: Bool

    package init(_ request: CallRequest, context: CallContext, stream: Bool = false) {
        self.request = request
        self.context = context
        self.stream = stream
    }

    package var endpoint: CallEndpoint { request.endpoint }
    package var principal: Principal { context.principal }
}
