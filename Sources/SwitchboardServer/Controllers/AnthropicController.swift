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
    let meter: CallMeter
    let bodyReader: RequestBodyReader
    let defaultMaxTokens: Int

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("messages", use: messages)
        group.post("messages/count_tokens", use: countTokens)
    }

    @Sendable func messages(request: Request, context: Context) async throws -> Response {
        let (wire, data) = try await bodyReader.decodeKeepingBody(Anthropic.Request.self, from: request)
        let body = meter.body(data)
        var chat = AnthropicTranslation.coreRequest(from: wire)
        var admission: Governor.Admission?
        do {
            try validate(wire, chat)
            if chat.maxTokens == nil { chat.maxTokens = defaultMaxTokens }
            let admitted = try await meter.admit(model: chat.model, messages: chat.messages, maxTokens: chat.maxTokens, context: context)
            admission = admitted
            if chat.stream {
                return try await stream(chat, admission: admitted, body: body, context: context)
            }
            let result = try await gateway.chat(chat, requestID: context.requestID, logger: context.logger)
            let answer = AnthropicTranslation.anthropicResponse(from: result.response, usage: result.usage, fallbackID: context.requestID)
            var response = try OpenAIController.json(answer)
            meter.served(
                &response, admission: admitted, endpoint: "chat", model: chat.model, servedBy: result.servedBy,
                usage: result.usage, estimated: result.usageEstimated, elapsed: ContinuousClock.now - context.start,
                context: context, body: body, answer: meter.answer(result.response.choices.first?.message.content?.text ?? "")
            )
            return response
        } catch let error as GatewayError {
            meter.failed(error, admission: admission, endpoint: "chat", model: chat.model, stream: chat.stream, context: context, body: body)
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

    private func stream(_ chat: ChatRequest, admission: Governor.Admission, body: String?, context: Context) async throws -> Response {
        let result = try await gateway.streamChat(chat, requestID: context.requestID, logger: context.logger)
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        OpenAIController.addRoutingHeaders(&headers, servedBy: result.servedBy, elapsed: ContinuousClock.now - context.start)
        meter.addRateHeaders(&headers, admission.rate)
        let relay = AnthropicStreamRelay(
            stream: result.stream,
            ledger: meter.ledger(servedBy: result.servedBy, request: chat, admission: admission, context: context, body: body),
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
    ///
    /// Governed like any model call (the route needs `call_models`; the key's models, RPM and
    /// the request log apply), since the provider is called.
    @Sendable func countTokens(request: Request, context: Context) async throws -> Response {
        let (wire, data) = try await bodyReader.decodeKeepingBody(Anthropic.Request.self, from: request)
        let body = meter.body(data)
        var admission: Governor.Admission?
        do {
            if wire.model.isEmpty {
                throw GatewayError.validation("`model` must not be empty.", param: "model")
            }
            let admitted = try await meter.admit(model: wire.model, promptTokens: 0, context: context)
            admission = admitted
            let route = try gateway.catalog.resolve(wire.model)
            guard let target = route.targets.first else {
                throw GatewayError(.upstreamError, "No provider is configured to serve `\(wire.model)`.")
            }
            var response: Response
            var upstreamTime = Duration.zero
            if let counter = target.provider as? any TokenCounting {
                var upstream = wire
                upstream.model = target.model
                let started = ContinuousClock.now
                do {
                    let count = try await counter.countTokens(
                        upstream, call: UpstreamCall(requestID: context.requestID, timeout: route.timeout, logger: context.logger)
                    )
                    upstreamTime = ContinuousClock.now - started
                    response = try OpenAIController.json(TokenCount(input_tokens: count))
                } catch let error as UpstreamError {
                    var failure = gateway.scrubber.scrub(error.gatewayError)
                    failure.provider = target.provider.name
                    throw failure
                }
            } else {
                let core = AnthropicTranslation.coreRequest(from: wire)
                var estimate = TokenEstimator.estimatePrompt(core.messages)
                for tool in core.tools ?? [] {
                    estimate += TokenEstimator.estimate(tool.function.name)
                        + TokenEstimator.estimate(AnthropicTranslation.jsonText(tool.function.parameters ?? [:]))
                }
                response = try OpenAIController.json(TokenCount(input_tokens: estimate))
                response.headers[.switchboardTokenCount] = "estimated"
            }
            meter.served(
                &response, admission: admitted, endpoint: "count_tokens", model: wire.model,
                servedBy: ServedBy(provider: target.provider.name, model: target.model, upstreamDuration: upstreamTime, attempts: 1),
                usage: Usage(promptTokens: 0, completionTokens: 0), estimated: false,
                elapsed: ContinuousClock.now - context.start, context: context, body: body, answer: nil
            )
            return response
        } catch let error as GatewayError {
            meter.failed(error, admission: admission, endpoint: "count_tokens", model: wire.model, stream: false, context: context, body: body)
            throw error
        }
    }
}

/// Forwards a core chunk stream as Anthropic's SSE events, and accounts for it like ``StreamRelay``.
struct AnthropicStreamRelay: Sendable {
    let stream: ChatStream
    let ledger: StreamLedger
    let logger: Logger

    private var gateway: Gateway { ledger.gateway }

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var events = AnthropicEventEncoder(
            id: "msg_" + ledger.requestID, model: ledger.servedBy.model,
            inputEstimate: TokenEstimator.estimatePrompt(ledger.request.messages)
        )
        var tally = ledger.makeTally()
        var status = 499
        var code: String?
        gateway.metrics.streamOpened()
        defer {
            gateway.metrics.streamClosed()
            ledger.record(status: status, errorCode: code, tally: tally)
        }
        var iterator = stream.makeAsyncIterator()
        while true {
            let next: ChatChunk?
            do {
                next = try await iterator.next()
            } catch {
                let failure = gateway.scrubber.scrub(StreamRelay.gatewayError(error))
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
