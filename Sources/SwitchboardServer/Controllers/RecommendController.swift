import HTTPTypes
import Hummingbird
import SwitchboardCore

/// `POST /api/v1/models/recommend`: ranks the models the gateway can serve by observed
/// reliability and latency of their targets and by the price table.
///
/// Only models with what the task needs are candidates (``ModelCapabilities/needed(forTask:)``).
/// Every recommendation carries `confidence`, `costEfficiency` and `performanceScore`; a model
/// not yet observed, or with no price, gets the prior ``prior`` for the missing figure, and its
/// `confidence` says how little is known.
struct RecommendController: Sendable {
    typealias Context = AuthenticatedContext

    let gateway: Gateway
    let bodyReader: RequestBodyReader
    let window: Duration

    struct Criteria: Decodable {
        var task: String?
        var maxCost: Double?
        var minPerformance: Double?
        var preferredProviders: [String]?
        var excludeModels: [String]?
        var limit: Int?

        enum CodingKeys: String, CodingKey {
            case task, limit
            case maxCost = "max_cost"
            case minPerformance = "min_performance"
            case preferredProviders = "preferred_providers"
            case excludeModels = "exclude_models"
        }
    }

    struct Recommendation: Encodable {
        var model: String
        var providers: [String]
        var reason: String
        var confidence: Double
        var costEfficiency: Double
        var performanceScore: Double
        var pricePer1KTokens: Double?
        var observedRequests: Int?
        var successRate: Double?
        var latencyP95Ms: Double?

        enum CodingKeys: String, CodingKey {
            case model, providers, reason, confidence, costEfficiency, performanceScore
            case pricePer1KTokens = "price_per_1k_tokens"
            case observedRequests = "observed_requests"
            case successRate = "success_rate"
            case latencyP95Ms = "latency_p95_ms"
        }
    }

    struct Answer: Encodable {
        var task: String?
        var recommendations: [Recommendation]
    }

    /// The score given to a figure nothing is known about yet: neither good nor bad.
    static let prior = 0.5

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("models/recommend", use: recommend)
    }

    @Sendable func recommend(request: Request, context: Context) async throws -> Response {
        let criteria = try await bodyReader.decode(Criteria.self, from: request)
        if let minimum = criteria.minPerformance, !(0...1).contains(minimum) {
            throw GatewayError.validation("`min_performance` must be between 0 and 1.", param: "min_performance")
        }
        if let cost = criteria.maxCost, cost < 0 {
            throw GatewayError.validation("`max_cost` must not be negative.", param: "max_cost")
        }
        var recommendations = rank(criteria, for: context.principal)
        if !context.principal.may(.readOperations) {
            // Per-target health is operational detail (read_operations); the scores stay.
            for index in recommendations.indices {
                recommendations[index].observedRequests = nil
                recommendations[index].successRate = nil
                recommendations[index].latencyP95Ms = nil
            }
        }
        return try JSONBody.response(Answer(task: criteria.task, recommendations: recommendations))
    }

    struct Candidate {
        var model: String
        var targets: [TargetID]
    }

    func candidates() -> [Candidate] {
        var result: [Candidate] = []
        for name in gateway.catalog.modelNames {
            guard let route = try? gateway.catalog.resolve(name) else { continue }
            result.append(Candidate(model: name, targets: route.targets.map(\.id)))
        }
        for id in gateway.catalog.allTargets() {
            result.append(Candidate(model: id.description, targets: [id]))
        }
        return result
    }

    /// - Parameter caller: only models it may use are candidates.
    func rank(_ criteria: Criteria, for caller: Principal) -> [Recommendation] {
        let now = ContinuousClock.now
        let excluded = Set(criteria.excludeModels ?? [])
        let preferred = Set(criteria.preferredProviders ?? [])
        let needed = ModelCapabilities.needed(forTask: criteria.task)

        struct Observed {
            var candidate: Candidate
            var price: Double?
            var requests: Int
            var successRate: Double?
            var performance: Double?
            var p95: Double?
        }
        var eligible: [Observed] = []
        for candidate in candidates() where caller.mayUse(candidate.model) {
            guard gateway.catalog.capabilities(of: candidate.model).isSuperset(of: needed) else { continue }
            if excluded.contains(candidate.model) || candidate.targets.contains(where: { excluded.contains($0.model) }) { continue }
            var requests = 0
            var failures = 0
            var p95: Double?
            var ewma: Double?
            for id in candidate.targets {
                let stats = gateway.board.snapshot(id)
                let (rate, count) = stats.errorRate(now: now, window: window)
                requests += count
                failures += Int((rate * Double(count)).rounded())
                if let value = stats.latencyP95(now: now, window: window) { p95 = max(p95 ?? 0, value) }
                if let value = stats.latencyEWMAMilliseconds { ewma = min(ewma ?? .infinity, value) }
            }
            let price = cost(of: candidate)
            if let maxCost = criteria.maxCost {
                guard let price, price <= maxCost else { continue }
            }
            let successRate = requests > 0 ? Double(requests - failures) / Double(requests) : nil
            let latencyScore = ewma.map { 1 / (1 + $0 / 1000) }
            let performance = successRate.map { $0 * (latencyScore ?? 1) }
            if let minimum = criteria.minPerformance, let performance, performance < minimum { continue }
            eligible.append(Observed(candidate: candidate, price: price, requests: requests, successRate: successRate, performance: performance, p95: p95))
        }

        let cheapest = eligible.compactMap(\.price).min()
        var rows: [(recommendation: Recommendation, score: Double)] = []
        for observed in eligible {
            let efficiency: Double? = observed.price.flatMap { price in cheapest.map { cheapest in price == 0 ? 1 : cheapest / price } }
            let confidence = Double(observed.requests) / Double(observed.requests + 20)
            let providers = Array(Set(observed.candidate.targets.map(\.provider))).sorted()
            let isPreferred = !preferred.isDisjoint(with: providers)
            var reasons: [String] = []
            if let successRate = observed.successRate {
                reasons.append("\(Int((successRate * 100).rounded()))% success over \(observed.requests) recent calls")
            } else {
                reasons.append("not yet observed")
            }
            if let p95 = observed.p95 { reasons.append("p95 latency \(Int(p95.rounded())) ms") }
            if let price = observed.price {
                reasons.append(price == cheapest ? "lowest price of the candidates" : "priced at $\(Self.format(price)) per 1K tokens")
            } else {
                reasons.append("price unknown")
            }
            if isPreferred { reasons.append("preferred provider") }
            let score = 0.5 * (observed.performance ?? Self.prior * (1 - confidence)) + 0.4 * (efficiency ?? 0.2) + (isPreferred ? 0.1 : 0)
            rows.append((
                Recommendation(
                    model: observed.candidate.model,
                    providers: providers,
                    reason: reasons.joined(separator: ", "),
                    confidence: HealthController.round(confidence),
                    costEfficiency: HealthController.round(efficiency ?? Self.prior),
                    performanceScore: HealthController.round(observed.performance ?? Self.prior),
                    pricePer1KTokens: observed.price.map { ($0 * 1_000_000).rounded() / 1_000_000 },
                    observedRequests: observed.requests,
                    successRate: observed.successRate.map(HealthController.round),
                    latencyP95Ms: observed.p95.map(HealthController.round)
                ),
                score
            ))
        }
        rows.sort { $0.score != $1.score ? $0.score > $1.score : $0.recommendation.model < $1.recommendation.model }
        return rows.prefix(max(1, criteria.limit ?? 10)).map(\.recommendation)
    }

    /// Blended USD per 1K tokens (mean of input and output price) of the candidate's first priced target.
    func cost(of candidate: Candidate) -> Double? {
        let prices = gateway.catalog.prices
        let price = prices.price(for: candidate.model) ?? candidate.targets.lazy.compactMap { prices.price(for: $0.model) }.first
        return price.map { ($0.inputPerMillionTokens + $0.outputPerMillionTokens) / 2 / 1000 }
    }

    static func format(_ value: Double) -> String {
        let scaled = Int((value * 1_000_000).rounded())
        let whole = scaled / 1_000_000
        let fraction = String(scaled % 1_000_000)
        return "\(whole)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
