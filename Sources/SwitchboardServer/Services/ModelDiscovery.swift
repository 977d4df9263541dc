import Logging
import SwitchboardCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What each provider's own model list says (`POST /v1/models/refresh`), kept for `ttl`; the
/// catalogue lists these models as `provider/model` next to the configured ones, with the
/// context windows and prices the list gives.
final class ModelDiscovery: Sendable {
    struct Listing: Sendable {
        var provider: String
        var fetchedAt: ContinuousClock.Instant
        var fetchedAtUnix: Int
        var models: [DiscoveredModel]
        /// Why the list could not be read (no upstream body is ever copied here).
        var error: String?
    }

    private struct State {
        var listings: [String: Listing] = [:]
        var lastRefresh: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    let ttl: Duration
    /// Refreshes closer together than this answer the lists already held.
    let minimumInterval: Duration

    init(ttl: Duration = .seconds(3600), minimumInterval: Duration = .seconds(30)) {
        self.ttl = ttl
        self.minimumInterval = minimumInterval
    }

    /// The fresh lists, by provider name.
    func current() -> [String: [DiscoveredModel]] {
        let now = ContinuousClock.now
        return state.withLock { state in
            state.listings.filter { now - $0.value.fetchedAt < ttl }.mapValues(\.models)
        }
    }

    /// Reads every listing provider's model list at once (10 s each at most). Returns whether
    /// it read them now, and the lists.
    func refresh(_ providers: [any ProviderAdapter], requestID: String, logger: Logger) async -> (refreshed: Bool, listings: [Listing]) {
        let now = ContinuousClock.now
        let recent: [Listing]? = state.withLock { state in
            if let last = state.lastRefresh, now - last < minimumInterval { return state.listings.values.sorted { $0.provider < $1.provider } }
            state.lastRefresh = now
            return nil
        }
        if let recent { return (false, recent) }
        let listings = await withTaskGroup(of: Listing?.self) { group in
            for provider in providers {
                guard let listing = provider as? any ModelListing else { continue }
                group.addTask {
                    let call = UpstreamCall(requestID: requestID, timeout: .seconds(10), logger: logger)
                    let unix = Int(Date().timeIntervalSince1970)
                    do {
                        let models = try await listing.listModels(call: call)
                        return Listing(provider: provider.name, fetchedAt: .now, fetchedAtUnix: unix, models: models)
                    } catch {
                        let reason: String
                        switch (error as? UpstreamError)?.kind {
                        case .status(let status)?: reason = "the provider answered HTTP \(status)"
                        case .timeout?: reason = "the provider did not answer within 10 s"
                        case .connect?: reason = "the provider could not be reached"
                        default: reason = "the provider's model list could not be read"
                        }
                        logger.warning("model list refresh failed", metadata: ["provider": "\(provider.name)", "reason": "\(reason)"])
                        return Listing(provider: provider.name, fetchedAt: .now, fetchedAtUnix: unix, models: [], error: reason)
                    }
                }
            }
            var all: [Listing] = []
            for await listing in group {
                if let listing { all.append(listing) }
            }
            return all.sorted { $0.provider < $1.provider }
        }
        state.withLock { state in
            for listing in listings {
                // A failed read keeps what the last good one found.
                if listing.error != nil, let previous = state.listings[listing.provider], previous.error == nil { continue }
                state.listings[listing.provider] = listing
            }
        }
        return (true, listings)
    }
}
