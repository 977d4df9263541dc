import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The OpenAI-compatible front door: chat completions, embeddings, models.
struct OpenAIController: Sendable {
    typealias Context = GatewayRequestContext

    let gateway: Gateway
    let meter: CallMeter
    let bodyReader: RequestBodyReader
    let startedAt: Int

    /// Model calls: behind `call_models`.
    func addCallRoutes(to group: RouterGroup<Context>) {
        group.post("chat/completions", use: chatCompletions)
        group.post("embeddings", use: embeddings)
    }

    /// The model list: any authenticated caller (each sees only the models it may use).
    func addModelRoutes(to group: RouterGroup<Context>) {
        group.get("models", use: listModels)
        group.get("models/**", use: getModel)
    }

    @Sendable func chatCompletions(request: Request, context: Context) async throws -> Response {
        var (chat, data) = try await bodyReader.decodeKeepingBody(ChatRequest.self, from: request)
        let body = meter.body(data)
        var admission: Governor.Admission?
        do {
            try ChatValidation.validate(chat)
            if chat.model.isEmpty {
                chat.model = try Self.modelForCategory(of: chat, request: request, catalog: gateway.catalog)
            }
            let admitted = try await meter.admit(
                model: chat.model, messages: chat.messages, maxTokens: chat.maxCompletionTokens ?? chat.maxTokens,
                choices: chat.choiceCount, context: context
            )
            admission = admitted
            if chat.stream {
                return try await stream(chat, admission: admitted, body: body, context: context)
            }
            let result = try await gateway.chat(chat, requestID: context.requestID, logger: context.logger)
            // An OpenAI-format provider's answer goes out as it came; others are encoded.
            let verbatim = result.response.upstreamBody
            let data = verbatim.isEmpty ? Array(try Self.encode(result.response)) : verbatim.bytes
            var response = Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data))
            )
            meter.served(
                &response, admission: admitted, endpoint: "chat", model: chat.model, servedBy: result.servedBy,
                usage: result.usage, estimated: result.usageEstimated, elapsed: ContinuousClock.now - context.start,
                context: context, body: body, answer: meter.answer(String(decoding: data, as: UTF8.self))
            )
            return response
        } catch let error as GatewayError {
            meter.failed(error, admission: admission, endpoint: "chat", model: chat.model, stream: chat.stream, context: context, body: body)
            throw error
        }
    }

    private func stream(_ chat: ChatRequest, admission: Governor.Admission, body: String?, context: Context) async throws -> Response {
        let result = try await gateway.streamChat(chat, requestID: context.requestID, logger: context.logger)
        let accepted = ContinuousClock.now - context.start
        var headers: HTTPFields = [
            .contentType: "text/event-stream",
            .cacheControl: "no-cache",
            .accelBuffering: "no",
        ]
        Self.addRoutingHeaders(&headers, servedBy: result.servedBy, elapsed: accepted)
        meter.addRateHeaders(&headers, admission.rate)
        let relay = StreamRelay(
            stream: result.stream,
            ledger: meter.ledger(servedBy: result.servedBy, request: chat, admission: admission, context: context, body: body),
            logger: context.logger
        )
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await relay.run(&writer)
        })
    }

    @Sendable func embeddings(request: Request, context: Context) async throws -> Response {
        let (embeddings, data) = try await bodyReader.decodeKeepingBody(EmbeddingsRequest.self, from: request)
        let body = meter.body(data)
        var admission: Governor.Admission?
        do {
            if embeddings.input.count == 0 {
                throw GatewayError.validation("`input` must not be empty.", param: "input")
            }
            if let dimensions = embeddings.dimensions, !(1...16_384).contains(dimensions) {
                throw GatewayError.validation("`dimensions` must be between 1 and 16384, not \(dimensions).", param: "dimensions")
            }
            let admitted = try await meter.admit(
                model: embeddings.model, promptTokens: embeddings.input.estimatedTokens,
                context: context
            )
            admission = admitted
            let result = try await gateway.embeddings(embeddings, requestID: context.requestID, logger: context.logger)
            let data = try Self.encode(result.response)
            var response = Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: data))
            )
            let tokens = result.response.usage?.promptTokens ?? 0
            meter.served(
                &response, admission: admitted, endpoint: "embeddings", model: embeddings.model, servedBy: result.servedBy,
                usage: Usage(promptTokens: tokens, completionTokens: 0), estimated: result.response.usage == nil,
                elapsed: ContinuousClock.now - context.start, context: context, body: body, answer: nil
            )
            return response
        } catch let error as GatewayError {
            meter.failed(error, admission: admission, endpoint: "embeddings", model: embeddings.model, stream: false, context: context, body: body)
            throw error
        }
    }

    @Sendable func listModels(request: Request, context: Context) async throws -> Response {
        // A key limited to some models sees only those.
        let allowed = context.principal?.allowedModels ?? []
        let models = gateway.catalog.listModels(created: startedAt).filter { ModelGlob.allows(allowed, model: $0.id) }
        return try Self.json(ModelList(data: models))
    }

    @Sendable func getModel(request: Request, context: Context) async throws -> Response {
        // SDKs send `provider/model` ids with the slash encoded (`fake%2Ffake-model`).
        let id = Self.percentDecoded(context.parameters.getCatchAll().joined(separator: "/"))
        let allowed = context.principal?.allowedModels ?? []
        // A key limited to some models learns of no others, listed or not.
        _ = try gateway.catalog.resolve(id, allowed: allowed)
        guard let info = gateway.catalog.modelInfo(id: id, created: startedAt) else {
            // Anything the router can serve is a model, even if it is not listed.
            return try Self.json(ModelInfo(id: id, created: startedAt, ownedBy: id.split(separator: "/").first.map(String.init) ?? "switchboard"))
        }
        return try Self.json(info)
    }

    static func category(of chat: ChatRequest, request: Request) -> String? {
        if let header = request.headers[.switchboardCategory] { return header }
        return chat.gatewayExtensions["metadata"]?["category"]?.stringValue
    }

    /// The model `routing.categories` names for the request's category, when the client named no model.
    static func modelForCategory(of chat: ChatRequest, request: Request, catalog: ModelCatalog) throws(GatewayError) -> String {
        guard let category = category(of: chat, request: request) else {
            throw GatewayError.validation("Missing required field `model`.", param: "model")
        }
        guard let model = catalog.model(forCategory: category) else {
            let known = catalog.categoryNames
            throw GatewayError.validation(
                "Unknown routing category `\(category)`"
                    + (known.isEmpty ? "; no categories are configured." : "; configured: \(known.joined(separator: ", ")).")
                    + " Name a `model` or a configured category.",
                param: "model"
            )
        }
        return model
    }

    static func addRoutingHeaders(_ headers: inout HTTPFields, servedBy: ServedBy, elapsed: Duration) {
        headers[.switchboardProvider] = servedBy.provider
        headers[.switchboardModel] = servedBy.model
        headers[.switchboardLatency] = formatMilliseconds(elapsed.milliseconds)
        headers[.switchboardOverhead] = formatMilliseconds(max(0, (elapsed - servedBy.upstreamDuration).milliseconds))
        headers[.switchboardAttempts] = String(servedBy.attempts)
        if !servedBy.droppedParameters.isEmpty {
            headers[.switchboardDroppedParams] = servedBy.droppedParameters.joined(separator: ",")
        }
    }

    /// Decodes `%XX` escapes; anything malformed is kept as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func formatMilliseconds(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func encode<T: Encodable>(_ value: T) throws(GatewayError) -> Data {
        do {
            return try JSONCoding.encode(value)
        } catch {
            throw GatewayError(.internalError, "The response could not be encoded.")
        }
    }

    static func json<T: Encodable>(_ value: T) throws(GatewayError) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encode(value)))
        )
    }
}
