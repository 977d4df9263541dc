#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the cache did for a call: `X-Switchboard-Cache` and friends, and the ledger's `cache_hit`.
package struct CacheNote: Sendable, Hashable {
    package enum Status: String, Sendable, Hashable {
        case hit
        case semanticHit = "semantic-hit"
        case miss
        case bypass
    }

    package var status: Status
    /// The entry's key (`X-Switchboard-Cache-Key`).
    package var key: String?
    /// A hit's age in whole seconds (`Age`).
    package var ageSeconds: Int?
    /// What the original call cost: what a hit saved.
    package var savedUSD: Double?
    /// A semantic hit's cosine similarity (`X-Switchboard-Cache-Similarity`).
    package var similarity: Double?

    package init(status: Status, key: String? = nil, ageSeconds: Int? = nil, savedUSD: Double? = nil, similarity: Double? = nil) {
        self.status = status
        self.key = key
        self.ageSeconds = ageSeconds
        self.savedUSD = savedUSD
        self.similarity = similarity
    }

    package var isHit: Bool { status == .hit || status == .semanticHit }
}

/// The exact response cache: a before-stage that answers a call from a stored answer, and an
/// observer that stores a served answer (non-streamed, or assembled from a whole stream).
///
/// Runs after admission, so a hit still needs the caller's models and rate limits; its cost is 0
/// (budgets are not charged) and the ledger row says `cache_hit` with the cost it saved. Never
/// stored: errors, streams that broke off or whose client left, answers cut by `max_tokens`
/// (`finish_reason: length`, unless `cache.store_truncated`), and answers above the entry bound.
package struct CacheStage: CallStage {
    let cache: any ResponseCache
    let settings: CacheConfig
    let modelSettings: [String: ModelCacheConfig]
    let catalog: ModelCatalog
    let metrics: CacheMetrics
    /// For models with `cache.semantic: true`.
    let semantic: SemanticCache?
    let now: @Sendable () -> Double

    package init(
        cache: any ResponseCache, settings: CacheConfig, modelSettings: [String: ModelCacheConfig], catalog: ModelCatalog,
        metrics: CacheMetrics, semantic: SemanticCache? = nil, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.cache = cache
        self.settings = settings
        self.modelSettings = modelSettings
        self.catalog = catalog
        self.metrics = metrics
        self.semantic = semantic
        self.now = now
    }

    /// Whether answers of `model` are cached for this caller, for how long, and who shares them:
    /// the key's own settings over the model's over the `cache` section's. A key can turn the
    /// cache on only for models that do not turn it off themselves.
    func policy(for model: String, key: KeyCacheSettings?) -> (enabled: Bool, ttl: Double, scope: CacheScope) {
        let own = modelSettings[model]
        var enabled = own?.enabled ?? settings.enabled
        if let keyEnabled = key?.enabled { enabled = keyEnabled && own?.enabled != false }
        return (enabled, key?.ttlSeconds ?? own?.ttlSeconds ?? settings.ttlSeconds, key?.scope ?? settings.scope)
    }

    package func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
        guard case .chat(let request) = call.request else { return .proceed }
        let policy = policy(for: request.model, key: call.principal.cache)
        guard policy.enabled else { return .proceed }
        // A regenerated answer (or an edit's, on a forced branch) is asked for anew: never served from the cache.
        if let turn = request.gatewayExtensions.conversation, turn.newMessages.isEmpty || turn.forceBranch {
            metrics.count(.lookup, .bypass)
            return StagePlan(notes: CallNotes(cache: CacheNote(status: .bypass)))
        }
        let controls = (request.gatewayExtensions.cache ?? CacheControls()).merged(with: call.context.cacheControls)
        let scope = policy.scope.id(for: call.principal)
        let targets = (try? catalog.resolve(request.model))?.targets.map(\.id.description) ?? []
        guard let key = try? CacheKey.make(request, targets: targets, scope: scope) else {
            metrics.count(.lookup, .bypass)
            return StagePlan(notes: CallNotes(cache: CacheNote(status: .bypass)))
        }
        let timestamp = now()
        if !controls.noCache, let entry = await cache.entry(key, now: timestamp), entry.scope == scope,
            let plan = serve(entry, key: key, status: .hit, controls: controls, now: timestamp)
        {
            return plan
        }
        // The semantic cache: a stored answer to a similar prompt, everything else equal.
        var vector: (values: [Float], partition: String)?
        if let semantic, modelSettings[request.model]?.semantic == true, !(controls.noCache && controls.noStore),
            let text = SemanticKey.text(of: request, input: semantic.settings.input),
            let partition = try? SemanticKey.partition(of: request, input: semantic.settings.input, targets: targets, scope: scope)
        {
            if let values = await semantic.vector(for: text) {
                vector = (values, partition)
                // The nearest few: the nearest's answer may be gone (evicted, expired in Redis)
                // while its vector is still here. Such a vector is left to its own expiry: a
                // store still queued for Redis looks the same, and its fresh vector must stay.
                let near = controls.noCache
                    ? [] : semantic.index.candidates(values, partition: partition, threshold: Float(semantic.settings.threshold), now: timestamp, limit: 3)
                for candidate in near {
                    guard let entry = await cache.entry(candidate.key, now: timestamp), entry.scope == scope else { continue }
                    if let plan = serve(entry, key: candidate.key, status: .semanticHit, controls: controls, now: timestamp, similarity: candidate.similarity) {
                        return plan
                    }
                }
            } else {
                metrics.count(.lookup, .embeddingFailed)
            }
        }
        let status: CacheNote.Status = controls.noCache ? .bypass : .miss
        metrics.count(.lookup, status == .bypass ? .bypass : .miss)
        let notes = CallNotes(cache: CacheNote(status: status, key: key))
        if controls.noStore { return StagePlan(notes: notes) }
        let store = Store(
            cache: cache, metrics: metrics, key: key, scope: scope, model: request.model,
            ttl: controls.ttlSeconds ?? policy.ttl, storeTruncated: settings.storeTruncated, now: now,
            assembler: call.stream ? ChunkAssembler(limit: settings.maxEntryBytes) : nil,
            semantic: vector.flatMap { vector in semantic.map { (index: $0.index, vector: vector.values, partition: vector.partition) } }
        )
        return StagePlan(observer: store, notes: notes)
    }

    /// The plan that answers from `entry`, unless it is older than the request accepts.
    private func serve(
        _ entry: CachedAnswer, key: String, status: CacheNote.Status, controls: CacheControls, now: Double, similarity: Float? = nil
    ) -> StagePlan? {
        let age = max(0, now - entry.storedAt)
        guard controls.maxAgeSeconds.map({ age <= $0 }) ?? true else { return nil }
        metrics.count(.lookup, status == .hit ? .hit : .semanticHit)
        metrics.saved(entry.cost ?? 0)
        let note = CacheNote(
            status: status, key: key, ageSeconds: Int(age), savedUSD: entry.cost, similarity: similarity.map { (Double($0) * 10_000).rounded() / 10_000 }
        )
        let answer = StageAnswer(
            response: entry.response,
            servedBy: ServedBy(provider: entry.provider, model: entry.servedModel, upstreamDuration: .zero, attempts: 0),
            usage: entry.usage, cost: 0,
            replayDelay: settings.replayChunkDelayMilliseconds > 0 ? .milliseconds(settings.replayChunkDelayMilliseconds) : nil
        )
        return StagePlan(answer: answer, notes: CallNotes(cache: note))
    }

    /// Stores the answer of a call that missed, once it was served in full.
    struct Store: CallObserver {
        let cache: any ResponseCache
        let metrics: CacheMetrics
        let key: String
        let scope: String
        let model: String
        let ttl: Double
        let storeTruncated: Bool
        let now: @Sendable () -> Double
        var assembler: ChunkAssembler?
        /// Where the prompt's vector goes once the answer is stored (semantic models only).
        var semantic: (index: SemanticIndex, vector: [Float], partition: String)?

        mutating func observe(_ chunk: ChatChunk) {
            assembler?.add(chunk)
        }

        func finish(_ settlement: CallSettlement) {
            guard case .served = settlement.outcome, let servedBy = settlement.servedBy else {
                metrics.count(.store, .skipped)
                return
            }
            if assembler?.overflowed == true {
                metrics.count(.store, .tooLarge)
                return
            }
            guard var response = settlement.response ?? assembler?.response() else {
                metrics.count(.store, .skipped)
                return
            }
            if !storeTruncated, response.choices.contains(where: { $0.finishReason == "length" }) {
                metrics.count(.store, .skipped)
                return
            }
            if response.usage == nil { response.usage = settlement.usage }
            let bytes: Int
            if !response.upstreamBody.isEmpty {
                bytes = response.upstreamBody.bytes.count
            } else {
                bytes = (try? JSONCoding.encode(response).count) ?? Int.max
            }
            let stored = now()
            var entry = CachedAnswer(
                key: key, scope: scope, model: model, response: response, usage: settlement.usage, provider: servedBy.provider,
                servedModel: servedBy.model, cost: settlement.cost, storedAt: stored, expiresAt: stored + ttl, bytes: bytes
            )
            entry.vector = semantic.map { CachedVector(partition: $0.partition, values: $0.vector) }
            let kept = cache.store(entry)
            metrics.count(.store, kept ? .stored : .tooLarge)
            if kept, let semantic {
                semantic.index.add(semantic.vector, key: key, partition: semantic.partition, expiresAt: entry.expiresAt)
            }
        }
    }
}
