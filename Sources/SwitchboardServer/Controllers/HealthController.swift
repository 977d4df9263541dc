import HTTPTypes
import Hummingbird
import SwitchboardCore

/// `GET /health/detailed`: what the gateway knows of every provider and target right now.
struct HealthController: Sendable {
    typealias Context = GatewayRequestContext

    let gateway: Gateway
    /// The window p95 latency and error rates are computed over.
    let window: Duration

    struct TargetReport: Encodable {
        var model: String
        var breaker: String
        var inFlight: Int
        var latencyEWMAMs: Double?
        var latencyP95Ms: Double?
        var errorRate: Double
        var requests: Int
        var successesTotal: Int
        var failuresTotal: Int
        var lastError: String?
        var lastErrorAgeSeconds: Double?
        var cooldownRemainingSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case model, breaker, requests
            case inFlight = "in_flight"
            case latencyEWMAMs = "latency_ewma_ms"
            case latencyP95Ms = "latency_p95_ms"
            case errorRate = "error_rate"
            case successesTotal = "successes_total"
            case failuresTotal = "failures_total"
            case lastError = "last_error"
            case lastErrorAgeSeconds = "last_error_age_s"
            case cooldownRemainingSeconds = "cooldown_remaining_s"
        }
    }

    struct ProviderReport: Encodable {
        var name: String
        var type: String
        var state: String
        var targets: [TargetReport]
    }

    struct Report: Encodable {
        var status: String
        var inFlight: Int
        var windowSeconds: Int
        var providers: [ProviderReport]

        enum CodingKeys: String, CodingKey {
            case status, providers
            case inFlight = "in_flight"
            case windowSeconds = "window_s"
        }
    }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("health/detailed", use: detailed)
    }

    @Sendable func detailed(request: Request, context: Context) async throws -> Response {
        try JSONBody.response(report())
    }

    func report() -> Report {
        let now = ContinuousClock.now
        var targets = gateway.catalog.allTargets()
        let known = Set(targets)
        targets += gateway.board.allTargets().filter { !known.contains($0) }.sorted { $0.description < $1.description }
        var providers: [ProviderReport] = []
        var anyOpen = false
        for provider in gateway.catalog.providers {
            let reports = targets.filter { $0.provider == provider.name }.map { id -> TargetReport in
                let stats = gateway.board.snapshot(id)
                let (rate, requests) = stats.errorRate(now: now, window: window)
                let breaker = Self.effectiveState(stats.breaker.state, now: now)
                if breaker != "closed" { anyOpen = true }
                return TargetReport(
                    model: id.model,
                    breaker: breaker,
                    inFlight: stats.inFlight,
                    latencyEWMAMs: stats.latencyEWMAMilliseconds.map(Self.round),
                    latencyP95Ms: stats.latencyP95(now: now, window: window).map(Self.round),
                    errorRate: Self.round(rate),
                    requests: requests,
                    successesTotal: stats.successes,
                    failuresTotal: stats.failures,
                    lastError: stats.lastError,
                    lastErrorAgeSeconds: stats.lastErrorAt.map { Self.round(Self.seconds(now - $0)) },
                    cooldownRemainingSeconds: stats.cooldownUntil.flatMap { $0 > now ? Self.round(Self.seconds($0 - now)) : nil }
                )
            }
            let state: String
            if reports.isEmpty || reports.allSatisfy({ $0.breaker == "closed" }) {
                state = "healthy"
            } else if reports.allSatisfy({ $0.breaker == "open" }) {
                state = "down"
            } else {
                state = "degraded"
            }
            providers.append(ProviderReport(name: provider.name, type: provider.type.rawValue, state: state, targets: reports))
        }
        return Report(
            status: anyOpen ? "degraded" : "ok",
            inFlight: gateway.limiter.inFlight,
            windowSeconds: Int(window.components.seconds),
            providers: providers
        )
    }

    /// An open breaker whose cooldown is over will let the next call probe: report it half-open.
    static func effectiveState(_ state: CircuitBreaker.State, now: ContinuousClock.Instant) -> String {
        if case .open(let until) = state, now >= until { return CircuitBreaker.State.halfOpen(probeInFlight: false).name }
        return state.name
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func round(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}
