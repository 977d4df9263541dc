/// What went wrong between the gateway and a provider. Never carries the provider's raw body.
package struct UpstreamError: Error, Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        /// The provider answered with this HTTP status.
        case status(Int)
        /// No answer (or no complete answer) within the timeout.
        case timeout
        /// The connection could not be made.
        case connect
        /// The provider answered 2xx with something that is not its wire format.
        case invalidResponse
        /// A stream ended without its terminator, or broke mid-way.
        case streamInterrupted
        /// The provider cannot do what was asked (embeddings on a chat-only API, ...).
        case unsupported
    }

    package var kind: Kind
    package var provider: String
    /// Our own description of the failure.
    package var detail: String
    /// The provider's error `type` and `code`, when they are short identifiers.
    package var errorType: String?
    package var errorCode: String?
    package var retryAfterSeconds: Int?

    package init(
        _ kind: Kind,
        provider: String,
        detail: String,
        errorType: String? = nil,
        errorCode: String? = nil,
        retryAfterSeconds: Int? = nil
    ) {
        self.kind = kind
        self.provider = provider
        self.detail = detail
        self.errorType = errorType.flatMap(Self.known)
        self.errorCode = errorCode.flatMap(Self.known)
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Whether another attempt (same or other target) may succeed.
    package var isRetryable: Bool {
        switch kind {
        case .timeout, .connect, .invalidResponse, .streamInterrupted: return true
        case .status(let status): return status == 408 || status == 409 || status == 429 || status >= 500
        case .unsupported: return false
        }
    }

    /// The target itself cannot serve this (credentials rejected, model unknown there): another
    /// target may, but retrying this one will not help.
    package var isTargetSpecific: Bool {
        guard case .status(let status) = kind else { return false }
        return status == 401 || status == 403 || status == 404
    }

    /// The provider said the prompt does not fit the model's context window.
    package var isContextWindowExceeded: Bool {
        guard case .status(let status) = kind, status == 400 || status == 413 else { return false }
        let markers = ["context_length_exceeded", "context_window_exceeded", "string_above_max_length", "prompt_too_long"]
        return markers.contains(errorCode ?? "") || markers.contains(errorType ?? "")
    }

    /// An upstream's error type or code if it is one the gateway knows, else `nil`.
    ///
    /// Only known identifiers (and short numeric codes) are passed on into messages, the health
    /// report and the log: an upstream that echoes its own credential, or anything else, as its
    /// error "type" has that string dropped, not quoted.
    package static func known(_ value: String) -> String? {
        if knownCodes.contains(value) { return value }
        if (1...6).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return value }
        return nil
    }

    /// Error types and codes of OpenAI (and compatible servers), Azure, Anthropic, Gemini
    /// (google.rpc status names and ErrorInfo reasons) and Bedrock, as their docs list them.
    static let knownCodes: Set<String> = [
        // OpenAI, Azure and compatible servers
        "invalid_request_error", "authentication_error", "permission_error", "not_found_error", "rate_limit_error",
        "server_error", "api_error", "insufficient_quota", "invalid_api_key", "model_not_found", "context_length_exceeded",
        "string_above_max_length", "rate_limit_exceeded", "billing_hard_limit_reached", "unsupported_parameter",
        "unsupported_value", "invalid_value", "invalid_type", "missing_required_parameter", "content_filter",
        "content_policy_violation", "engine_overloaded", "server_overloaded", "timeout", "invalid_prompt", "tokens",
        "requests", "account_deactivated", "organization_deactivated", "access_terminated", "quota_exceeded",
        "DeploymentNotFound", "InvalidRequest", "OperationNotSupported", "ResponsibleAIPolicyViolation", "Unauthorized",
        "invalid_organization", "unknown_url", "not_found", "context_window_exceeded", "overloaded",
        // Anthropic
        "overloaded_error", "request_too_large", "billing_error", "timeout_error", "prompt_too_long",
        // Gemini (google.rpc.Code names, ErrorInfo reasons) and the gateway's own
        "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND",
        "ABORTED", "ALREADY_EXISTS", "RESOURCE_EXHAUSTED", "CANCELLED", "DATA_LOSS", "UNKNOWN", "INTERNAL",
        "NOT_IMPLEMENTED", "UNIMPLEMENTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "API_KEY_INVALID", "API_KEY_EXPIRED",
        "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED", "RATE_LIMIT_EXCEEDED", "PROMPT_BLOCKED", "SAFETY", "RECITATION",
        "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "OTHER", "MAX_TOKENS",
        // Bedrock
        "ThrottlingException", "ValidationException", "AccessDeniedException", "ResourceNotFoundException",
        "ModelTimeoutException", "ServiceUnavailableException", "InternalServerException", "ModelErrorException",
        "ModelNotReadyException", "ServiceQuotaExceededException", "UnrecognizedClientException", "ExpiredTokenException",
        "IncompleteSignatureException", "InvalidSignatureException", "ModelStreamErrorException", "ConflictException",
        "SignatureDoesNotMatch", "internalServerException", "modelStreamErrorException", "throttlingException",
        "validationException", "serviceUnavailableException",
    ]
}

extension UpstreamError {
    /// What the client is told, per DESIGN §5: the status and error type may be named, the body never.
    package var gatewayError: GatewayError {
        var qualifiers: [String] = []
        if let errorType { qualifiers.append(errorType) }
        if let errorCode, errorCode != errorType { qualifiers.append(errorCode) }
        switch kind {
        case .status(let status):
            let suffix = qualifiers.isEmpty ? "" : ", " + qualifiers.joined(separator: ", ")
            switch status {
            case 401, 403:
                return GatewayError(
                    .upstreamError,
                    "Provider `\(provider)` rejected the gateway's credentials (HTTP \(status)\(suffix)); check the provider's key or credentials in the config.",
                    provider: provider
                )
            case 404:
                return GatewayError(
                    .modelNotFound,
                    "Provider `\(provider)` does not know the requested model or endpoint (HTTP 404\(suffix)).",
                    provider: provider
                )
            case 408:
                return GatewayError(.upstreamTimeout, "Provider `\(provider)` timed out (HTTP 408).", provider: provider)
            case 429:
                return GatewayError(
                    .rateLimitExceeded,
                    "Provider `\(provider)` is rate limiting the gateway (HTTP 429\(suffix)); retry later.",
                    provider: provider,
                    retryAfterSeconds: retryAfterSeconds ?? 1
                )
            case 400..<500:
                return GatewayError(
                    .validationError,
                    "Provider `\(provider)` rejected the request (HTTP \(status)\(suffix)).",
                    provider: provider
                )
            default:
                return GatewayError(
                    .upstreamError,
                    "Provider `\(provider)` failed (HTTP \(status)\(suffix)).",
                    provider: provider
                )
            }
        case .timeout:
            return GatewayError(.upstreamTimeout, "Provider `\(provider)` did not answer in time: \(detail).", provider: provider)
        case .connect:
            return GatewayError(.upstreamError, "Provider `\(provider)` could not be reached: \(detail).", provider: provider)
        case .invalidResponse:
            return GatewayError(.upstreamError, "Provider `\(provider)` sent an invalid response: \(detail).", provider: provider)
        case .streamInterrupted:
            let reported = qualifiers.isEmpty ? "" : " (\(qualifiers.joined(separator: ", ")))"
            return GatewayError(.upstreamError, "Provider `\(provider)` stream broke off: \(detail)\(reported).", provider: provider)
        case .unsupported:
            return GatewayError(.validationError, "Provider `\(provider)` cannot do this: \(detail).", provider: provider)
        }
    }
}
