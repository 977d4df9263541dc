public import Logging

/// What an adapter needs to know about the call it is making.
public struct UpstreamCall: Sendable {
    public var requestID: String
    /// The whole upstream exchange must finish within this, stream included.
    public var timeout: Duration
    public var logger: Logger

    public init(requestID: String, timeout: Duration, logger: Logger) {
        self.requestID = requestID
        self.timeout = timeout
        self.logger = logger
    }
}

/// Translates the core vocabulary to one provider's wire format and back.
///
/// The gateway sets `request.model` to the provider's own model id before calling. Adapters
/// throw ``UpstreamError`` for anything the provider did (or failed to do); the gateway decides
/// what the client sees.
public protocol ProviderAdapter: Sendable {
    /// The provider's configured name (`openai`, `groq`, `claude-eu`, ...).
    var name: String { get }
    var type: ProviderType { get }
    /// Model ids listed for this provider in `/v1/models`.
    var knownModels: [String] { get }

    func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse
    /// Opens a stream; returns once the provider has accepted the request (status and headers received).
    func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream
    func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse

    /// Request fields this provider cannot honour (OpenAI names), so the gateway can refuse
    /// them with a clear 400 — or drop them when the provider is configured to.
    func unsupportedParameters(in request: ChatRequest) -> [String]
}

extension ProviderAdapter {
    public func unsupportedParameters(in request: ChatRequest) -> [String] { [] }
}

/// A source of streamed chunks; not shared between tasks.
public protocol ChatChunkSource {
    mutating func next() async throws -> ChatChunk?

    /// The next chunk if it can be had without waiting on the network (the source already
    /// holds the bytes), so callers can skip arming a timeout for it.
    mutating func nextIfReady() throws -> ReadyChunk
}

extension ChatChunkSource {
    public mutating func nextIfReady() throws -> ReadyChunk { .mustWait }
}

/// What ``ChatChunkSource/nextIfReady()`` found.
public enum ReadyChunk {
    case chunk(ChatChunk)
    /// The stream ended cleanly.
    case end
    /// The next chunk has to be awaited with ``ChatChunkSource/next()``.
    case mustWait
}

/// The chunks of one streamed answer, in order.
///
/// Sendable so it can be handed from the handler to the response writer; the iterator it makes
/// is used by one task only. Dropping the iterator before the end cancels the upstream call.
public struct ChatStream: AsyncSequence, Sendable {
    public typealias Element = ChatChunk

    private let makeSource: @Sendable () -> any ChatChunkSource

    public init(_ makeSource: @escaping @Sendable () -> any ChatChunkSource) {
        self.makeSource = makeSource
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: makeSource())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var source: any ChatChunkSource

        public mutating func next() async throws -> ChatChunk? {
            try await source.next()
        }

        public mutating func nextIfReady() throws -> ReadyChunk {
            try source.nextIfReady()
        }
    }
}

/// What went wrong between the gateway and a provider. Never carries the provider's raw body.
public struct UpstreamError: Error, Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
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

    public var kind: Kind
    public var provider: String
    /// Our own description of the failure.
    public var detail: String
    /// The provider's error `type` and `code`, when they are short identifiers.
    public var errorType: String?
    public var errorCode: String?
    public var retryAfterSeconds: Int?

    public init(
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
        self.errorType = errorType.flatMap(Self.identifier)
        self.errorCode = errorCode.flatMap(Self.identifier)
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Whether another attempt (same or other target) may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .timeout, .connect, .invalidResponse, .streamInterrupted: return true
        case .status(let status): return status == 408 || status == 409 || status == 429 || status >= 500
        case .unsupported: return false
        }
    }

    /// The target itself cannot serve this (credentials rejected, model unknown there): another
    /// target may, but retrying this one will not help.
    public var isTargetSpecific: Bool {
        guard case .status(let status) = kind else { return false }
        return status == 401 || status == 403 || status == 404
    }

    /// The provider said the prompt does not fit the model's context window.
    public var isContextWindowExceeded: Bool {
        guard case .status(let status) = kind, status == 400 || status == 413 else { return false }
        let markers = ["context_length_exceeded", "context_window_exceeded", "string_above_max_length", "prompt_too_long"]
        return markers.contains(errorCode ?? "") || markers.contains(errorType ?? "")
    }

    /// Keeps only short identifier-like strings, so nothing of an upstream body leaks through.
    static func identifier(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 64 else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D || byte == 0x2E
        }
        return allowed ? value : nil
    }
}

extension UpstreamError {
    /// What the client is told, per DESIGN §5: the status and error type may be named, the body never.
    public var gatewayError: GatewayError {
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
