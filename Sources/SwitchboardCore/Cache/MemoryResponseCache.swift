import Synchronization

/// The in-process cache: least-recently-used entries go first when either bound (entries or
/// bytes) would be passed. O(1) lookups, stores and evictions (a dictionary over an intrusive
/// doubly linked list kept in arrays).
package final class MemoryResponseCache: ResponseCache {
    package let maxEntries: Int
    package let maxBytes: Int
    /// Largest single entry; a larger answer is not stored.
    package let maxEntryBytes: Int
    package var backend: String { "memory" }

    private struct Node {
        var entry: CachedAnswer?
        var previous: Int
        var next: Int
    }

    /// Slot 0 is the list's sentinel: `nodes[0].next` is the most recently used.
    private struct State {
        var nodes: [Node] = [Node(entry: nil, previous: 0, next: 0)]
        var free: [Int] = []
        var index: [String: Int] = [:]
        var bytes = 0
        var evictions = 0
        var expired = 0

        mutating func unlink(_ slot: Int) {
            let previous = nodes[slot].previous
            let next = nodes[slot].next
            nodes[previous].next = next
            nodes[next].previous = previous
        }

        mutating func pushFront(_ slot: Int) {
            let first = nodes[0].next
            nodes[slot].previous = 0
            nodes[slot].next = first
            nodes[first].previous = slot
            nodes[0].next = slot
        }

        @discardableResult
        mutating func drop(_ slot: Int) -> CachedAnswer? {
            unlink(slot)
            let entry = nodes[slot].entry
            nodes[slot].entry = nil
            free.append(slot)
            if let entry {
                index[entry.key] = nil
                bytes -= entry.bytes
            }
            return entry
        }

        var leastRecent: Int? { nodes[0].previous == 0 ? nil : nodes[0].previous }
    }

    private let state = Mutex(State())

    private let metrics: CacheMetrics?

    package init(maxEntries: Int, maxBytes: Int, maxEntryBytes: Int, metrics: CacheMetrics? = nil) {
        self.metrics = metrics
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(1, maxBytes)
        self.maxEntryBytes = max(1, min(maxEntryBytes, maxBytes))
    }

    package func entry(_ key: String, now: Double) async -> CachedAnswer? {
        state.withLock { state in
            guard let slot = state.index[key], let entry = state.nodes[slot].entry else { return nil }
            if entry.expiresAt <= now {
                state.drop(slot)
                state.expired += 1
                return nil
            }
            state.unlink(slot)
            state.pushFront(slot)
            return entry
        }
    }

    package func store(_ entry: CachedAnswer) -> Bool {
        guard entry.bytes <= maxEntryBytes else { return false }
        // The semantic index holds its own copy of the vector.
        var entry = entry
        entry.vector = nil
        let stats = state.withLock { state in
            if let slot = state.index[entry.key] { state.drop(slot) }
            while state.index.count >= maxEntries || state.bytes + entry.bytes > maxBytes, let oldest = state.leastRecent {
                state.drop(oldest)
                state.evictions += 1
            }
            let slot: Int
            if let reused = state.free.popLast() {
                slot = reused
                state.nodes[slot] = Node(entry: entry, previous: 0, next: 0)
            } else {
                slot = state.nodes.count
                state.nodes.append(Node(entry: entry, previous: 0, next: 0))
            }
            state.pushFront(slot)
            state.index[entry.key] = slot
            state.bytes += entry.bytes
            return snapshot(state)
        }
        metrics?.update(stats)
        return true
    }

    private func snapshot(_ state: State) -> ResponseCacheStats {
        ResponseCacheStats(
            entries: state.index.count, bytes: state.bytes, maxEntries: maxEntries, maxBytes: maxBytes,
            evictions: state.evictions, expired: state.expired
        )
    }

    package func remove(_ key: String) async -> Bool {
        let (removed, stats) = state.withLock { state -> (Bool, ResponseCacheStats) in
            guard let slot = state.index[key] else { return (false, snapshot(state)) }
            state.drop(slot)
            return (true, snapshot(state))
        }
        metrics?.update(stats)
        return removed
    }

    package func removeAll(scope: String?, model: String?) async -> Int {
        let (count, stats) = state.withLock { state -> (Int, ResponseCacheStats) in
            let doomed = state.index.values.filter { slot in
                guard let entry = state.nodes[slot].entry else { return false }
                return (scope == nil || entry.scope == scope) && (model == nil || entry.model == model)
            }
            for slot in doomed { state.drop(slot) }
            return (doomed.count, snapshot(state))
        }
        metrics?.update(stats)
        return count
    }

    package func stats() async -> ResponseCacheStats {
        state.withLock { snapshot($0) }
    }
}
