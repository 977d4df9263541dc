import HTTPTypes
import Hummingbird
import Logging
import Metrics
import SwitchboardCore

/// Outermost middleware: request id, HTTP metrics, access log, and rendering of any error
/// that escaped a controller (in OpenAI's shape; nothing internal is shown).
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let metricsFactory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.requestID].flatMap { Self.acceptable($0) } ?? Self.makeRequestID()
        context.requestID = requestID
        var response: Response
        let format = ErrorFormat.forPath(request.uri.path)
        do {
            response = try await next(request, context)
        } catch let error as GatewayError {
            response = error.response(format: format, requestID: requestID)
            Counter(label: "errors_total", dimensions: [("code", error.code.rawValue)], factory: metricsFactory).increment()
        } catch let error as HTTPError {
            let gatewayError = Self.translate(error, request: request)
            response = gatewayError.response(format: format, requestID: requestID)
            Counter(label: "errors_total", dimensions: [("code", gatewayError.code.rawValue)], factory: metricsFactory).increment()
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            let gatewayError = GatewayError(.internalError, "The gateway failed to handle the request.")
            response = gatewayError.response(format: format, requestID: requestID)
            Counter(label: "errors_total", dimensions: [("code", gatewayError.code.rawValue)], factory: metricsFactory).increment()
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

    private static func translate(_ error: HTTPError, request: Request) -> GatewayError {
        switch error.status.code {
        case 404:
            return GatewayError(
                .validationError, "Unknown endpoint \(request.method.rawValue) \(request.uri.path).", status: 404
            )
        case 405:
            return GatewayError(
                .validationError, "Method \(request.method.rawValue) is not allowed on \(request.uri.path).", status: 405
            )
        case 413:
            return GatewayError(.validationError, "Request body is too large.", status: 413)
        case 400..<500:
            return GatewayError(.validationError, error.body ?? "Bad request.", status: Int(error.status.code))
        default:
            return GatewayError(.internalError, "The gateway failed to handle the request.")
        }
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

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
