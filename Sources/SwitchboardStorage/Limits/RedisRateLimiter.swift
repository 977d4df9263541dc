package import Logging
package import Metrics
import ServiceLifecycle
package import SwitchboardCore
package import SwitchboardRedis
import Synchronization

/// Rate limits shared by every replica: the token buckets of ``RateLimiter`` (a minute's worth
/// of capacity, refilled continuously, debt down to minus one capacity) kept in Redis, one hash
/// per bucket, and changed by one Lua script per admission — all of a call's buckets checked
/// and taken at once, on Redis's own clock, so replicas' clocks do not matter.
///
/// Settling tokens and refunds are queued and written by ``run()`` (a Service), off the request.
///
/// When Redis does not answer (or answers with an error) the call goes by `failure`:
/// `fail_open` admits it against this replica's own in-memory buckets, `fail_closed` refuses it as unavailable (503). A failure to reach Redis is logged
/// once, `rate_limiter_backend_up` goes to 0, and a probe every `probeInterval` brings Redis back.
package final class RedisRateLimiter: RateLimiting, Service {
    private enum Write: Sendable {
        case take(keys: [String], capacities: [Double], amounts: [Double])
    }

    private let client: RedisClient
    private let prefix: String
    private let failure: SharedStoreFailure
    /// This replica's own buckets: what `fail_open` admits against.
    private let local: RateLimiter
    private let logger: Logger
    private let probeInterval: Duration
    private let backendUp: Meter
    private let health = BackendHealth()
    private let droppedWrites = Atomic<Int>(0)
    private let refusalCount = Atomic<Int>(0)
    private let writesInFlight = Atomic<Int>(0)
    static let maxWritesInFlight = 32
    private let scripts = Mutex<[String: String]>([:])
    private let writes: AsyncStream<Write>
    private let writer: AsyncStream<Write>.Continuation

    /// A bucket untouched this long is full again (from the deepest debt, two minutes), so Redis
    /// may forget it: a missing bucket is a full one.
    static let bucketLifetimeSeconds = 125

    package init(
        client: RedisClient, prefix: String, failure: SharedStoreFailure, local: RateLimiter = RateLimiter(), metricsFactory: any MetricsFactory,
        logger: Logger, probeInterval: Duration = .milliseconds(500), queueCapacity: Int = 16_384
    ) {
        self.client = client
        self.prefix = prefix
        self.failure = failure
        self.local = local
        self.logger = logger
        self.probeInterval = probeInterval
        self.backendUp = Meter(label: "rate_limiter_backend_up", dimensions: [("backend", "redis")], factory: metricsFactory)
        backendUp.set(1)
        (writes, writer) = AsyncStream.makeStream(of: Write.self, bufferingPolicy: .bufferingOldest(max(1, queueCapacity)))
    }

    /// Whether admissions go to Redis now.
    package var isBackendUp: Bool { health.isUp }

    // MARK: RateLimiting

    package func admit(_ scopes: [LimitScope], promptTokens: Int) async -> Result<RateLimitStatus?, RateLimiter.Rejection> {
        let buckets = Self.buckets(scopes, promptTokens: promptTokens)
        guard !buckets.isEmpty else { return .success(nil) }
        guard isBackendUp else { return degraded(scopes, promptTokens: promptTokens) }
        var arguments = [RESPArgument(Self.bucketLifetimeSeconds)]
        for bucket in buckets {
            arguments += [RESPArgument(String(bucket.capacity)), RESPArgument(String(bucket.amount)), RESPArgument(String(bucket.need))]
        }
        let answer: RESPValue
        do {
            answer = try await run(Self.admitScript, keys: buckets.map { prefix + $0.key }, arguments: arguments)
        } catch {
            return failed(error, scopes, promptTokens: promptTokens)
        }
        guard case .array(let parts?) = answer, let verdict = parts.first?.integer else {
            return failed(RedisError.unexpectedReply(command: "EVALSHA"), scopes, promptTokens: promptTokens)
        }
        if verdict == 0 {
            guard parts.count == 3, let index = parts[1].integer.map({ Int($0) - 1 }), buckets.indices.contains(index),
                let wait = parts[2].string.flatMap(Double.init)
            else {
                return failed(RedisError.unexpectedReply(command: "EVALSHA"), scopes, promptTokens: promptTokens)
            }
            let bucket = buckets[index]
            return .failure(RateLimiter.Rejection(
                scope: bucket.scope, tokens: bucket.tokens, limit: Int(bucket.capacity), retryAfterSeconds: wait < 0 ? .infinity : wait
            ))
        }
        let levels = parts.dropFirst().compactMap { $0.string.flatMap(Double.init) }
        guard levels.count == buckets.count else {
            return failed(RedisError.unexpectedReply(command: "EVALSHA"), scopes, promptTokens: promptTokens)
        }
        return .success(Self.status(buckets, levels: levels))
    }

    package func settleTokens(_ scopes: [LimitScope], difference: Int) {
        guard difference != 0 else { return }
        let tokenScopes = scopes.filter { $0.tpm != nil }
        guard !tokenScopes.isEmpty else { return }
        guard isBackendUp else {
            local.settleTokens(scopes, difference: difference, now: local.seconds())
            return
        }
        queue(.take(
            keys: tokenScopes.map { prefix + Self.key($0, tokens: true) },
            capacities: tokenScopes.map { Double($0.tpm ?? 0) }, amounts: tokenScopes.map { _ in Double(difference) }
        ))
    }

    package func refund(_ scopes: [LimitScope], promptTokens: Int) {
        let buckets = Self.buckets(scopes, promptTokens: promptTokens).filter { $0.amount > 0 }
        guard !buckets.isEmpty else { return }
        guard isBackendUp else {
            local.refund(scopes, promptTokens: promptTokens, now: local.seconds())
            return
        }
        queue(.take(keys: buckets.map { prefix + $0.key }, capacities: buckets.map(\.capacity), amounts: buckets.map { -$0.amount }))
    }

    package func waitBeforeNext(_ scope: LimitScope) async -> Double {
        guard let rpm = scope.rpm else { return 0 }
        guard isBackendUp else { return local.waitBeforeNext(scope, now: local.seconds()) }
        do {
            let answer = try await run(Self.waitScript, keys: [prefix + Self.key(scope, tokens: false)], arguments: [RESPArgument(String(Double(rpm)))])
            guard let wait = answer.string.flatMap(Double.init) else { throw RedisError.unexpectedReply(command: "EVALSHA") }
            return wait < 0 ? .infinity : wait
        } catch {
            // A look, not an admission: this replica's own view in either mode.
            if !(error is RedisServerRefusal) { markDown(error) }
            return local.waitBeforeNext(scope, now: local.seconds())
        }
    }

    // MARK: Service

    /// Writes queued settlements and refunds, probes Redis while it is away, until graceful
    /// shutdown; then writes what is queued and closes the client.
    package func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Connected and the scripts loaded before the first admission needs them, with
                // the time a connect takes (TLS, AUTH), not an admission's.
                await self.warmUp()
                await self.probe()
            }
            await withGracefulShutdownHandler {
                for await write in writes {
                    // A few at once: one at a time would cap settlements at one per round trip.
                    if writesInFlight.add(1, ordering: .relaxed).newValue > Self.maxWritesInFlight {
                        await self.write(write)
                    } else {
                        group.addTask { await self.write(write) }
                    }
                }
            } onGracefulShutdown: {
                self.writer.finish()
            }
            group.cancelAll()
        }
        await client.shutdown()
    }

    private func write(_ write: Write) async {
        defer { writesInFlight.subtract(1, ordering: .relaxed) }
        // While Redis is away the settlement is dropped: each would wait out the timeout, and
        // the buckets it corrects expire on their own within two minutes.
        guard isBackendUp else { return }
        switch write {
        case .take(let keys, let capacities, let amounts):
            var arguments = [RESPArgument(Self.bucketLifetimeSeconds)]
            for (capacity, amount) in zip(capacities, amounts) { arguments += [RESPArgument(String(capacity)), RESPArgument(String(amount))] }
            do {
                _ = try await run(Self.takeScript, keys: keys, arguments: arguments)
            } catch {
                if !(error is RedisServerRefusal) { markDown(error) }
            }
        }
    }

    private func warmUp() async {
        do {
            try await client.ping(timeout: client.configuration.connectTimeout)
            for script in [Self.admitScript, Self.takeScript, Self.waitScript] {
                let loaded = try RedisClient.checked(
                    await client.send(RedisCommand("SCRIPT", ["LOAD", RESPArgument(script)]), timeout: client.configuration.connectTimeout), "SCRIPT"
                )
                if let sha = loaded.string { scripts.withLock { $0[script] = sha } }
            }
        } catch {
            markDown(error)
        }
    }

    private func probe() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: probeInterval)
            } catch {
                return
            }
            guard !isBackendUp else { continue }
            if (try? await client.ping(timeout: client.configuration.connectTimeout)) != nil { markUp() }
        }
    }

    private func queue(_ write: Write) {
        guard case .dropped = writer.yield(write) else { return }
        let dropped = droppedWrites.add(1, ordering: .relaxed).newValue
        if dropped == 1 || dropped.isMultiple(of: 1000) {
            logger.warning("rate limit settlement queue full; settlements dropped", metadata: ["dropped": "\(dropped)"])
        }
    }

    // MARK: Failure

    /// Redis answered, but with an error (`-OOM`, `-WRONGTYPE`, a script error): not an outage.
    struct RedisServerRefusal: Error {
        let message: String
    }

    private func failed(_ error: any Error, _ scopes: [LimitScope], promptTokens: Int) -> Result<RateLimitStatus?, RateLimiter.Rejection> {
        if error is RedisServerRefusal {
            let refusals = refusalCount.add(1, ordering: .relaxed).newValue
            if refusals == 1 || refusals.isMultiple(of: 1000) {
                logger.warning("the shared rate limiter's script failed", metadata: ["error": "\(error)", "times": "\(refusals)"])
            }
        } else {
            markDown(error)
        }
        return degraded(scopes, promptTokens: promptTokens)
    }

    private func degraded(_ scopes: [LimitScope], promptTokens: Int) -> Result<RateLimitStatus?, RateLimiter.Rejection> {
        switch failure {
        case .open:
            return local.admit(scopes, promptTokens: promptTokens, now: local.seconds())
        case .closed:
            let scope = scopes.first { $0.rpm != nil || $0.tpm != nil } ?? scopes[0]
            var rejection = RateLimiter.Rejection(scope: scope, tokens: false, limit: scope.rpm ?? scope.tpm ?? 0, retryAfterSeconds: 1)
            rejection.unavailable = true
            return .failure(rejection)
        }
    }

    private func markDown(_ error: any Error) {
        guard health.markDown() else { return }
        backendUp.set(0)
        logger.warning("shared rate limiter unreachable", metadata: [
            "backend": "redis", "error": "\(error)",
            "now": "\(failure == .open ? "each replica limits on its own (fail_open)" : "calls with limits are refused (fail_closed)")",
        ])
    }

    private func markUp() {
        guard health.markUp() else { return }
        backendUp.set(1)
        logger.info("shared rate limiter answers again", metadata: ["backend": "redis"])
    }

    // MARK: Scripts

    /// Runs a script by its digest, loading it first (and again if Redis lost it, `NOSCRIPT`).
    private func run(_ script: String, keys: [String], arguments: [RESPArgument]) async throws -> RESPValue {
        for attempt in 0..<2 {
            let digest: String
            if let known = scripts.withLock({ $0[script] }) {
                digest = known
            } else {
                let loaded = try RedisClient.checked(await client.send(RedisCommand("SCRIPT", ["LOAD", RESPArgument(script)])), "SCRIPT")
                guard let sha = loaded.string else { throw RedisError.unexpectedReply(command: "SCRIPT") }
                scripts.withLock { $0[script] = sha }
                digest = sha
            }
            let answer = try await client.send(
                RedisCommand("EVALSHA", [RESPArgument(digest), RESPArgument(keys.count)] + keys.map { RESPArgument($0) } + arguments)
            )
            if case .error(let message) = answer {
                if message.hasPrefix("NOSCRIPT"), attempt == 0 {
                    _ = scripts.withLock { $0.removeValue(forKey: script) }
                    continue
                }
                throw RedisServerRefusal(message: message)
            }
            return answer
        }
        throw RedisServerRefusal(message: "NOSCRIPT after loading")
    }

    /// KEYS: the buckets. ARGV[1]: seconds a bucket outlives its last change; then per bucket its
    /// capacity (per minute), what to take, and what must be there first. Checks every bucket
    /// before taking from any. Answers `{0, bucket, seconds to wait}` or `{1, level…}` (numbers
    /// as strings: Redis would cut Lua's to integers).
    static let admitScript = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
        local levels = {}
        for i, key in ipairs(KEYS) do
          local base = 2 + (i - 1) * 3
          local capacity = tonumber(ARGV[base])
          local need = tonumber(ARGV[base + 2])
          local stored = redis.call('HMGET', key, 'l', 'u', 'c')
          local level = capacity
          if stored[1] and tonumber(stored[3]) == capacity then
            level = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * capacity / 60)
          end
          if level < need then
            local wait = -1
            if capacity > 0 then wait = (need - level) * 60 / capacity end
            return {0, i, tostring(wait)}
          end
          levels[i] = level
        end
        local answer = {1}
        for i, key in ipairs(KEYS) do
          local base = 2 + (i - 1) * 3
          local capacity = tonumber(ARGV[base])
          local level = math.max(-capacity, levels[i] - tonumber(ARGV[base + 1]))
          redis.call('HSET', key, 'l', tostring(level), 'u', tostring(now), 'c', tostring(capacity))
          redis.call('EXPIRE', key, tonumber(ARGV[1]))
          answer[#answer + 1] = tostring(level)
        end
        return answer
        """

    /// KEYS: buckets that exist. ARGV[1]: lifetime; then per bucket its capacity and what to take
    /// (negative gives back, never past full). A bucket Redis forgot is full: nothing to do.
    static let takeScript = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
        for i, key in ipairs(KEYS) do
          local capacity = tonumber(ARGV[2 + (i - 1) * 2])
          local amount = tonumber(ARGV[3 + (i - 1) * 2])
          local stored = redis.call('HMGET', key, 'l', 'u', 'c')
          if stored[1] and tonumber(stored[3]) == capacity then
            local level = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * capacity / 60)
            if amount > 0 then level = math.max(-capacity, level - amount) else level = math.min(capacity, level - amount) end
            redis.call('HSET', key, 'l', tostring(level), 'u', tostring(now))
            redis.call('EXPIRE', key, tonumber(ARGV[1]))
          end
        end
        return 1
        """

    /// KEYS[1]: a request bucket; ARGV[1]: its capacity. Seconds until one request fits (`-1`: never).
    static let waitScript = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
        local capacity = tonumber(ARGV[1])
        local stored = redis.call('HMGET', KEYS[1], 'l', 'u', 'c')
        if not stored[1] or tonumber(stored[3]) ~= capacity then return '0' end
        local level = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * capacity / 60)
        if level >= 1 then return '0' end
        if capacity <= 0 then return '-1' end
        return tostring((1 - level) * 60 / capacity)
        """

    // MARK: Buckets

    struct Bucket {
        var scope: LimitScope
        var tokens: Bool
        var key: String
        var capacity: Double
        var amount: Double
        var need: Double
    }

    static func key(_ scope: LimitScope, tokens: Bool) -> String {
        scope.id + (tokens ? ":tpm" : ":rpm")
    }

    /// A call's buckets: one request from each RPM limit, its prompt tokens from each TPM limit
    /// (which admits while it is not in debt).
    static func buckets(_ scopes: [LimitScope], promptTokens: Int) -> [Bucket] {
        var buckets: [Bucket] = []
        for scope in scopes {
            if let rpm = scope.rpm {
                buckets.append(Bucket(scope: scope, tokens: false, key: key(scope, tokens: false), capacity: Double(rpm), amount: 1, need: 1))
            }
            if let tpm = scope.tpm {
                buckets.append(Bucket(
                    scope: scope, tokens: true, key: key(scope, tokens: true), capacity: Double(tpm), amount: Double(promptTokens),
                    need: min(1, Double(tpm))
                ))
            }
        }
        return buckets
    }

    /// The `X-RateLimit-*` figures, as the in-memory limiter reports them: the request bucket
    /// with the least left, and the token bucket with the least left.
    static func status(_ buckets: [Bucket], levels: [Double]) -> RateLimitStatus? {
        var status: RateLimitStatus?
        var fromTokens = false
        var tokens: (limit: Int, remaining: Int)?
        for (bucket, level) in zip(buckets, levels) {
            let remaining = max(0, Int(level.rounded(.down)))
            let reset = bucket.capacity > 0 ? Int((max(0, bucket.capacity - level) * 60 / bucket.capacity * 1000).rounded(.up)) : 0
            let figures = RateLimitStatus(limit: Int(bucket.capacity), remaining: remaining, resetMilliseconds: reset)
            if bucket.tokens {
                if tokens.map({ remaining < $0.remaining }) ?? true { tokens = (Int(bucket.capacity), remaining) }
                if status == nil {
                    status = figures
                    fromTokens = true
                }
            } else if status == nil || fromTokens || remaining < status?.remaining ?? .max {
                status = figures
                fromTokens = false
            }
        }
        status?.tokenLimit = tokens?.limit
        status?.tokensRemaining = tokens?.remaining
        return status
    }
}
