import SwitchboardCore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct RateLimiterTests {
    let scope = LimitScope(id: "key:a", label: "key `a`", rpm: 3)

    @Test func admitsUpToTheLimitThenRefusesWithTheWait() {
        let limiter = RateLimiter()
        var remaining: [Int] = []
        for _ in 0..<3 {
            guard case .success(let status) = limiter.admit([scope], promptTokens: 0, now: 100) else {
                Issue.record("refused too early")
                return
            }
            remaining.append(status?.remaining ?? -1)
            #expect(status?.limit == 3)
        }
        #expect(remaining == [2, 1, 0])
        guard case .failure(let rejection) = limiter.admit([scope], promptTokens: 0, now: 100) else {
            Issue.record("fourth request admitted")
            return
        }
        // 3 per minute: one request comes back every 20 s.
        #expect(abs(rejection.retryAfterSeconds - 20) < 0.001)
        #expect(rejection.limit == 3)
        // After 20 s one more is allowed, and only one.
        guard case .success = limiter.admit([scope], promptTokens: 0, now: 120) else {
            Issue.record("not refilled")
            return
        }
        guard case .failure = limiter.admit([scope], promptTokens: 0, now: 120) else {
            Issue.record("refilled too much")
            return
        }
    }

    @Test func aRefusalByOneScopeTakesNothingFromAnother() {
        let limiter = RateLimiter()
        let key = LimitScope(id: "key:b", label: "key", rpm: 10)
        let user = LimitScope(id: "user:u", label: "user", rpm: 1)
        guard case .success(let first) = limiter.admit([key, user], promptTokens: 0, now: 0) else {
            Issue.record("first refused")
            return
        }
        // The tighter scope is what the headers report.
        #expect(first?.limit == 1 && first?.remaining == 0)
        guard case .failure(let rejection) = limiter.admit([key, user], promptTokens: 0, now: 0) else {
            Issue.record("second admitted")
            return
        }
        #expect(rejection.scope.id == "user:u")
        guard case .success(let keyOnly) = limiter.admit([key], promptTokens: 0, now: 0) else {
            Issue.record("key alone refused")
            return
        }
        #expect(keyOnly?.remaining == 8)
    }

    @Test func tokensPerMinuteCountWhatWasUsed() {
        let limiter = RateLimiter()
        let scope = LimitScope(id: "key:t", label: "key", tpm: 600)
        guard case .success = limiter.admit([scope], promptTokens: 100, now: 0) else {
            Issue.record("refused")
            return
        }
        // The call used 700 tokens in all: 600 more than admitted, so the bucket is in debt.
        limiter.settleTokens([scope], difference: 600, now: 0)
        guard case .failure(let rejection) = limiter.admit([scope], promptTokens: 1, now: 1) else {
            Issue.record("admitted while in debt")
            return
        }
        #expect(rejection.tokens)
        // 10 tokens a second pay the debt of 100 (plus one) back in about 10 s.
        guard case .success = limiter.admit([scope], promptTokens: 1, now: 12) else {
            Issue.record("debt never paid")
            return
        }
    }

    @Test func idleBucketsAreForgottenPastTheThreshold() {
        let limiter = RateLimiter(pruneThreshold: 10)
        for index in 0..<20 {
            _ = limiter.admit([LimitScope(id: "ip:\(index)", label: "ip", rpm: 60)], promptTokens: 0, now: 0)
        }
        // A minute later every bucket is full again, so the next admission prunes them.
        _ = limiter.admit([LimitScope(id: "ip:new", label: "ip", rpm: 60)], promptTokens: 0, now: 120)
        #expect(limiter.bucketCount <= 11)
    }
}

@Suite struct BudgetBookTests {
    @Test func concurrentReservationsNeverPassTheBudget() async throws {
        let book = BudgetBook(loader: { _, _ in 0 }, clock: { 1_700_000_000 })
        let scope = LimitScope(id: "key:k", label: "key `k`", budget: Budget(maxUSD: 10, period: .monthly))
        let admitted = await withTaskGroup(of: BudgetBook.Hold?.self) { group in
            for _ in 0..<100 {
                group.addTask { try? await book.reserve([scope], amount: 1) }
            }
            var holds: [BudgetBook.Hold] = []
            for await hold in group { if let hold { holds.append(hold) } }
            return holds
        }
        #expect(admitted.count == 10)
        for hold in admitted { book.settle(hold, actual: 0.5) }
        let balance = try #require(try await book.balance(scope))
        #expect(abs(balance.spentUSD - 5) < 1e-9)
        #expect(balance.reservedUSD == 0)
        #expect(abs(balance.remainingUSD - 5) < 1e-9)
    }

    @Test func refusalNamesTheBudgetAndItsReset() async throws {
        let now = 1_764_633_600.0 + 3600  // 2025-12-02T01:00:00Z
        let book = BudgetBook(loader: { _, _ in 9.99 }, clock: { now })
        let scope = LimitScope(id: "user:alice", label: "user `alice`", budget: Budget(maxUSD: 10, period: .daily))
        do {
            _ = try await book.reserve([scope], amount: 0.5)
            Issue.record("reservation past the budget was admitted")
        } catch {
            #expect(error.code == .budgetExceeded)
            #expect(error.message.contains("user `alice`"))
            #expect(error.message.contains("daily budget of $10.00"))
            #expect(error.message.contains("2025-12-03T00:00:00Z"))
            #expect(error.retryAfterSeconds == 23 * 3600)
        }
    }

    @Test func spendIsReadOncePerPeriodFromTheStore() async throws {
        let loads = LockedValue(0)
        let book = BudgetBook(
            loader: { _, _ in
                loads.withLock { $0 += 1 }
                return 2
            },
            clock: { 1_700_000_000 }
        )
        let scope = LimitScope(id: "key:x", label: "key", budget: Budget(maxUSD: 3, period: .total))
        let hold = try await book.reserve([scope], amount: 0.75)
        book.settle(hold, actual: 0.25)
        let balance = try #require(try await book.balance(scope))
        #expect(abs(balance.spentUSD - 2.25) < 1e-9)
        #expect(loads.withLock { $0 } == 1)
    }
}

@Suite struct GovernanceValueTests {
    @Test(arguments: [
        (1_764_633_600.0, BudgetPeriod.monthly, 1_764_547_200.0),  // 2025-12-02 → 2025-12-01
        (1_709_251_200.0, BudgetPeriod.monthly, 1_709_251_200.0),  // 2024-03-01 itself
        (1_764_640_000.0, BudgetPeriod.daily, 1_764_633_600.0),
        (1_764_640_000.0, BudgetPeriod.total, 0.0),
    ])
    func periodStarts(time: Double, period: BudgetPeriod, start: Double) {
        #expect(period.start(containing: time) == start)
    }

    @Test func monthlyResetCrossesTheYear() {
        // 2025-12-15 → 2026-01-01T00:00:00Z
        #expect(BudgetPeriod.monthly.reset(after: 1_765_756_800).map(CivilDate.isoTimestamp) == "2026-01-01T00:00:00Z")
        #expect(BudgetPeriod.total.reset(after: 1_765_756_800) == nil)
    }

    @Test func parsesDatesAndTimes() {
        #expect(CivilDate.parse("2026-12-02") == 1_796_169_600)
        #expect(CivilDate.parse("2026-12-02T01:02:03Z") == 1_796_173_323.0)
        #expect(CivilDate.parse("2026-12-02T01:02:03.5+00:00") == 1_796_173_323.0)
        #expect(CivilDate.parse("1796169600") == 1_796_169_600)
        #expect(CivilDate.parse("2026-13-02") == nil)
        #expect(CivilDate.parse("2026-12-02T01:02:03+02:00") == nil)
        #expect(CivilDate.parse("yesterday") == nil)
    }

    @Test(arguments: [
        ("gpt-4o*", "gpt-4o-mini", true), ("gpt-4o*", "gpt-4.1", false), ("openai/*", "openai/gpt-4o", true),
        ("claude-?-haiku", "claude-3-haiku", true), ("*", "anything", true), ("fast", "fast", true), ("fast", "faster", false),
    ])
    func modelGlobs(pattern: String, model: String, matches: Bool) {
        #expect(ModelGlob.matches(pattern, model) == matches)
    }

    /// Roles are permission sets, not a ladder: a viewer holds `read_usage`, which a user lacks.
    @Test func rolesArePermissionSetsAndMintOnlySubsets() {
        #expect(Role.admin.permissions == Set(Permission.allCases))
        #expect(Role.user.permissions == [.callModels, .selfService])
        #expect(Role.viewer.permissions == [.selfService, .readUsage, .readOperations])
        #expect(!Role.user.permissions.isSubset(of: Role.viewer.permissions))
        #expect(!Role.viewer.permissions.isSubset(of: Role.user.permissions))
        // Minting: only subsets of the maker's permissions, never admin.
        #expect(Role.user.mayMint(.user) && !Role.user.mayMint(.viewer) && !Role.user.mayMint(.admin))
        #expect(Role.viewer.mayMint(.viewer) && !Role.viewer.mayMint(.user) && !Role.viewer.mayMint(.admin))
        #expect(Role.admin.mayMint(.user) && Role.admin.mayMint(.viewer) && !Role.admin.mayMint(.admin))
        #expect(!Role.viewer.mayCallModels && Role.viewer.mayReadUsage)
        #expect(Role.user.mayCallModels && !Role.user.mayReadUsage && !Role.user.mayAdminister)
        #expect(Role.admin.mayAdminister)
    }

    @Test func cachedAndReasoningTokensAreChargedAtTheirOwnRates() throws {
        let price = ModelPrice(
            inputPerMillionTokens: 2, outputPerMillionTokens: 8, cachedInputPerMillionTokens: 0.5, reasoningPerMillionTokens: 10
        )
        let usage = Usage(
            promptTokens: 1_000_000, completionTokens: 1_000_000,
            extra: [
                "prompt_tokens_details": ["cached_tokens": 400_000],
                "completion_tokens_details": ["reasoning_tokens": 250_000],
            ]
        )
        // 0.6 M input at 2 + 0.4 M cached at 0.5 + 0.75 M output at 8 + 0.25 M reasoning at 10.
        #expect(abs(PriceTable.cost(price, usage: usage) - (1.2 + 0.2 + 6 + 2.5)) < 1e-9)
        // Without separate rates, cached and reasoning tokens cost the plain rates.
        let plain = ModelPrice(inputPerMillionTokens: 2, outputPerMillionTokens: 8)
        #expect(abs(PriceTable.cost(plain, usage: usage) - 10) < 1e-9)
    }

    @Test func builtInPricesCoverEveryProviderType() throws {
        let table = PriceTable()
        for model in [
            "gpt-4o-mini-2024-07-18", "claude-3-5-haiku-20241022", "gemini-2.5-flash", "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "us.anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-embed-text-v2:0", "llama-3.3-70b-versatile", "mistral-small-latest",
        ] {
            #expect(table.price(for: model) != nil, "no price for \(model)")
        }
        let mini = try #require(table.price(for: "gpt-4o-mini"))
        #expect(mini.cachedInputPerMillionTokens == 0.075)
    }
}

@Suite struct RedactorTests {
    @Test func removesPersonalDataAndSecrets() {
        let redactor = Redactor()
        let text = """
            mail jane.doe@example.com, call +1 415-555-0132, card 4111 1111 1111 1111,
            key sk-proj-abcdefghijklmnop1234, Authorization: Bearer abc.def-ghi_123456,
            aws AKIAIOSFODNN7EXAMPLE, token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl
            """
        let redacted = redactor.redact(text)
        for secret in [
            "jane.doe@example.com", "415-555-0132", "4111 1111 1111 1111", "sk-proj-abcdefghijklmnop1234", "abc.def-ghi_123456",
            "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9",
        ] {
            #expect(!redacted.contains(secret), "\(secret) survived")
        }
        #expect(redacted.contains("[REDACTED:email]"))
        #expect(redacted.contains("[REDACTED:card]"))
        #expect(redacted.contains("[REDACTED:api_key]"))
        #expect(redacted.hasPrefix("mail "))
    }

    @Test func customPatternsAndTruncation() {
        let redactor = Redactor(custom: [#"ACCT-\d{6}"#])
        #expect(redactor.redact("account ACCT-123456 ok") == "account [REDACTED] ok")
        let preview = redactor.preview(String(repeating: "a", count: 50), limit: 10)
        #expect(preview == String(repeating: "a", count: 10) + "…[truncated 40 chars]")
        #expect(!RedactionPattern.isValid("([unclosed"))
    }
}

@Suite struct BudgetSyncTests {
    @Test func spendFromOtherReplicasIsSeenAfterTheSyncInterval() async throws {
        let clock = LockedValue(1_700_000_000.0)
        let stored = LockedValue(1.0)
        let book = BudgetBook(loader: { _, _ in stored.withLock { $0 } }, clock: { clock.withLock { $0 } }, syncInterval: 10)
        let scope = LimitScope(id: "key:shared", label: "key", budget: Budget(maxUSD: 5, period: .total))
        let hold = try await book.reserve([scope], amount: 1)
        book.settle(hold, actual: 1)
        // Another replica books $3 more; within the interval this one does not look.
        stored.withLock { $0 = 4 }
        #expect(try await book.balance(scope)?.spentUSD == 2)
        clock.withLock { $0 += 11 }
        #expect(try await book.balance(scope)?.spentUSD == 4)
        // The store never lowers what memory knows (rows of this replica may still be queued).
        stored.withLock { $0 = 0 }
        clock.withLock { $0 += 11 }
        #expect(try await book.balance(scope)?.spentUSD == 4)
        await #expect(throws: GatewayError.self) { try await book.reserve([scope], amount: 1.5) }
    }
}

@Suite struct KeyCacheTests {
    static let key = VirtualKey(id: "key_1", name: "k", prefix: "sk-sb-1", hash: "h1", userID: "alice", createdAt: 0)

    @Test func aLookupThatRacedAnInvalidationIsNotCached() {
        let cache = MemoryKeyCache(ttl: .seconds(60))
        let before = cache.generation
        // A lookup starts; meanwhile the key is revoked (here or, broadcast, on another replica).
        cache.invalidate(keyHash: "h1")
        cache.store(CachedKey(key: Self.key, userLimits: nil), hash: "h1", ifGeneration: before)
        #expect(cache.key(hash: "h1") == nil)
        cache.store(nil, userID: "alice", ifGeneration: before)
        #expect(cache.userLimits("alice") == nil)
        // A lookup with no invalidation meanwhile is cached.
        let now = cache.generation
        cache.store(CachedKey(key: Self.key, userLimits: nil), hash: "h1", ifGeneration: now)
        #expect(cache.key(hash: "h1")?.key?.id == "key_1")
        // Forgetting a user forgets that user's keys; forgetting all, all.
        cache.invalidate(userID: "alice")
        #expect(cache.key(hash: "h1") == nil)
        cache.store(CachedKey(key: Self.key, userLimits: nil), hash: "h1", ifGeneration: cache.generation)
        cache.invalidateAllKeys()
        #expect(cache.key(hash: "h1") == nil)
    }
}
