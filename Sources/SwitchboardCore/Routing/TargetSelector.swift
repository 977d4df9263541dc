/// Orders a route's targets for one request, by the route's strategy and what the health board knows.
///
/// Targets that are unavailable (breaker open, cooling down after a 429) go last, in order, so
/// they are only reached when everything else failed — and then refused fast by the board.
package struct TargetSelector: Sendable {
    package init() {}

    package func order<Generator: RandomNumberGenerator>(
        _ targets: [RouteTarget],
        strategy: RoutingStrategy,
        board: any TargetHealth,
        prices: (RouteTarget) -> ModelPrice?,
        now: ContinuousClock.Instant,
        using generator: inout Generator
    ) -> [RouteTarget] {
        guard targets.count > 1 else { return targets }
        var available: [RouteTarget] = []
        var unavailable: [RouteTarget] = []
        available.reserveCapacity(targets.count)
        for target in targets {
            if board.isAvailable(target.id, now: now) {
                available.append(target)
            } else {
                unavailable.append(target)
            }
        }
        switch strategy {
        case .priority:
            break
        case .weighted:
            available = weightedShuffle(available, using: &generator)
        case .leastLatency:
            available = leastLatency(available, board: board, using: &generator)
        case .leastBusy:
            let busy = Dictionary(available.map { ($0.id, board.snapshot($0.id).inFlight) }, uniquingKeysWith: { a, _ in a })
            available = available.enumerated().sorted { lhs, rhs in
                let a = busy[lhs.element.id] ?? 0
                let b = busy[rhs.element.id] ?? 0
                return a != b ? a < b : lhs.offset < rhs.offset
            }.map(\.element)
        case .cheapest:
            let latency = Dictionary(available.map { ($0.id, board.snapshot($0.id).latencyEWMAMilliseconds ?? 0) }, uniquingKeysWith: { a, _ in a })
            available = available.enumerated().sorted { lhs, rhs in
                let a = prices(lhs.element).map { $0.inputPerMillionTokens + $0.outputPerMillionTokens } ?? .infinity
                let b = prices(rhs.element).map { $0.inputPerMillionTokens + $0.outputPerMillionTokens } ?? .infinity
                if a != b { return a < b }
                let la = latency[lhs.element.id] ?? 0
                let lb = latency[rhs.element.id] ?? 0
                return la != lb ? la < lb : lhs.offset < rhs.offset
            }.map(\.element)
        }
        return available + unavailable
    }

    /// Random order, each position drawn with probability proportional to weight.
    func weightedShuffle<Generator: RandomNumberGenerator>(_ targets: [RouteTarget], using generator: inout Generator) -> [RouteTarget] {
        guard targets.count > 1 else { return targets }
        var remaining = targets
        var ordered: [RouteTarget] = []
        ordered.reserveCapacity(targets.count)
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + max(0, $1.weight) }
            var pick = 0
            if total > 0 {
                var point = Double.random(in: 0..<total, using: &generator)
                for (position, target) in remaining.enumerated() {
                    point -= max(0, target.weight)
                    if point < 0 {
                        pick = position
                        break
                    }
                }
            }
            ordered.append(remaining.remove(at: pick))
        }
        return ordered
    }

    /// Power of two choices: of two random targets the faster goes first; the rest by latency.
    /// A target with no measurement yet counts as fastest, so every target gets measured.
    func leastLatency<Generator: RandomNumberGenerator>(
        _ targets: [RouteTarget],
        board: any TargetHealth,
        using generator: inout Generator
    ) -> [RouteTarget] {
        guard targets.count > 1 else { return targets }
        let latency = targets.map { board.snapshot($0.id).latencyEWMAMilliseconds ?? 0 }
        let first = Int.random(in: 0..<targets.count, using: &generator)
        var second = Int.random(in: 0..<(targets.count - 1), using: &generator)
        if second >= first { second += 1 }
        let winner = latency[first] <= latency[second] ? first : second
        var rest = Array(targets.indices)
        rest.remove(at: winner)
        rest.sort { latency[$0] != latency[$1] ? latency[$0] < latency[$1] : $0 < $1 }
        return [targets[winner]] + rest.map { targets[$0] }
    }
}
