import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The unified simple contract of the companion-platform seed: `POST /v1/chat`.
///
/// `{provider?, model, messages, temperature?, top_p?, max_tokens?}` →
/// `{text, provider, model, tokens_in, tokens_out, latency_ms}`; errors as
/// `{"error":{"code","message","provider"}}`.
struct SimpleChatController: Sendable {
    typealias Context = GatewayRequestContext

    let gateway: Gateway
    let meter: CallMeter
    let bodyReader: RequestBodyReader

    struct SimpleChatRequest: Decodable {
        var provider: String?
        var model: String
        var messages: [ChatMessage]
        var temperature: Double?
        var topP: Double?
        var maxTokens: Int?

        enum CodingKeys: String, CodingKey {
            case provider, model, messages, temperature
            case topP = "top_p"
            case maxTokens = "max_tokens"
        }
    }

    struct SimpleChatResponse: Encodable {
        var text: String
        var provider: String
        var model: String
        var tokensIn: Int
        var tokensOut: Int
        var latencyMs: Int

        enum CodingKeys: String, CodingKey {
            case text, provider, model
            case tokensIn = "tokens_in"
            case tokensOut = "tokens_out"
            case latencyMs = "latency_ms"
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("chat", use: chat)
    }

    @Sendable func chat(request: Request, context: Context) async throws -> Response {
        var provider: String?
        var model = ""
        var body: String?
        var admission: Governor.Admission?
        do throws(GatewayError) {
            let (simple, data) = try await bodyReader.decodeKeepingBody(SimpleChatRequest.self, from: request)
            body = meter.body(data)
            provider = simple.provider
            model = simple.model
            let chat = ChatRequest(
                model: resolveModel(simple),
                messages: simple.messages,
                temperature: simple.temperature,
                topP: simple.topP,
                maxTokens: simple.maxTokens
            )
            try ChatValidation.validate(chat)
            if simple.model.isEmpty {
                throw GatewayError.validation("`model` must not be empty.", param: "model")
            }
            let admitted = try await meter.admit(model: chat.model, messages: chat.messages, maxTokens: chat.maxTokens, context: context)
            admission = admitted
            let result = try await gateway.chat(chat, requestID: context.requestID, logger: context.logger)
            let elapsed = ContinuousClock.now - context.start
            let text = result.response.choices.first?.message.content?.text ?? ""
            let answer = SimpleChatResponse(
                text: text,
                provider: result.servedBy.provider,
                model: result.servedBy.model,
                tokensIn: result.usage.promptTokens,
                tokensOut: result.usage.completionTokens,
                latencyMs: Int(elapsed.milliseconds.rounded())
            )
            var response = try OpenAIController.json(answer)
            meter.served(
                &response, admission: admitted, endpoint: "chat", model: chat.model, servedBy: result.servedBy,
                usage: result.usage, estimated: result.usageEstimated, elapsed: elapsed, context: context,
                body: body, answer: meter.answer(text)
            )
            return response
        } catch {
            var error = error
            if error.provider == nil { error.provider = provider }
            gateway.metrics.error(code: error.code.rawValue)
            if !model.isEmpty {
                meter.failed(error, admission: admission, endpoint: "chat", model: model, stream: false, context: context, body: body)
            } else if let admission {
                meter.governor.settle(admission, usage: nil, cost: nil)
            }
            return error.response(format: .simple, requestID: context.requestID)
        }
    }

    /// `provider` + `model` address that provider directly; the seed's `google` means Gemini.
    private func resolveModel(_ simple: SimpleChatRequest) -> String {
        guard let provider = simple.provider, !provider.isEmpty else { return simple.model }
        if gateway.catalog.provider(named: provider) != nil { return "\(provider)/\(simple.model)" }
        if provider == "google", gateway.catalog.provider(named: "gemini") != nil { return "gemini/\(simple.model)" }
        return "\(provider)/\(simple.model)"
    }
}
