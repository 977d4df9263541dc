import Hummingbird
import NIOCore
import Prometheus
import SwitchboardCore

/// Health, readiness, service information and Prometheus metrics.
struct OperationsController: Sendable {
    typealias Context = GatewayRequestContext

    let version: String
    let gateway: Gateway
    let startedAt: ContinuousClock.Instant
    let startedAtUnix: Int
    let registry: PrometheusCollectorRegistry
    let store: any RequestLogStore
    let providers: [String]
    let models: [String]
    let authEnabled: Bool

    struct Status: Encodable {
        var status: String
    }

    struct Readiness: Encodable {
        var status: String
        var storage: String
        var config: String
    }

    struct Info: Encodable {
        var name: String
        var version: String
        var uptimeSeconds: Int
        var startedAt: Int
        var providers: [String]
        var models: [String]
        var auth: Bool
        var swiftVersion: String

        enum CodingKeys: String, CodingKey {
            case name, version, providers, models, auth
            case uptimeSeconds = "uptime_seconds"
            case startedAt = "started_at"
            case swiftVersion = "swift_version"
        }
    }

    /// Liveness and readiness: open to anyone, for load balancers and orchestrators.
    func addPublicRoutes(to router: Router<Context>) {
        router.get("health", use: live)
        router.get("health/live", use: live)
        router.get("live", use: live)
        router.get("health/ready", use: ready)
        router.get("ready", use: ready)
    }

    /// Service information and metrics: behind `read_operations` unless `server.public_ops_endpoints`.
    func addRoutes(to group: RouterGroup<Context>) {
        group.get("info", use: info)
        group.get("metrics", use: metrics)
    }

    @Sendable func live(request: Request, context: Context) async throws -> Response {
        try JSONBody.response(Status(status: "ok"))
    }

    @Sendable func ready(request: Request, context: Context) async throws -> Response {
        do {
            try await store.ping()
            return try JSONBody.response(Readiness(status: "ready", storage: "ok", config: "loaded"))
        } catch {
            var response = try JSONBody.response(Readiness(status: "not_ready", storage: "unreachable", config: "loaded"))
            response.status = .serviceUnavailable
            return response
        }
    }

    @Sendable func info(request: Request, context: Context) async throws -> Response {
        let uptime = ContinuousClock.now - startedAt
        return try JSONBody.response(
            Info(
                name: "switchboard",
                version: version,
                uptimeSeconds: Int(uptime.components.seconds),
                startedAt: startedAtUnix,
                providers: providers,
                models: models,
                auth: authEnabled,
                swiftVersion: Self.swiftVersion
            )
        )
    }

    @Sendable func metrics(request: Request, context: Context) async throws -> Response {
        // Breaker states are read off the board when scraped, so an expired cooldown shows as half-open.
        let now = ContinuousClock.now
        for target in gateway.board.allTargets() {
            let state = gateway.board.snapshot(target).breaker.state
            if case .open(let until) = state, now >= until {
                gateway.metrics.breakerState(target: target, state: .halfOpen(probeInFlight: false))
            } else {
                gateway.metrics.breakerState(target: target, state: state)
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 * 1024)
        registry.emit(into: &bytes)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "6.3"
        #elseif swift(>=6.2)
        return "6.2"
        #else
        return "6"
        #endif
    }
}
