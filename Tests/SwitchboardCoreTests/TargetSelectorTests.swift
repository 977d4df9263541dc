import SwitchboardCore
import Testing

/// A provider that is never called: selection only needs names.
struct IdleProvider: ProviderAdapter {
    let name: String
    let type = ProviderType("idle")
    let knownModels: [String] = []

    func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse { throw CancellationError() }
    func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream { throw CancellationError() }
    func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse { throw CancellationError() }
}

@Suite struct TargetSelectorTests {
    let targets = [
        RouteTarget(provider: IdleProvider(name: "a"), model: "m", weight: 3),
        RouteTarget(provider: IdleProvider(name: "b"), model: "m", weight: 1),
        RouteTarget(provider: IdleProvider(name: "c"), model: "m", weight: 0),
    ]
    let selector = TargetSelector()

    func order(_ strategy: RoutingStrategy, board: HealthBoard = HealthBoard(), prices: [String: ModelPrice] = [:]) -> [String] {
        var generator = SystemRandomNumberGenerator()
        return selector.order(
            targets, strategy: strategy, board: board, prices: { prices[$0.provider.name] }, now: .now, using: &generator
        ).map(\.provider.name)
    }

    @Test func priorityKeepsConfiguredOrder() {
        #expect(order(.priority) == ["a", "b", "c"])
    }

    @Test func weightedFollowsWeights() {
        var firsts: [String: Int] = [:]
        for _ in 0..<4000 { firsts[order(.weighted)[0], default: 0] += 1 }
        // 3:1:0 → about 75% a, 25% b, never c first.
        #expect((2700...3300).contains(firsts["a"] ?? 0))
        #expect((700...1300).contains(firsts["b"] ?? 0))
        #expect(firsts["c"] == nil)
    }

    @Test func leastBusyPrefersFewestInFlight() {
        let board = HealthBoard()
        _ = board.admit(TargetID(provider: "a", model: "m"), maxConcurrent: nil, now: .now)
        _ = board.admit(TargetID(provider: "a", model: "m"), maxConcurrent: nil, now: .now)
        _ = board.admit(TargetID(provider: "b", model: "m"), maxConcurrent: nil, now: .now)
        #expect(order(.leastBusy, board: board) == ["c", "b", "a"])
    }

    @Test func leastLatencyPrefersTheFasterOfTwo() {
        let board = HealthBoard()
        for (name, milliseconds) in [("a", 300), ("b", 20), ("c", 100)] {
            let id = TargetID(provider: name, model: "m")
            _ = board.admit(id, maxConcurrent: nil, now: .now)
            board.finish(id, success: true, latency: .milliseconds(milliseconds), now: .now)
        }
        var firsts: [String: Int] = [:]
        for _ in 0..<600 { firsts[order(.leastLatency, board: board)[0], default: 0] += 1 }
        // The slowest target can never win a pair; the fastest wins every pair it is drawn into.
        #expect(firsts["a"] == nil)
        #expect((firsts["b"] ?? 0) > (firsts["c"] ?? 0))
    }

    @Test func cheapestByPriceThenLatency() {
        let prices = [
            "a": ModelPrice(inputPerMillionTokens: 1, outputPerMillionTokens: 2),
            "b": ModelPrice(inputPerMillionTokens: 0.1, outputPerMillionTokens: 0.2),
        ]
        #expect(order(.cheapest, prices: prices) == ["b", "a", "c"])
    }

    @Test func unavailableTargetsGoLast() {
        let board = HealthBoard(policy: .init(consecutiveFailures: 1, cooldown: .seconds(60)))
        let a = TargetID(provider: "a", model: "m")
        _ = board.admit(a, maxConcurrent: nil, now: .now)
        board.finish(a, success: false, latency: .zero, now: .now)
        #expect(order(.priority, board: board) == ["b", "c", "a"])
        guard case .breakerOpen = board.admit(a, maxConcurrent: nil, now: .now) else {
            Issue.record("an open breaker must refuse the call")
            return
        }
    }

    @Test(arguments: RoutingStrategy.allCases)
    func everyStrategyCopesWithOneOrNoAvailableTarget(_ strategy: RoutingStrategy) {
        let board = HealthBoard(policy: .init(consecutiveFailures: 1, cooldown: .seconds(60)))
        for name in ["a", "b"] {
            let id = TargetID(provider: name, model: "m")
            _ = board.admit(id, maxConcurrent: nil, now: .now)
            board.finish(id, success: false, latency: .zero, now: .now)
        }
        #expect(order(strategy, board: board) == ["c", "a", "b"])
        let c = TargetID(provider: "c", model: "m")
        _ = board.admit(c, maxConcurrent: nil, now: .now)
        board.finish(c, success: false, latency: .zero, now: .now)
        #expect(order(strategy, board: board) == ["a", "b", "c"])
    }

    @Test func concurrencyBoundIsEnforced() {
        let board = HealthBoard()
        let id = TargetID(provider: "a", model: "m")
        #expect(board.admit(id, maxConcurrent: 2, now: .now) == .admitted(probe: false))
        #expect(board.admit(id, maxConcurrent: 2, now: .now) == .admitted(probe: false))
        #expect(board.admit(id, maxConcurrent: 2, now: .now) == .saturated(limit: 2))
        board.abandon(id, probe: false)
        #expect(board.admit(id, maxConcurrent: 2, now: .now) == .admitted(probe: false))
    }

    @Test func boardStaysBounded() {
        let board = HealthBoard()
        for index in 0..<(HealthBoard.maxTargets + 100) {
            _ = board.admit(TargetID(provider: "p", model: "m\(index)"), maxConcurrent: nil, now: .now)
        }
        #expect(board.allTargets().count == HealthBoard.maxTargets + 1)
        #expect(board.snapshot(TargetID(provider: "p", model: "other")).inFlight == 100)
    }

    @Test func rateLimitCooldown() {
        let board = HealthBoard(maxCooldown: .seconds(5))
        let id = TargetID(provider: "a", model: "m")
        let now = ContinuousClock.now
        _ = board.admit(id, maxConcurrent: nil, now: now)
        board.finish(id, success: false, latency: .zero, cooldown: .seconds(30), now: now)
        #expect(board.admit(id, maxConcurrent: nil, now: now + .seconds(1)) == .coolingDown(until: now + .seconds(5)))
        #expect(board.admit(id, maxConcurrent: nil, now: now + .seconds(6)) == .admitted(probe: false))
    }
}
