/// Every failure the gateway reports, typed once in the core and rendered per wire format at the edge.
package struct GatewayError: Error, Sendable, Hashable {
    package enum Code: String, Sendable, Hashable, CaseIterable {
        case validationError = "VALIDATION_ERROR"
        case authenticationError = "AUTHENTICATION_ERROR"
        case permissionDenied = "PERMISSION_DENIED"
        case rateLimitExceeded = "RATE_LIMIT_EXCEEDED"
        case budgetExceeded = "BUDGET_EXCEEDED"
        case modelNotFound = "MODEL_NOT_FOUND"
        /// A stored thing (conversation, message, branch) the caller has none of.
        case notFound = "NOT_FOUND"
        /// The request is fine but the state it meets refuses it (a limit reached).
        case conflict = "CONFLICT"
        case upstreamError = "UPSTREAM_ERROR"
        case upstreamTimeout = "UPSTREAM_TIMEOUT"
        case internalError = "INTERNAL_ERROR"

        /// The HTTP status this code is answered with.
        package var status: Int {
            switch self {
            case .validationError: return 400
            case .authenticationError: return 401
            case .permissionDenied: return 403
            case .modelNotFound, .notFound: return 404
            case .conflict: return 409
            case .rateLimitExceeded, .budgetExceeded: return 429
            case .upstreamError: return 502
            case .upstreamTimeout: return 504
            case .internalError: return 500
            }
        }

        /// OpenAI's `error.type` for this code.
        package var openAIType: String {
            switch self {
            case .validationError, .modelNotFound, .conflict:
                return "invalid_request_error"
            case .notFound: return "not_found_error"
            case .authenticationError: return "authentication_error"
            case .permissionDenied: return "permission_error"
            case .rateLimitExceeded, .budgetExceeded: return "rate_limit_error"
            case .upstreamError, .upstreamTimeout: return "upstream_error"
            case .internalError: return "server_error"
            }
        }
    }

    package var code: Code
    package var message: String
    /// The request field at fault, when there is one (`messages[0].role`).
    package var param: String?
    /// The provider involved, for upstream failures.
    package var provider: String?
    /// Seconds the client should wait, for 429s.
    package var retryAfterSeconds: Int?
    /// A status other than the code's own, for the few cases that need one (413, 415, 404 route).
    package var statusOverride: Int?
    /// For rate-limit refusals: what the `X-RateLimit-*` headers report.
    package var rateLimit: RateLimitStatus?

    package init(
        _ code: Code,
        _ message: String,
        param: String? = nil,
        provider: String? = nil,
        retryAfterSeconds: Int? = nil,
        status: Int? = nil
    ) {
        self.statusOverride = status
        self.code = code
        self.message = message
        self.param = param
        self.provider = provider
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var status: Int { statusOverride ?? code.status }

    package static func validation(_ message: String, param: String? = nil) -> GatewayError {
        GatewayError(.validationError, message, param: param)
    }

    package static func upstream(_ message: String, provider: String) -> GatewayError {
        GatewayError(.upstreamError, message, provider: provider)
    }
}

extension GatewayError: CustomStringConvertible {
    package var description: String { "\(code.rawValue): \(message)" }
}
