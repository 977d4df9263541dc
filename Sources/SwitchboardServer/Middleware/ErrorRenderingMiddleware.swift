import HTTPTypes
import Hummingbird
import Logging
import Metrics
import SwitchboardCore

/// Renders every error a route group's handlers (and its auth) throw in that group's wire
/// shape: OpenAI's, Anthropic's, or the simple `/v1/chat` contract's. Added first on each group.
struct ErrorRenderingMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let format: ErrorFormat
    let metricsFactory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ErrorResponder.response(for: error, format: format, request: request, context: context, metricsFactory: metricsFactory)
        }
    }
}

/// Turns anything a handler threw into a response: a ``GatewayError`` as itself, a
/// Hummingbird `HTTPError` translated, anything else a bare 500 that names nothing internal.
enum ErrorResponder {
    static func response(
        for error: any Error, format: ErrorFormat, request: Request, context: GatewayRequestContext, metricsFactory: any MetricsFactory
    ) -> Response {
        let gatewayError: GatewayError
        switch error {
        case let error as GatewayError:
            gatewayError = error
        case let error as HTTPError:
            gatewayError = translate(error, request: request)
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            gatewayError = GatewayError(.internalError, "The gateway failed to handle the request.")
        }
        Counter(label: "errors_total", dimensions: [("code", gatewayError.code.rawValue)], factory: metricsFactory).increment()
        return gatewayError.response(format: format, requestID: context.requestID)
    }

    static func translate(_ error: HTTPError, request: Request) -> GatewayError {
        switch error.status.code {
        case 404:
            return GatewayError(.validationError, "Unknown endpoint \(request.method.rawValue) \(request.uri.path).", status: 404)
        case 405:
            return GatewayError(.validationError, "Method \(request.method.rawValue) is not allowed on \(request.uri.path).", status: 405)
        case 413:
            return GatewayError(.validationError, "Request body is too large.", status: 413)
        case 400..<500:
            return GatewayError(.validationError, error.body ?? "Bad request.", status: Int(error.status.code))
        default:
            return GatewayError(.internalError, "The gateway failed to handle the request.")
        }
    }
}
