import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// `POST /v1/embeddings`: OpenAI's embeddings, for every provider that embeds.
struct EmbeddingsEndpoint: Sendable {
    let pipeline: CallPipeline
    let bodyReader: RequestBodyReader

    @Sendable func handle(request: Request, context: AuthenticatedContext) async throws -> Response {
        let (embeddings, data) = try await bodyReader.decodeKeepingBody(EmbeddingsRequest.self, from: request)
        let call = ModelCall(.embeddings(embeddings), context: context.callContext(body: data))
        do throws(GatewayError) {
            try Self.validate(embeddings)
        } catch {
            pipeline.refuse(call, error)
            throw error
        }
        let answer = try await pipeline.embeddings(call)
        var response = try JSONBody.response(answer.response)
        CallHeaders.served(&response.headers, servedBy: answer.servedBy, cost: answer.cost, notes: answer.notes, elapsed: .now - context.start)
        return response
    }

    static func validate(_ embeddings: EmbeddingsRequest) throws(GatewayError) {
        if embeddings.input.count == 0 {
            throw GatewayError.validation("`input` must not be empty.", param: "input")
        }
        if let dimensions = embeddings.dimensions, !(1...16_384).contains(dimensions) {
            throw GatewayError.validation("`dimensions` must be between 1 and 16384, not \(dimensions).", param: "dimensions")
        }
    }
}
