import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One wire API for chat (OpenAI chat completions, Anthropic messages, `/v1/chat`): a decoder
/// from its request to a core ``ChatRequest`` and encoders for answers and stream chunks. It
/// holds no call logic: ``ChatEndpoint`` hands the call to the ``CallPipeline``.
///
/// Adding a front door is a folder with a type conforming to this (and its chunk encoder) and
/// one line in `buildGateway`:
///
/// ```swift
/// struct EchoDoor: ChatFrontDoor {
///     struct Wire: Decodable { var model: String; var prompt: String }
///     func chatRequest(from wire: Wire, request: Request) throws(GatewayError) -> ChatRequest {
///         ChatRequest(model: wire.model, messages: [ChatMessage(role: .user, content: .text(wire.prompt))])
///     }
///     func model(of wire: Wire) -> String { wire.model }
///     func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer {
///         ByteBuffer(string: answer.response.choices.first?.message.content?.text ?? "")
///     }
///     func chunkEncoder(for stream: CallStream, call: ModelCall) -> OpenAIChunkEncoder { OpenAIChunkEncoder(stream: stream) }
/// }
/// ```
protocol ChatFrontDoor: Sendable {
    associatedtype Wire: Decodable
    associatedtype Chunks: ChunkEncoder

    /// The wire request as a core request; throws `VALIDATION_ERROR` for what decoding alone cannot catch.
    func chatRequest(from wire: Wire, request: Request) throws(GatewayError) -> ChatRequest
    /// The same, for a door that also keeps the body as it came (the Responses door, for native upstreams).
    func chatRequest(from wire: Wire, request: Request, body: Data) throws(GatewayError) -> ChatRequest
    /// The model the wire request names, for the ledger row of a request refused at the door.
    func model(of wire: Wire) -> String
    /// A non-streamed answer's JSON body.
    func encode(_ answer: ChatAnswer, call: ModelCall) throws(GatewayError) -> ByteBuffer
    /// The encoder of one streamed answer.
    func chunkEncoder(for stream: CallStream, call: ModelCall) -> Chunks
    /// The error as this door's clients see it (the simple contract names the asked provider).
    func adjust(_ error: GatewayError, wire: Wire?) -> GatewayError
}

extension ChatFrontDoor {
    func adjust(_ error: GatewayError, wire: Wire?) -> GatewayError { error }
    func chatRequest(from wire: Wire, request: Request, body: Data) throws(GatewayError) -> ChatRequest {
        try chatRequest(from: wire, request: request)
    }
}

/// Serves a ``ChatFrontDoor``: reads and decodes the body, runs the call through the pipeline,
/// and writes the answer (JSON, or SSE through the ``StreamRelay``).
struct ChatEndpoint<Door: ChatFrontDoor>: Sendable {
    let door: Door
    let pipeline: CallPipeline
    let bodyReader: RequestBodyReader
    /// How long after the stop signal an open stream may still run (``StreamRelay``).
    var shutdownCut: Duration = .seconds(28)

    @Sendable func handle(request: Request, context: AuthenticatedContext) async throws -> Response {
        let decoded: Door.Wire
        let data: Data
        do throws(GatewayError) {
            (decoded, data) = try await bodyReader.decodeKeepingBody(Door.Wire.self, from: request)
        } catch {
            throw door.adjust(error, wire: nil)
        }
        return try await serve(decoded, body: data, request: request, context: context)
    }

    /// Serves a request whose body was read and decoded already.
    func serve(_ decoded: Door.Wire, body data: Data, request: Request, context: AuthenticatedContext) async throws -> Response {
        let wire: Door.Wire? = decoded
        do throws(GatewayError) {
            let chat: ChatRequest
            do throws(GatewayError) {
                chat = try door.chatRequest(from: decoded, request: request, body: data)
            } catch {
                // Refused at the door, but still a call on the record.
                let model = ChatRequest(model: door.model(of: decoded), messages: [])
                pipeline.refuse(ModelCall(.chat(model), context: context.callContext(body: data)), error)
                throw error
            }
            let call = ModelCall(
                .chat(chat), context: context.callContext(body: data, cacheControls: CallHeaders.cacheControls(request.headers)), stream: chat.stream
            )
            return try await respond(to: call, context: context)
        } catch {
            throw door.adjust(error, wire: wire)
        }
    }

    /// Runs a decoded call through the pipeline and writes its answer: JSON, or (for a
    /// streamed call) SSE through the ``StreamRelay``. Conversation endpoints that make calls
    /// of their own (regenerate, an answered edit) answer through this too.
    func respond(to call: ModelCall, context: AuthenticatedContext) async throws(GatewayError) -> Response {
        if call.stream {
            let stream = try await pipeline.stream(call)
            var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache", .accelBuffering: "no"]
            CallHeaders.routing(&headers, servedBy: stream.servedBy, elapsed: .now - context.start)
            CallHeaders.rateLimit(&headers, stream.notes.rateLimit)
            CallHeaders.cache(&headers, stream.notes.cache)
            CallHeaders.conversation(&headers, stream.notes.conversation)
            let relay = StreamRelay(
                stream: stream, encoder: door.chunkEncoder(for: stream, call: call), pipeline: pipeline,
                requestID: context.requestID, logger: context.logger, shutdownCut: shutdownCut
            )
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in try await relay.run(&writer) })
        }
        let answer = try await pipeline.chat(call)
        var response = Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: try door.encode(answer, call: call)))
        CallHeaders.served(&response.headers, answer: answer, elapsed: .now - context.start)
        return response
    }
}
