import Hummingbird
import SwitchboardCore

/// `GET /v1/models` and `GET /v1/models/{id}`: what the caller may use, in OpenAI's shape; and
/// the chat orchestrator's model catalogue (`providers`, `search`, `compare`, `?details=true`)
/// with targets, capabilities, prices and what this replica observed.
struct ModelsController: Sendable {
    let gateway: Gateway
    /// Reported as every model's `created`.
    let startedAt: Int
    /// The health window observed figures cover.
    let window: Duration
    /// What the providers' own model lists name (`POST /v1/models/refresh`).
    let discovery: ModelDiscovery

    var catalog: ModelCatalog { gateway.catalog }

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("models", use: list)
        group.get("models/providers", use: providers)
        group.get("models/search", use: search)
        group.get("models/compare", use: compare)
        group.post("models/refresh", use: refresh)
        group.get("models/**", use: get)
    }

    /// Configured models and each provider's known ones, then what the providers' lists added.
    func listed() -> [ModelInfo] {
        var models = catalog.listModels(created: startedAt)
        var seen = Set(models.map(\.id))
        for (provider, found) in discovery.current().sorted(by: { $0.key < $1.key }) {
            for model in found where seen.insert("\(provider)/\(model.id)").inserted {
                models.append(ModelInfo(id: "\(provider)/\(model.id)", created: startedAt, ownedBy: provider))
            }
        }
        return models
    }

    /// What a provider's list said of `provider/model` (or of an alias's first target).
    func discovered(_ id: String, targets: [TargetID]) -> DiscoveredModel? {
        let lists = discovery.current()
        for target in targets {
            if let found = lists[target.provider]?.first(where: { $0.id == target.model }) { return found }
        }
        return nil
    }

    struct RefreshView: Encodable {
        struct ProviderResult: Encodable {
            var provider: String
            var models: Int
            var fetchedAt: Int
            var error: String?

            enum CodingKeys: String, CodingKey {
                case provider, models, error
                case fetchedAt = "fetched_at"
            }
        }

        var object = "list"
        /// False when a refresh less than 30 s before already read the lists.
        var refreshed: Bool
        var data: [ProviderResult]
    }

    /// Reads each provider's own model list now (at most every 30 s; the lists are kept an hour).
    @Sendable func refresh(request: Request, context: AuthenticatedContext) async throws -> Response {
        let (refreshed, listings) = await discovery.refresh(catalog.providers, requestID: context.requestID, logger: context.logger)
        return try JSONBody.response(RefreshView(refreshed: refreshed, data: listings.map {
            RefreshView.ProviderResult(provider: $0.provider, models: $0.models.count, fetchedAt: $0.fetchedAtUnix, error: $0.error)
        }))
    }

    /// `provider`, `capability` and `q` (part of the id) narrow the list.
    func models(_ request: Request, _ principal: Principal) throws(GatewayError) -> [ModelInfo] {
        let parameters = request.uri.queryParameters
        var capability: ModelCapabilities?
        if let name = parameters["capability"].map(String.init) {
            guard let known = ModelCapabilities(name: name) else {
                throw GatewayError.validation(
                    "`capability` must be one of \(ModelCapabilities.named.map(\.name).joined(separator: ", ")), not `\(name)`.", param: "capability"
                )
            }
            capability = known
        }
        let provider = parameters["provider"].map(String.init)
        let text = parameters["q"].map { String($0).lowercased() }
        // A key limited to some models sees only those.
        return listed().filter { model in
            guard principal.mayUse(model.id) else { return false }
            if let capability, !catalog.capabilities(of: model.id).contains(capability) { return false }
            if let provider, !targets(of: model.id).contains(where: { $0.provider == provider }) { return false }
            if let text, !text.isEmpty, !model.id.lowercased().contains(text) { return false }
            return true
        }
    }

    func targets(of model: String) -> [TargetID] {
        (try? catalog.resolve(model))?.targets.map(\.id) ?? []
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> Response {
        try JSONBody.response(ModelList(data: try models(request, context.principal)))
    }

    @Sendable func search(request: Request, context: AuthenticatedContext) async throws -> Response {
        guard let text = request.uri.queryParameters["q"].map(String.init), !text.isEmpty else {
            throw GatewayError.validation("`q` (part of a model id) is required.", param: "q")
        }
        let found = try models(request, context.principal)
        return try JSONBody.response(DetailsList(data: found.map { details(of: $0, for: context.principal) }))
    }

    @Sendable func compare(request: Request, context: AuthenticatedContext) async throws -> Response {
        let ids = (request.uri.queryParameters["model_ids"].map(String.init) ?? "").split(separator: ",").map {
            Self.percentDecoded(String($0).trimmingCharacters(in: .whitespaces))
        }.filter { !$0.isEmpty }
        guard (1...10).contains(ids.count) else {
            throw GatewayError.validation("`model_ids` must name 1 to 10 models, separated by commas.", param: "model_ids")
        }
        var compared: [ModelDetails] = []
        for id in ids {
            _ = try catalog.resolve(id, for: context.principal)
            compared.append(details(of: info(id), for: context.principal))
        }
        return try JSONBody.response(DetailsList(data: compared))
    }

    @Sendable func providers(request: Request, context: AuthenticatedContext) async throws -> Response {
        let principal = context.principal
        let now = ContinuousClock.now
        let listed = listed().filter { principal.mayUse($0.id) }
        var views: [ProviderView] = []
        for provider in catalog.providers {
            let models = listed.filter { model in targets(of: model.id).contains { $0.provider == provider.name } }.map(\.id)
            var view = ProviderView(name: provider.name, type: provider.type.rawValue, models: models)
            if principal.may(.readOperations) {
                let ids = catalog.allTargets().filter { $0.provider == provider.name }
                view.observed = observed(ids, now: now)
                let states = ids.map { HealthController.effectiveState(gateway.board.snapshot($0).breaker.state, now: now) }
                view.health = states.contains("open") ? (states.allSatisfy { $0 == "open" } ? "down" : "degraded") : "up"
            }
            views.append(view)
        }
        return try JSONBody.response(ProvidersList(data: views))
    }

    /// What this replica saw of some targets over the health window.
    func observed(_ targets: [TargetID], now: ContinuousClock.Instant) -> Observed {
        var requests = 0
        var failures = 0
        var ewma: Double?
        var p95: Double?
        for id in targets {
            let stats = gateway.board.snapshot(id)
            let (rate, count) = stats.errorRate(now: now, window: window)
            requests += count
            failures += Int((rate * Double(count)).rounded())
            if let value = stats.latencyEWMAMilliseconds { ewma = min(ewma ?? .infinity, value) }
            if let value = stats.latencyP95(now: now, window: window) { p95 = max(p95 ?? 0, value) }
        }
        return Observed(
            requests: requests, successRate: requests > 0 ? HealthController.round(Double(requests - failures) / Double(requests)) : nil,
            latencyMs: ewma.map(HealthController.round), latencyP95Ms: p95.map(HealthController.round)
        )
    }

    func info(_ id: String) -> ModelInfo {
        listed().first { $0.id == id }
            ?? ModelInfo(id: id, created: startedAt, ownedBy: id.split(separator: "/").first.map(String.init) ?? "switchboard")
    }

    func details(of model: ModelInfo, for principal: Principal) -> ModelDetails {
        let targets = targets(of: model.id)
        let price = catalog.prices.price(for: model.id) ?? targets.lazy.compactMap { catalog.prices.price(for: $0.model) }.first
        let listedByProvider = discovered(model.id, targets: targets)
        let capabilities = catalog.capabilities(of: model.id)
        return ModelDetails(
            id: model.id, ownedBy: model.ownedBy, created: model.created, targets: targets.map(\.description),
            providers: Array(Set(targets.map(\.provider))).sorted(),
            capabilities: ModelCapabilities.named.filter { capabilities.contains($0.capability) }.map(\.name),
            pricing: price.map {
                ModelDetails.Pricing(
                    inputPerMTok: $0.inputPerMillionTokens, outputPerMTok: $0.outputPerMillionTokens,
                    cachedInputPerMTok: $0.cachedInputPerMillionTokens, reasoningPerMTok: $0.reasoningPerMillionTokens
                )
            } ?? listedByProvider.flatMap { found in
                found.inputPerMillionTokens.map { ModelDetails.Pricing(inputPerMTok: $0, outputPerMTok: found.outputPerMillionTokens ?? $0) }
            },
            maxOutputTokens: price?.maxOutputTokens ?? listedByProvider?.maxOutputTokens,
            contextWindow: listedByProvider?.contextWindow ?? catalog.contextWindow(of: model.id),
            observed: principal.may(.readOperations) ? observed(targets, now: .now) : nil
        )
    }

    @Sendable func get(request: Request, context: AuthenticatedContext) async throws -> Response {
        // SDKs send `provider/model` ids with the slash encoded (`fake%2Ffake-model`).
        let id = Self.percentDecoded(context.parameters.getCatchAll().joined(separator: "/"))
        // A key limited to some models learns of no others, listed or not.
        _ = try catalog.resolve(id, for: context.principal)
        if request.uri.queryParameters["details"].map({ $0 == "true" || $0 == "1" }) == true {
            return try JSONBody.response(details(of: info(id), for: context.principal))
        }
        guard let info = catalog.modelInfo(id: id, created: startedAt) else {
            // Anything the router can serve is a model, even if it is not listed.
            return try JSONBody.response(
                ModelInfo(id: id, created: startedAt, ownedBy: id.split(separator: "/").first.map(String.init) ?? "switchboard")
            )
        }
        return try JSONBody.response(info)
    }

    /// Decodes `%XX` escapes; anything malformed is kept as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A model with what the gateway knows of it (`?details=true`, `search`, `compare`).
struct ModelDetails: Encodable {
    struct Pricing: Encodable {
        var inputPerMTok: Double
        var outputPerMTok: Double
        var cachedInputPerMTok: Double?
        var reasoningPerMTok: Double?

        enum CodingKeys: String, CodingKey {
            case inputPerMTok = "input_per_mtok"
            case outputPerMTok = "output_per_mtok"
            case cachedInputPerMTok = "cached_input_per_mtok"
            case reasoningPerMTok = "reasoning_per_mtok"
        }
    }

    var id: String
    var object = "model"
    var ownedBy: String
    var created: Int
    /// `provider/model` of each target, in routing order.
    var targets: [String]
    var providers: [String]
    var capabilities: [String]
    var pricing: Pricing?
    var maxOutputTokens: Int?
    /// From the provider's own model list, once refreshed.
    var contextWindow: Int?
    /// Observed on this replica (callers with `read_operations` only).
    var observed: Observed?

    enum CodingKeys: String, CodingKey {
        case id, object, created, targets, providers, capabilities, pricing, observed
        case ownedBy = "owned_by"
        case maxOutputTokens = "max_output_tokens"
        case contextWindow = "context_window"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(ownedBy, forKey: .ownedBy)
        try container.encode(targets, forKey: .targets)
        try container.encode(providers, forKey: .providers)
        try container.encode(capabilities, forKey: .capabilities)
        try container.encode(pricing, forKey: .pricing)
        try container.encode(maxOutputTokens, forKey: .maxOutputTokens)
        try container.encode(contextWindow, forKey: .contextWindow)
        try container.encodeIfPresent(observed, forKey: .observed)
    }
}

struct Observed: Encodable {
    var requests: Int
    var successRate: Double?
    var latencyMs: Double?
    var latencyP95Ms: Double?

    enum CodingKeys: String, CodingKey {
        case requests
        case successRate = "success_rate"
        case latencyMs = "latency_ms"
        case latencyP95Ms = "latency_p95_ms"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requests, forKey: .requests)
        try container.encode(successRate, forKey: .successRate)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(latencyP95Ms, forKey: .latencyP95Ms)
    }
}

struct DetailsList: Encodable {
    var object = "list"
    var data: [ModelDetails]
}

struct ProviderView: Encodable {
    var name: String
    var type: String
    var models: [String]
    /// `up`, `degraded` (some targets' breakers open) or `down` (all open); `read_operations` only.
    var health: String?
    var observed: Observed?
}

struct ProvidersList: Encodable {
    var object = "list"
    var data: [ProviderView]
}
