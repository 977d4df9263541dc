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
    let handles: MetricHandles

    init(metricsFactory: any MetricsFactory) {
        self.metricsFactory = metricsFactory
        self.handles = MetricHandles(factory: metricsFactory)
    }

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
        // A made-up method is `other`: callers cannot grow the number of series.
        let method = Self.knownMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        // Bounded: `path` is a route's pattern (or `unmatched`), the method one of a fixed few.
        handles.increment("http_requests_total", [("method", method), ("path", path), ("status", status)])
        handles.record("http_request_duration_seconds", [("method", method), ("path", path)], nanoseconds: (ContinuousClock.now - context.start).nanoseconds)
        if path != "/health" && path != "/metrics" {
            context.logger.info(
                "request",
                metadata: [
                    "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                    "request_id": "\(requestID)",
                ]
            )
        }
        return response
    }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

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
