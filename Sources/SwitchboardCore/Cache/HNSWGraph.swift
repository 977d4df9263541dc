/// A hierarchical navigable small-world graph over unit vectors (Malkov and Yashunin, 2016):
/// the semantic index's search once a partition is past the size a flat scan handles in under a
/// millisecond (``SemanticIndex/graphThreshold``).
///
/// Nodes are numbered 0, 1, 2, … in insertion order and never move or go away: the index marks
/// removed nodes dead and builds a fresh graph when too many are. Similarity is the dot product
/// (the vectors are unit length), higher is nearer.
package struct HNSWGraph: Sendable {
    package struct Candidate: Sendable, Hashable {
        package var similarity: Float
        package var node: Int32
    }

    package let dimension: Int
    /// Links per node above layer 0 (twice as many at layer 0).
    package let m: Int
    /// How many candidates an insertion weighs per layer.
    package let efConstruction: Int
    private let m0: Int
    /// `count × dimension` floats, node by node.
    private(set) var vectors: [Float] = []
    /// Layer 0's links: per node, its link count then `m0` slots.
    private var level0: [Int32] = []
    /// Layers 1… of the nodes that reach them: `upper[node][layer - 1]`.
    private var upper: [Int32: [[Int32]]] = [:]
    private var levels: [UInt8] = []
    private(set) var entryPoint: Int32 = -1
    private var topLevel = -1
    private var random: SplitMix64

    package init(dimension: Int, m: Int = 16, efConstruction: Int = 64, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        self.dimension = dimension
        self.m = max(2, m)
        self.m0 = 2 * max(2, m)
        self.efConstruction = max(efConstruction, m)
        self.random = SplitMix64(state: seed)
    }

    package var count: Int { levels.count }

    /// The vector of `node`.
    package func vector(_ node: Int) -> ArraySlice<Float> {
        vectors[node * dimension..<(node + 1) * dimension]
    }

    /// Adds a unit vector of `dimension` floats; its node number.
    @discardableResult
    package mutating func insert<Values: Collection<Float>>(_ values: Values) -> Int {
        precondition(values.count == dimension, "HNSWGraph: a vector of the wrong dimension")
        let node = Int32(count)
        let level = nextLevel()
        vectors.append(contentsOf: values)
        level0.append(0)
        level0.append(contentsOf: repeatElement(-1, count: m0))
        levels.append(UInt8(level))
        if level > 0 { upper[node] = Array(repeating: [], count: level) }
        guard entryPoint >= 0 else {
            entryPoint = node
            topLevel = level
            return Int(node)
        }
        let query = Array(vector(Int(node)))
        // Read-only first: every layer's chosen neighbours (linking at one layer does not
        // change the search of another).
        var chosen: [(layer: Int, neighbours: [Candidate])] = []
        query.withUnsafeBufferPointer { query in
            vectors.withUnsafeBufferPointer { rows in
                var nearest = [Candidate(similarity: Self.dot(query, rows, Int(entryPoint), dimension), node: entryPoint)]
                var layer = topLevel
                while layer > level {
                    nearest = [greedy(query, rows, from: nearest[0], layer: layer)]
                    layer -= 1
                }
                var visited = Visited(count: count)
                for layer in stride(from: min(level, topLevel), through: 0, by: -1) {
                    visited.reset()
                    let found = searchLayer(query, rows, entries: nearest, ef: efConstruction, layer: layer, visited: &visited)
                    chosen.append((layer, select(found, limit: m, rows)))
                    nearest = found
                }
            }
        }
        for (layer, neighbours) in chosen {
            setLinks(of: node, layer: layer, to: neighbours.map(\.node))
            for neighbour in neighbours { link(neighbour.node, to: node, layer: layer) }
        }
        if level > topLevel {
            topLevel = level
            entryPoint = node
        }
        return Int(node)
    }

    /// Up to `ef` nodes nearest to the unit vector `query`, nearest first.
    package func search(_ query: [Float], ef: Int) -> [Candidate] {
        guard entryPoint >= 0, query.count == dimension else { return [] }
        return query.withUnsafeBufferPointer { query in
            vectors.withUnsafeBufferPointer { rows in
                var nearest = Candidate(similarity: Self.dot(query, rows, Int(entryPoint), dimension), node: entryPoint)
                var layer = topLevel
                while layer > 0 {
                    nearest = greedy(query, rows, from: nearest, layer: layer)
                    layer -= 1
                }
                var visited = Visited(count: count)
                return searchLayer(query, rows, entries: [nearest], ef: max(1, ef), layer: 0, visited: &visited)
            }
        }
    }

    // MARK: - Layers

    private func neighbours(of node: Int32, layer: Int) -> ArraySlice<Int32> {
        if layer == 0 {
            let start = Int(node) * (m0 + 1)
            return level0[start + 1..<start + 1 + Int(level0[start])]
        }
        guard let links = upper[node], layer - 1 < links.count else { return [] }
        return links[layer - 1][...]
    }

    private mutating func setLinks(of node: Int32, layer: Int, to links: [Int32]) {
        if layer == 0 {
            let start = Int(node) * (m0 + 1)
            let kept = min(links.count, m0)
            level0[start] = Int32(kept)
            for index in 0..<kept { level0[start + 1 + index] = links[index] }
        } else {
            upper[node]?[layer - 1] = links
        }
    }

    /// Adds `new` to `node`'s links at `layer`, pruning them with the heuristic when full.
    private mutating func link(_ node: Int32, to new: Int32, layer: Int) {
        let limit = layer == 0 ? m0 : m
        var links = Array(neighbours(of: node, layer: layer))
        guard !links.contains(new) else { return }
        links.append(new)
        if links.count > limit {
            let pruned: [Int32] = vectors.withUnsafeBufferPointer { rows in
                let base = UnsafeBufferPointer(rebasing: rows[Int(node) * dimension..<(Int(node) + 1) * dimension])
                let candidates = links.map { Candidate(similarity: Self.dot(base, rows, Int($0), dimension), node: $0) }
                    .sorted { $0.similarity > $1.similarity }
                return select(candidates, limit: limit, rows).map(\.node)
            }
            links = pruned
        }
        setLinks(of: node, layer: layer, to: links)
    }

    /// The neighbour-selection heuristic: a candidate is kept when it is nearer to the base than
    /// to every one kept before it, which keeps links pointing in different directions.
    /// `candidates` nearest first.
    private func select(_ candidates: [Candidate], limit: Int, _ rows: UnsafeBufferPointer<Float>) -> [Candidate] {
        guard candidates.count > limit else { return candidates }
        var kept: [Candidate] = []
        kept.reserveCapacity(limit)
        for candidate in candidates {
            if kept.count >= limit { break }
            let base = UnsafeBufferPointer(rebasing: rows[Int(candidate.node) * dimension..<(Int(candidate.node) + 1) * dimension])
            let diverse = kept.allSatisfy { Self.dot(base, rows, Int($0.node), dimension) < candidate.similarity }
            if diverse { kept.append(candidate) }
        }
        return kept
    }

    private func greedy(_ query: UnsafeBufferPointer<Float>, _ rows: UnsafeBufferPointer<Float>, from start: Candidate, layer: Int) -> Candidate {
        var current = start
        var moved = true
        while moved {
            moved = false
            for neighbour in neighbours(of: current.node, layer: layer) {
                let similarity = Self.dot(query, rows, Int(neighbour), dimension)
                if similarity > current.similarity {
                    current = Candidate(similarity: similarity, node: neighbour)
                    moved = true
                }
            }
        }
        return current
    }

    /// The best-first search of one layer: up to `ef` nodes, nearest first.
    private func searchLayer(
        _ query: UnsafeBufferPointer<Float>, _ rows: UnsafeBufferPointer<Float>, entries: [Candidate], ef: Int, layer: Int,
        visited: inout Visited
    ) -> [Candidate] {
        var frontier = CandidateHeap()
        var results = entries.sorted { $0.similarity > $1.similarity }
        if results.count > ef { results.removeLast(results.count - ef) }
        for entry in entries {
            _ = visited.insert(entry.node)
            frontier.push(entry)
        }
        // Layer 0, where nearly all the work is, reads its links straight from the flat array.
        return level0.withUnsafeBufferPointer { links in
            let stride = m0 + 1
            while let candidate = frontier.pop() {
                if results.count >= ef, let worst = results.last, candidate.similarity < worst.similarity { break }
                let start = Int(candidate.node) * stride
                let upperLinks: [Int32] = layer == 0 ? [] : Array(neighbours(of: candidate.node, layer: layer))
                let linked = layer == 0 ? Int(links[start]) : upperLinks.count
                for slot in 0..<linked {
                    let neighbour = layer == 0 ? links[start + 1 + slot] : upperLinks[slot]
                    guard visited.insert(neighbour) else { continue }
                    let similarity = Self.dot(query, rows, Int(neighbour), dimension)
                    guard results.count < ef || similarity > (results.last?.similarity ?? -2) else { continue }
                    let found = Candidate(similarity: similarity, node: neighbour)
                    frontier.push(found)
                    var index = results.count
                    while index > 0, results[index - 1].similarity < similarity { index -= 1 }
                    results.insert(found, at: index)
                    if results.count > ef { results.removeLast() }
                }
            }
            return results
        }
    }

    @inline(__always)
    private static func dot(_ query: UnsafeBufferPointer<Float>, _ rows: UnsafeBufferPointer<Float>, _ node: Int, _ dimension: Int) -> Float {
        SemanticIndex.dot(query, rows, offset: node * dimension)
    }

    /// A node's top layer: geometric, one in `m` reaching each next layer (the paper's
    /// `floor(-ln(U) / ln(m))`), drawn by ``SplitMix64`` so the same vectors make the same graph.
    private mutating func nextLevel() -> Int {
        var level = 0
        while level < 15, random.next() % UInt64(m) == 0 { level += 1 }
        return level
    }
}

/// Which nodes a search has met: one bit each.
private struct Visited {
    private var words: [UInt64]

    init(count: Int) {
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    mutating func reset() {
        for index in words.indices { words[index] = 0 }
    }

    /// Marks `node`; whether it was new.
    @inline(__always)
    mutating func insert(_ node: Int32) -> Bool {
        let word = Int(node) >> 6
        let bit = UInt64(1) << UInt64(Int(node) & 63)
        guard word < words.count, words[word] & bit == 0 else { return false }
        words[word] |= bit
        return true
    }
}

/// A binary max-heap of candidates by similarity: the search frontier.
private struct CandidateHeap {
    private var items: [HNSWGraph.Candidate] = []

    mutating func push(_ item: HNSWGraph.Candidate) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[parent].similarity < items[child].similarity else { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> HNSWGraph.Candidate? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return top }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var largest = parent
            if left < items.count, items[left].similarity > items[largest].similarity { largest = left }
            if right < items.count, items[right].similarity > items[largest].similarity { largest = right }
            guard largest != parent else { break }
            items.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}
