/// Spend against budgets, held in memory and kept atomic under concurrency.
///
/// Before a call, ``reserve(_:amount:)`` sets aside the most the call can cost; the call is
/// refused if spent + reserved + that amount would pass a budget. After the call, ``settle(_:actual:)``
/// swaps the reservation for the real cost. So however many requests race, spend can only pass
/// a budget by what admitted calls cost beyond their reservation (nothing, when the price table
/// and `max_tokens` hold).
///
/// A scope's spend is read from the store the first time it is needed in a period, and read
/// again every `syncInterval` while it is in use, so spend booked by other replicas sharing the
/// database is seen within that interval (memory keeps the larger of the two figures: it
/// already holds this replica's calls whose rows are still queued).
package final class BudgetBook: Sendable {
    package typealias Loader = @Sendable (_ scope: String, _ since: Double) async throws -> Double

    struct Entry: Sendable {
        var periodStart: Double
        var spent: Double
        var reserved: Double
        /// When the store was last read (or a read was started) for this scope.
        var syncedAt: Double
    }

    /// What one admitted call holds; hand it back to ``settle(_:actual:)`` exactly once.
    package struct Hold: Sendable, Hashable {
        struct Part: Sendable, Hashable {
            var scope: String
            var periodStart: Double
            var amount: Double
        }

        var parts: [Part]
        package var amount: Double

        package static let none = Hold(parts: [], amount: 0)
    }

    /// A scope's standing, for `/v1/users/me/balance`.
    package struct Balance: Sendable, Hashable {
        package var maxUSD: Double
        package var spentUSD: Double
        package var reservedUSD: Double
        package var period: BudgetPeriod
        package var resetsAt: Double?

        package var remainingUSD: Double { max(0, maxUSD - spentUSD - reservedUSD) }
    }

    private let entries = LockedValue<[String: Entry]>([:])
    private let loader: Loader
    private let clock: @Sendable () -> Double
    private let syncInterval: Double

    /// - Parameters:
    ///   - loader: reads a scope's spend since a time from the durable store.
    ///   - clock: wall-clock seconds since 1970 (periods are calendar periods).
    ///   - syncInterval: seconds between re-reads of a scope's spend from the store.
    package init(loader: @escaping Loader, clock: @escaping @Sendable () -> Double, syncInterval: Double = 10) {
        self.loader = loader
        self.clock = clock
        self.syncInterval = syncInterval
    }

    /// Reserves `amount` dollars in every budgeted scope, or in none and throws `BUDGET_EXCEEDED`.
    package func reserve(_ scopes: [LimitScope], amount: Double) async throws(GatewayError) -> Hold {
        let budgeted = scopes.filter { $0.budget != nil }
        guard !budgeted.isEmpty else { return .none }
        let now = clock()
        for scope in budgeted {
            guard let budget = scope.budget else { continue }
            try await ensureLoaded(scope.id, periodStart: budget.period.start(containing: now))
        }
        let amount = max(0, amount)
        let refusal: GatewayError? = entries.withLock { entries in
            for scope in budgeted {
                guard let budget = scope.budget, let entry = entries[scope.id] else { continue }
                let committed = entry.spent + entry.reserved
                // Small tolerance so a budget of exactly N calls admits the Nth despite rounding.
                if committed >= budget.maxUSD || committed + amount > budget.maxUSD * (1 + 1e-9) {
                    return Self.exceeded(scope, budget: budget, spent: entry.spent, now: now)
                }
            }
            for scope in budgeted {
                entries[scope.id]?.reserved += amount
            }
            return nil
        }
        if let refusal { throw refusal }
        return Hold(
            parts: budgeted.compactMap { scope in
                scope.budget.map { Hold.Part(scope: scope.id, periodStart: $0.period.start(containing: now), amount: amount) }
            },
            amount: amount
        )
    }

    /// Releases a hold and books what the call really cost (0 for a call that failed).
    package func settle(_ hold: Hold, actual: Double) {
        guard !hold.parts.isEmpty else { return }
        entries.withLock { entries in
            for part in hold.parts {
                guard var entry = entries[part.scope], entry.periodStart == part.periodStart else {
                    // The period rolled over during the call: the old period's numbers are gone.
                    continue
                }
                entry.reserved = max(0, entry.reserved - part.amount)
                entry.spent += max(0, actual)
                entries[part.scope] = entry
            }
        }
    }

    /// The standing of a budgeted scope now.
    package func balance(_ scope: LimitScope) async throws(GatewayError) -> Balance? {
        guard let budget = scope.budget else { return nil }
        let now = clock()
        try await ensureLoaded(scope.id, periodStart: budget.period.start(containing: now))
        let entry = entries.withLock { $0[scope.id] }
        return Balance(
            maxUSD: budget.maxUSD, spentUSD: entry?.spent ?? 0, reservedUSD: entry?.reserved ?? 0,
            period: budget.period, resetsAt: budget.period.reset(after: now)
        )
    }

    /// Forgets a scope's numbers so the next call reads the store again (after a period change
    /// of the key's budget, say).
    package func forget(_ scopeID: String) {
        entries.withLock { entries in
            if entries[scopeID]?.reserved == 0 { entries[scopeID] = nil }
        }
    }

    private func ensureLoaded(_ scope: String, periodStart: Double) async throws(GatewayError) {
        let now = clock()
        enum Need { case none, load, sync }
        let need: Need = entries.withLock { entries in
            guard let entry = entries[scope], entry.periodStart == periodStart else { return .load }
            guard now - entry.syncedAt >= syncInterval else { return .none }
            // Claim the re-read so concurrent calls don't all make it.
            entries[scope]?.syncedAt = now
            return .sync
        }
        if need == .none { return }
        let spent: Double
        do {
            spent = try await loader(scope, periodStart)
        } catch {
            // A failed re-read keeps the numbers in memory; only a first read must succeed.
            if need == .sync { return }
            throw GatewayError(
                .internalError, "Spend could not be read from the database, so the budget cannot be checked; try again.",
                status: 503
            )
        }
        entries.withLock { entries in
            if var entry = entries[scope], entry.periodStart == periodStart {
                // Another request loaded it meanwhile and may have reserved against it: keep that,
                // and take the store's figure only if other replicas have spent more.
                entry.spent = max(entry.spent, spent)
                entry.syncedAt = now
                entries[scope] = entry
            } else {
                entries[scope] = Entry(periodStart: periodStart, spent: spent, reserved: 0, syncedAt: now)
            }
        }
    }

    static func exceeded(_ scope: LimitScope, budget: Budget, spent: Double, now: Double) -> GatewayError {
        let reset = budget.period.reset(after: now).map { " It resets at \(CivilDate.isoTimestamp($0))." }
            ?? " It is a total budget and does not reset."
        return GatewayError(
            .budgetExceeded,
            "Budget exceeded for \(scope.label): \(budget.period.rawValue) budget of $\(Self.dollars(budget.maxUSD)), "
                + "$\(Self.dollars(spent)) spent." + reset,
            retryAfterSeconds: budget.period.reset(after: now).map { Int(($0 - now).rounded(.up)) }
        )
    }

    static func dollars(_ value: Double) -> String {
        let cents = Int64((value * 10_000).rounded())
        let whole = cents / 10_000
        var fraction = String(cents % 10_000)
        fraction = String(repeating: "0", count: 4 - fraction.count) + fraction
        while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}
