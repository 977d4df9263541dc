/// A token bucket refilled continuously: `capacity` per minute, so bursts up to a minute's worth.
///
/// A value type with no clock of its own; the owner passes the time in, so it is tested without waiting.
package struct TokenBucket: Sendable, Hashable {
    package let capacity: Double
    package private(set) var level: Double
    package private(set) var updated: Double

    package init(perMinute: Int, now: Double) {
        self.capacity = Double(max(perMinute, 0))
        self.level = capacity
        self.updated = now
    }

    var refillPerSecond: Double { capacity / 60 }

    package mutating func refill(now: Double) {
        guard now > updated else { return }
        level = min(capacity, level + (now - updated) * refillPerSecond)
        updated = now
    }

    /// Seconds until `amount` is available (0 if it is now). Call after ``refill(now:)``.
    package func wait(for amount: Double) -> Double {
        guard level < amount else { return 0 }
        guard refillPerSecond > 0 else { return .infinity }
        return (amount - level) / refillPerSecond
    }

    /// Seconds until the bucket is full again.
    package var secondsUntilFull: Double {
        refillPerSecond > 0 ? max(0, capacity - level) / refillPerSecond : 0
    }

    /// Takes `amount`; the level may go below zero (token debt settled after a call), never below `-capacity`.
    package mutating func take(_ amount: Double) {
        level = max(-capacity, level - amount)
    }

    package var isFull: Bool { level >= capacity }
}

/// What the `X-RateLimit-*` headers report: the tightest request limit that applied.
package struct RateLimitStatus: Sendable, Hashable {
    package var limit: Int
    package var remaining: Int
    package var resetMilliseconds: Int
    package var tokenLimit: Int?
    package var tokensRemaining: Int?

    package init(limit: Int, remaining: Int, resetMilliseconds: Int, tokenLimit: Int? = nil, tokensRemaining: Int? = nil) {
        self.limit = limit
        self.remaining = remaining
        self.resetMilliseconds = resetMilliseconds
        self.tokenLimit = tokenLimit
        self.tokensRemaining = tokensRemaining
    }
}

/// Requests-per-minute and tokens-per-minute limits for every scope, in memory.
///
/// A request is admitted for all of its scopes at once or for none. Prompt tokens (estimated)
/// are taken on admission and the difference to the real usage when the call settles, so TPM
/// counts what was actually used.
package final class RateLimiter: Sendable {
    private struct BucketKey: Hashable {
        var scope: String
        var tokens: Bool
    }

    package struct Rejection: Error, Sendable, Hashable {
        package var scope: LimitScope
        package var tokens: Bool
        package var limit: Int
        package var retryAfterSeconds: Double
        /// The limiter could not tell (a shared store away, `fail_closed`): not over the limit.
        package var unavailable = false

        /// What a caller gets for an `unavailable` rejection: a 503 to retry shortly.
        package static var unavailableError: GatewayError {
            GatewayError(.internalError, "The shared rate limiter cannot be reached; retry shortly.", retryAfterSeconds: 1, status: 503)
        }

        /// Whole seconds for `Retry-After`, at least 1. A limit of 0 never refills (the wait is
        /// infinite): a minute, the period limits are counted over.
        package var retryAfterWholeSeconds: Int {
            retryAfterSeconds.isFinite ? max(1, Int(min(retryAfterSeconds, 86_400).rounded(.up))) : 60
        }

        package init(scope: LimitScope, tokens: Bool, limit: Int, retryAfterSeconds: Double) {
            self.scope = scope
            self.tokens = tokens
            self.limit = limit
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    private let buckets = LockedValue<[BucketKey: TokenBucket]>([:])
    private let epoch = ContinuousClock.now
    /// Beyond this many buckets, full (idle) ones are forgotten; a full bucket carries no information.
    private let pruneThreshold: Int

    package init(pruneThreshold: Int = 10_000) {
        self.pruneThreshold = pruneThreshold
    }

    package func seconds(_ instant: ContinuousClock.Instant = .now) -> Double {
        (instant - epoch).seconds
    }

    /// Admits one request carrying `promptTokens`, or says which limit refused it and for how long.
    package func admit(_ scopes: [LimitScope], promptTokens: Int, now: Double) -> Result<RateLimitStatus?, Rejection> {
        guard scopes.contains(where: { $0.rpm != nil || $0.tpm != nil }) else { return .success(nil) }
        return buckets.withLock { buckets in
            if buckets.count > pruneThreshold {
                buckets = buckets.filter { entry in
                    var bucket = entry.value
                    bucket.refill(now: now)
                    return !bucket.isFull
                }
            }
            // Look first, so a refusal by one scope takes nothing from another.
            var status: RateLimitStatus?
            for scope in scopes {
                if let rpm = scope.rpm {
                    var bucket = buckets[BucketKey(scope: scope.id, tokens: false)] ?? TokenBucket(perMinute: rpm, now: now)
                    bucket.refill(now: now)
                    let wait = bucket.wait(for: 1)
                    if wait > 0 {
                        return .failure(Rejection(scope: scope, tokens: false, limit: rpm, retryAfterSeconds: wait))
                    }
                }
                if let tpm = scope.tpm {
                    var bucket = buckets[BucketKey(scope: scope.id, tokens: true)] ?? TokenBucket(perMinute: tpm, now: now)
                    bucket.refill(now: now)
                    // In debt from earlier calls: wait until it is paid off.
                    let wait = bucket.wait(for: min(1, bucket.capacity))
                    if wait > 0 {
                        return .failure(Rejection(scope: scope, tokens: true, limit: tpm, retryAfterSeconds: wait))
                    }
                }
            }
            for scope in scopes {
                if let rpm = scope.rpm {
                    let key = BucketKey(scope: scope.id, tokens: false)
                    var bucket = buckets[key] ?? TokenBucket(perMinute: rpm, now: now)
                    if bucket.capacity != Double(rpm) { bucket = TokenBucket(perMinute: rpm, now: now) }
                    bucket.refill(now: now)
                    bucket.take(1)
                    buckets[key] = bucket
                    let remaining = Int(bucket.level.rounded(.down))
                    if status == nil || remaining < status?.remaining ?? .max {
                        status = RateLimitStatus(
                            limit: rpm, remaining: max(0, remaining),
                            resetMilliseconds: Int((bucket.secondsUntilFull * 1000).rounded(.up))
                        )
                    }
                }
                if let tpm = scope.tpm {
                    let key = BucketKey(scope: scope.id, tokens: true)
                    var bucket = buckets[key] ?? TokenBucket(perMinute: tpm, now: now)
                    if bucket.capacity != Double(tpm) { bucket = TokenBucket(perMinute: tpm, now: now) }
                    bucket.refill(now: now)
                    bucket.take(Double(promptTokens))
                    buckets[key] = bucket
                    let remaining = max(0, Int(bucket.level.rounded(.down)))
                    if status == nil {
                        status = RateLimitStatus(
                            limit: tpm, remaining: remaining,
                            resetMilliseconds: Int((bucket.secondsUntilFull * 1000).rounded(.up))
                        )
                    }
                    if status?.tokensRemaining.map({ remaining < $0 }) ?? true {
                        status?.tokenLimit = tpm
                        status?.tokensRemaining = remaining
                    }
                }
            }
            return .success(status)
        }
    }

    /// Seconds until `scope` would admit one request (0 if now), taking nothing.
    package func waitBeforeNext(_ scope: LimitScope, now: Double) -> Double {
        guard let rpm = scope.rpm else { return 0 }
        return buckets.withLock { buckets in
            guard var bucket = buckets[BucketKey(scope: scope.id, tokens: false)], bucket.capacity == Double(rpm) else { return 0 }
            bucket.refill(now: now)
            return bucket.wait(for: 1)
        }
    }

    /// Charges the tokens a call used beyond (or refunds below) what its admission took.
    package func settleTokens(_ scopes: [LimitScope], difference: Int, now: Double) {
        guard difference != 0, scopes.contains(where: { $0.tpm != nil }) else { return }
        buckets.withLock { buckets in
            for scope in scopes where scope.tpm != nil {
                let key = BucketKey(scope: scope.id, tokens: true)
                guard var bucket = buckets[key] else { continue }
                bucket.refill(now: now)
                if difference > 0 {
                    bucket.take(Double(difference))
                } else {
                    bucket.take(-min(Double(-difference), bucket.capacity - bucket.level))
                }
                buckets[key] = bucket
            }
        }
    }

    /// Gives back what an admission took: one request and its `promptTokens` (for calls that are
    /// not to count, such as cache hits when configured so). Never fills a bucket past its size.
    package func refund(_ scopes: [LimitScope], promptTokens: Int, now: Double) {
        guard scopes.contains(where: { $0.rpm != nil || $0.tpm != nil }) else { return }
        buckets.withLock { buckets in
            for scope in scopes {
                for (tokens, amount) in [(false, scope.rpm.map { _ in 1.0 }), (true, scope.tpm.map { _ in Double(promptTokens) })] {
                    guard let amount, amount > 0 else { continue }
                    let key = BucketKey(scope: scope.id, tokens: tokens)
                    guard var bucket = buckets[key] else { continue }
                    bucket.refill(now: now)
                    bucket.take(-min(amount, bucket.capacity - bucket.level))
                    buckets[key] = bucket
                }
            }
        }
    }

    /// Buckets held now (for tests and metrics).
    package var bucketCount: Int { buckets.withLock { $0.count } }
}
