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
        var call = try ResponsesInbound.call(from: wire, defaultMaxTokens: defaultMaxTokens, now: Date().timeIntervalSince1970)
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
        } else {
            if wire.previousResponseID != nil || wire.conversation != nil {
                throw GatewayError.validation(
                    "`store: false` responses are not kept, so they cannot continue a stored one here: send the whole input, or store this response.",
                    param: wire.previousResponseID != nil ? "previous_response_id" : "conversation"
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
        return chat
    }

    func model(of wire: Responses.Request) -> String { wire.model ?? "" }

    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
        let echo = try Self.echo(of: call)
        return try JSONBody.encode(ResponsesOutbound.object(id: Self.responseID(echo: echo, note: answer.notes.conversation), answer: answer, echo: echo))
    }

    func chunkEncoder(for stream: CallStream, call: ModelCall) -> ResponsesChunkEncoder {
        let echo = (try? Self.echo(of: call)) ?? Self.fallbackEcho
        return ResponsesChunkEncoder(
            id: Self.responseID(echo: echo, note: stream.notes.conversation), model: stream.servedBy.model, echo: echo,
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
