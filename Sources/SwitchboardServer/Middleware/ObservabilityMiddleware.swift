import HTTPTypes
import Hummingbird
import Logging
import Metrics
import SwitchboardCore

/// Outermost middleware: request id, HTTP metrics, access log, and rendering of any error no
/// route group rendered (unknown routes; in OpenAI's shape; nothing internal is shown).
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let metricsFactory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.requestID].flatMap { Self.acceptable($0) } ?? Self.makeRequestID()
        context.requestID = requestID
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // What no route group rendered: unknown routes and methods, in OpenAI's shape.
            response = ErrorResponder.response(for: error, format: .openAI, request: request, context: context, metricsFactory: metricsFactory)
        }
        response.headers[.requestID] = requestID
        let path = context.endpointPath ?? "unmatched"
        let status = String(response.status.code)
        let method = request.method.rawValue
        Counter(
            label: "http_requests_total",
            dimensions: [("method", method), ("path", path), ("status", status)],
            factory: metricsFactory
        ).increment()
        Timer(
            label: "http_request_duration_seconds",
            dimensions: [("method", method), ("path", path)],
            preferredDisplayUnit: .seconds,
            factory: metricsFactory
        ).recordNanoseconds((ContinuousClock.now - context.start).nanoseconds)
        if path != "/health" && path != "/metrics" {
            context.logger.info(
                "request",
                metadata: [
                    "method": "\(method)", "path": "\(request.uri.path)", "status": "\(status)",
                    "request_id": "\(requestID)",
                ]
            )
        }
        return response
    }

    /// A client's request id is kept if it is short and printable, so it can't smuggle anything into logs.
    static func acceptable(_ value: String) -> String? {
        guard !value.isEmpty, value.utf8.count <= 128,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return value
    }

    static func makeRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "req_" + hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
