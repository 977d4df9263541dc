import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardProviders

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Anthropic-compatible front door: `POST /v1/messages` (and `count_tokens`) for any provider
/// behind the gateway. Requests and answers are Anthropic-shaped; errors too (rendered by
/// ``ObservabilityMiddleware`` for these paths).
struct AnthropicController: Sendable {
    typealias Context = GatewayRequestContext

    let gateway: Gateway
    let bodyReader: RequestBodyReader
    let defaultMaxTokens: Int

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("messages", use: messages)
        group.post("messages/count_tokens", use: countTokens)
    }

    @Sendable func messages(request: Request, context: Context) async throws -> Response {
        let wire = try await bodyReader.decode(Anthropic.Request.self, from: request)
        var chat = AnthropicTranslation.coreRequest(from: wire)
        let principal = context.principal ?? .anonymous
        do {
            try validate(wire, chat)
            if chat.maxTokens == nil { chat.maxTokens = defaultMaxTokens }
            if chat.stream {
                return try await stream(chat, principal: principal, context: context)
            }
            let result = try await gateway.chat(chat, requestID: context.requestID, logger: context.logger)
            let answer = AnthropicTranslation.anthropicResponse(from: result.response, usage: result.usage, fallbackID: context.requestID)
            var response = try OpenAIController.json(answer)
            let elapsed = ContinuousClock.now - context.start
            OpenAIController.addRoutingHeaders(&response.headers, servedBy: result.servedBy, elapsed: elapsed)
            gateway.complete(
                RequestRecord(
                    requestID: context.requestID,
                    timestamp: Date().timeIntervalSince1970,
                    principal: principal.id,
                    endpoint: "chat",
                    modelRequested: chat.model,
                    provider: result.servedBy.provider,
                    modelServed: result.servedBy.model,
                    status: 200,
                    promptTokens: result.usage.promptTokens,
                    completionTokens: result.usage.completionTokens,
                    usageEstimated: result.usageEstimated,
                    latencyMilliseconds: elapsed.milliseconds,
                    upstreamMilliseconds: result.servedBy.upstreamDuration.milliseconds,
                    attempts: result.servedBy.attempts
                )
            )
            return response
        } catch let error as GatewayError {
            gateway.complete(
                RequestRecord(
                    requestID: context.requestID,
                    timestamp: Date().timeIntervalSince1970,
                    principal: principal.id,
                    endpoint: "chat",
                    modelRequested: chat.model,
                    provider: error.provider,
                    status: error.status,
                    errorCode: error.code.rawValue,
                    latencyMilliseconds: (ContinuousClock.now - context.start).milliseconds,
                    stream: chat.stream
                )
            )
            throw error
        }
    }

    private func validate(_ wire: Anthropic.Request, _ chat: ChatRequest) throws(GatewayError) {
        guard !wire.messages.isEmpty else {
            throw GatewayError.validation("`messages` must contain at least one message.", param: "messages")
        }
        for (index, message) in wire.messages.enumerated() where message.role != "user" && message.role != "assistant" {
            throw GatewayError.validation(
                "`messages[\(index)].role` must be `user` or `assistant`, not `\(message.role)`; put system text in `system`.",
                param: "messages[\(index)].role"
            )
        }
        if let maxTokens = wire.maxTokens, maxTokens < 1 {
            throw GatewayError.validation("`max_tokens` must be at least 1.", param: "max_tokens")
        }
        if let temperature = wire.temperature, !(0...2).contains(temperature) {
            throw GatewayError.validation("`temperature` must be between 0 and 2.", param: "temperature")
        }
        if chat.model.isEmpty {
            throw GatewayError.validation("`model` must not be empty.", param: "model")
        }
    }

    private func stream(_ chat: ChatRequest, principal: Principal, context: Context) async throws -> Response {
        let result = try await gateway.streamChat(chat, requestID: context.requestID, logger: context.logger)
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        OpenAIController.addRoutingHeaders(&headers, servedBy: result.servedBy, elapsed: ContinuousClock.now - context.start)
        let relay = AnthropicStreamRelay(
            gateway: gateway,
            stream: result.stream,
            servedBy: result.servedBy,
            request: chat,
            requestID: context.requestID,
            principal: principal.id,
            start: context.start,
            logger: context.logger
        )
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await relay.run(&writer)
        })
    }

    struct TokenCount: Encodable {
        var input_tokens: Int
    }

    /// Counts with the provider when it can (Anthropic); otherwise estimates and says so.
    @Sendable func countTokens(request: Request, context: Context) async throws -> Response {
        let wire = try await bodyReader.decode(Anthropic.Request.self, from: request)
        let route = try gateway.catalog.resolve(wire.model)
        if let target = route.targets.first, let anthropic = target.provider as? AnthropicAdapter {
            var upstream = wire
            upstream.model = target.model
            do {
                let count = try await anthropic.countTokens(
                    upstream, call: UpstreamCall(requestID: context.requestID, timeout: route.timeout, logger: context.logger)
                )
                var response = try OpenAIController.json(TokenCount(input_tokens: count))
                response.headers[.switchboardProvider] = target.provider.name
                return response
            } catch let error as UpstreamError {
                throw error.gatewayError
            }
        }
        let core = AnthropicTranslation.coreRequest(from: wire)
        var estimate = TokenEstimator.estimatePrompt(core.messages)
        for tool in core.tools ?? [] {
            estimate += TokenEstimator.estimate(tool.function.name) + TokenEstimator.estimate(AnthropicTranslation.jsonText(tool.function.parameters ?? [:]))
        }
        var response = try OpenAIController.json(TokenCount(input_tokens: estimate))
        response.headers[HTTPField.Name("X-Switchboard-Token-Count")!] = "estimated"
        return response
    }
}

/// Forwards a core chunk stream as Anthropic's SSE events, and accounts for it like ``StreamRelay``.
struct AnthropicStreamRelay: Sendable {
    let gateway: Gateway
    let stream: ChatStream
    let servedBy: ServedBy
    let request: ChatRequest
    let requestID: String
    let principal: String
    let start: ContinuousClock.Instant
    let logger: Logger

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var events = AnthropicEventEncoder(
            id: "msg_" + requestID, model: servedBy.model, inputEstimate: TokenEstimator.estimatePrompt(request.messages)
        )
        var tally = StreamTally(request: request)
        var status = 499
        var code: String?
        gateway.metrics.streamOpened()
        defer {
            gateway.metrics.streamClosed()
            let usage = tally.usage
            gateway.complete(
                RequestRecord(
                    requestID: requestID,
                    timestamp: Date().timeIntervalSince1970,
                    principal: principal,
                    endpoint: "chat",
                    modelRequested: request.model,
                    provider: servedBy.provider,
                    modelServed: servedBy.model,
                    status: status,
                    errorCode: code,
                    promptTokens: usage.promptTokens,
                    completionTokens: usage.completionTokens,
                    usageEstimated: tally.reportedUsage == nil,
                    latencyMilliseconds: (ContinuousClock.now - start).milliseconds,
                    upstreamMilliseconds: servedBy.upstreamDuration.milliseconds,
                    attempts: servedBy.attempts,
                    stream: true
                )
            )
        }
        var iterator = stream.makeAsyncIterator()
        while true {
            let next: ChatChunk?
            do {
                next = try await iterator.next()
            } catch {
                let failure = StreamRelay.gatewayError(error)
                status = failure.status
                code = failure.code.rawValue
                gateway.metrics.error(code: failure.code.rawValue)
                let body = AnthropicErrorRendering.body(failure)
                try await writer.write(Self.event(name: "error", data: body, encoder: encoder))
                try await writer.finish(nil)
                return
            }
            guard let chunk = next else { break }
            tally.observe(chunk)
            for event in events.encode(chunk) {
                try await writer.write(Self.event(name: event.name, data: event.data, encoder: encoder))
            }
        }
        for event in events.finish() {
            try await writer.write(Self.event(name: event.name, data: event.data, encoder: encoder))
        }
        status = 200
        try await writer.finish(nil)
    }

    static func event<Body: Encodable>(name: String, data: Body, encoder: JSONEncoder) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("event: \(name)\ndata: ")
        buffer.writeBytes(try encoder.encode(data))
        buffer.writeString("\n\n")
        return buffer
    }
}

/// GatewayError in Anthropic's error shape.
enum AnthropicErrorRendering {
    static func type(of code: GatewayError.Code) -> String {
        switch code {
        case .validationError: return "invalid_request_error"
        case .authenticationError: return "authentication_error"
        case .permissionDenied: return "permission_error"
        case .modelNotFound: return "not_found_error"
        case .rateLimitExceeded, .budgetExceeded: return "rate_limit_error"
        case .upstreamError, .upstreamTimeout, .internalError: return "api_error"
        }
    }

    static func body(_ error: GatewayError) -> Anthropic.ErrorBody {
        Anthropic.ErrorBody(type: type(of: error.code), message: error.message)
    }
}
