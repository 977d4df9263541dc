import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/responses`: OpenAI's Responses API for every provider, bridged through the core
/// chat request. A stored response (`store`, the default) is a turn of a stored conversation:
/// its input items and its answer are messages of that conversation's tree, the response id is
/// the answer's (`resp_` + message id), and `previous_response_id` continues from that message —
/// two requests continuing one response make sibling branches.
struct ResponsesDoor: ChatFrontDoor {
    let catalog: ModelCatalog
    let defaultMaxTokens: Int

    func chatRequest(from wire: Responses.Request, request: Request) throws(GatewayError) -> ChatRequest {
        try chatRequest(from: wire, request: request, body: Data())
    }

    func chatRequest(from wire: Responses.Request, request: Request, body: Data) throws(GatewayError) -> ChatRequest {
        var call = try ResponsesInbound.call(from: wire, defaultMaxTokens: defaultMaxTokens, now: Date().timeIntervalSince1970)
        if call.echo.store, let part = call.nativeOnly.first(where: { $0.param.hasPrefix("input") }) {
            throw GatewayError.validation("`\(part.param)`: \(part.name) cannot be stored here; send it with `store: false`.", param: part.param)
        }
        var chat = call.chat
        if call.echo.store {
            var turn = ConversationTurn(conversationID: wire.conversation?.id, newMessages: call.input)
            if let previous = wire.previousResponseID {
                guard let messageID = ResponsesOutbound.messageID(forResponse: previous) else {
                    throw GatewayError(.notFound, "Previous response with id '\(previous)' not found.", param: "previous_response_id")
                }
                turn.parentMessageID = messageID
                turn.continuesResponse = true
            }
            turn.instructions = wire.instructions
            turn.refusesOverflow = call.echo.truncation == "disabled"
            turn.record = try Self.value(call.echo)
            chat.messages = call.input
            chat.gatewayExtensions.conversation = turn
        } else if let previous = wire.previousResponseID {
            // Continues a stored response; this one is not kept.
            guard let messageID = ResponsesOutbound.messageID(forResponse: previous) else {
                throw GatewayError(.notFound, "Previous response with id '\(previous)' not found.", param: "previous_response_id")
            }
            var turn = ConversationTurn(newMessages: call.input)
            turn.parentMessageID = messageID
            turn.continuesResponse = true
            turn.readsOnly = true
            turn.instructions = wire.instructions
            turn.refusesOverflow = call.echo.truncation == "disabled"
            chat.messages = call.input
            chat.gatewayExtensions.conversation = turn
            call.echo.id = "resp_" + ConversationIDs.make().replacingOccurrences(of: "-", with: "")
        } else {
            if wire.conversation != nil {
                throw GatewayError.validation(
                    "`store: false` responses are not kept, so they cannot be added to a conversation: store this response, or leave out `conversation`.",
                    param: "conversation"
                )
            }
            if let unanswered = ChatMessage.unansweredToolOutput(in: call.input) {
                throw GatewayError.validation("No tool call found for function call output with call_id `\(unanswered)`.", param: "input")
            }
            chat.messages = try Self.fitted(
                call.input, instructions: wire.instructions, model: chat.model, request: chat, truncation: call.echo.truncation, catalog: catalog
            )
            call.echo.id = "resp_" + ConversationIDs.make().replacingOccurrences(of: "-", with: "")
        }
        chat.gatewayExtensions.responses = try Self.value(call.echo)
        // For an upstream serving `/v1/responses` itself: the body as it came.
        if let object = try? JSONCoding.decode(JSONValue.self, from: body) {
            let chained = call.echo.store || wire.previousResponseID != nil
            chat.gatewayExtensions.nativeResponses = NativeResponses(
                body: object, raw: chained ? .empty : VerbatimBody(Array(body)), inputCount: call.input.count,
                storedHere: call.echo.store, chained: chained, nativeOnly: call.nativeOnly
            )
        } else if !call.nativeOnly.isEmpty {
            throw GatewayError.validation("Built-in tools need the request body as sent.", param: call.nativeOnly[0].param)
        }
        return chat
    }

    func model(of wire: Responses.Request) -> String { wire.model ?? "" }

    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        let echo = try Self.echo(of: call)
        let id = Self.responseID(echo: echo, note: answer.notes.conversation)
        let native = answer.response.object == NativeResponses.answerObject ? answer.response.upstreamBody : .empty
        if !native.isEmpty {
            // Nothing kept here and no stored chain: the upstream's response as it sent it.
            let chained = call.request.chat?.gatewayExtensions.nativeResponses?.chained ?? false
            guard echo.store || chained, case .object(var object)? = try? JSONCoding.decode(JSONValue.self, from: Data(native.bytes)) else {
                return ByteBuffer(bytes: native.bytes)
            }
            if !echo.store {
                // A continuation not stored: the upstream's response, continuing the stored one it was sent in place of.
                object["previous_response_id"] = echo.previousResponseID.map(JSONValue.string) ?? .null
                return try JSONBody.encode(JSONValue.object(object))
            }
            // Stored here: the upstream's response under this gateway's ids and the request's own settings.
            let base = String(id.dropFirst(5))
            object["id"] = .string(id)
            object["output"] = .array(ResponsesOutbound.nativeItems(object["output"]?.arrayValue ?? [], base: base).map(\.item))
            object["store"] = true
            object["previous_response_id"] = echo.previousResponseID.map(JSONValue.string) ?? .null
            object["instructions"] = echo.instructions.map(JSONValue.string) ?? .null
            object["metadata"] = .object(echo.metadata.mapValues(JSONValue.string))
            object["conversation"] = echo.conversationID.map { ["id": .string($0)] } ?? .null
            return try JSONBody.encode(JSONValue.object(object))
        }
        return try JSONBody.encode(ResponsesOutbound.object(id: id, answer: answer, echo: echo))
    }

    func chunkEncoder(for stream: CallStream, call: ModelCall) -> ResponsesChunkEncoder {
        let echo = (try? Self.echo(of: call)) ?? Self.fallbackEcho
        return ResponsesChunkEncoder(
            id: Self.responseID(echo: echo, note: stream.notes.conversation), model: stream.servedBy.model, echo: echo,
            relaysNative: !echo.store && !(call.request.chat?.gatewayExtensions.nativeResponses?.chained ?? false),
            inputEstimate: TokenEstimator.estimatePrompt(call.request.chat?.messages ?? [])
        )
    }

    /// A stored response's id is its answer's; one not stored has its own.
    static func responseID(echo: Responses.Echo, note: ConversationNote?) -> String {
        note.map { ResponsesOutbound.responseID(forMessage: $0.messageID) } ?? echo.id ?? "resp_unknown"
    }

    /// A request not stored, cut to its model's window (`truncation: auto`) or refused over it.
    static func fitted(
        _ input: [ChatMessage], instructions: String?, model: String, request: ChatRequest, truncation: String, catalog: ModelCatalog
    ) throws(GatewayError) -> [ChatMessage] {
        var messages = input
        let system = instructions.map { [ChatMessage(role: .system, content: .text($0))] } ?? []
        let window = catalog.contextWindow(of: model)
        let budget = ConversationStage.promptBudget(window: window, answerTokens: request.maxCompletionTokens, setting: .max)
        if truncation == "disabled" {
            if TokenEstimator.estimatePrompt(system + messages) > budget { throw ConversationStage.overflow(model: model, window: window ?? budget) }
        } else {
            _ = ConversationStage.fit(&messages, system: instructions, maxTokens: budget)
        }
        return system + messages
    }

    static func value(_ echo: Responses.Echo) throws(GatewayError) -> JSONValue {
        do {
            return try JSONValueEncoder().encode(echo)
        } catch {
            throw GatewayError(.internalError, "The response could not be prepared.")
        }
    }

    static func echo(of call: ModelCall) throws(GatewayError) -> Responses.Echo {
        guard let record = call.request.chat?.gatewayExtensions.responses else { return fallbackEcho }
        return try echo(from: record)
    }

    static func echo(from record: JSONValue) throws(GatewayError) -> Responses.Echo {
        do {
            return try JSONCoding.decode(Responses.Echo.self, from: JSONCoding.encode(record))
        } catch {
            throw GatewayError(.internalError, "A stored response could not be read.")
        }
    }

    static let fallbackEcho = Responses.Echo(
        metadata: [:], toolChoice: "auto", tools: [], parallelToolCalls: true, text: ["format": ["type": "text"]],
        reasoning: ["effort": .null, "summary": .null], truncation: "disabled", store: false, inputCount: 0, createdAt: 0
    )
}
