import Synchronization

/// The semantic cache's vectors: per partition (everything in the exact key but the prompt's
/// text, scope included), unit vectors compared by cosine similarity.
///
/// A partition up to `graphThreshold` entries is a flat scan with SIMD dot products: exact, and
/// under a millisecond to ~10k entries of 384 floats on the machine `bench/semantic.sh` ran on
/// (memory-bound beyond). Past it the partition is searched through an ``HNSWGraph``, built
/// off the lock from a copy while the flat scan (or the old graph) keeps answering, then
/// caught up with what changed meanwhile and swapped in. Removed graph nodes are marked dead;
/// when the dead outnumber the living the graph is built again, and a partition shrunk below
/// half the threshold goes back to a flat scan.
///
/// Bounded by `maxEntries` in all: the oldest vector goes first. Expired vectors are skipped
/// and dropped as searches meet them.
package final class SemanticIndex: Sendable {
    package let maxEntries: Int
    /// Entries in one partition past which it is searched through a graph.
    package let graphThreshold: Int
    /// Candidates a graph search keeps (HNSW's `ef`).
    package let searchBreadth: Int
    /// A graph's links per node (HNSW's `M`) and the candidates an insertion weighs (`efConstruction`).
    package let graphLinks: Int
    package let buildBreadth: Int

    private struct Partition {
        /// Unique per partition value ever made: a build for a partition since cleared is dropped.
        let epoch: UInt64
        let dimension: Int
        /// Flat mode: `keys.count × dimension` floats, row by row.
        var vectors: [Float] = []
        /// Graph mode: the graph holds the vectors; rows are its nodes and never move.
        var graph: HNSWGraph?
        /// Per row: its entry key (empty once dead), expiry (−∞ once dead) and add sequence.
        var keys: [String] = []
        var expiresAt: [Double] = []
        var sequences: [UInt64] = []
        /// Each live entry key's row.
        var rows: [String: Int] = [:]
        var dead = 0
        var building = false

        init(epoch: UInt64, dimension: Int) {
            self.epoch = epoch
            self.dimension = dimension
        }

        var live: Int { rows.count }

        func vector(at row: Int) -> ArraySlice<Float> {
            if let graph { return graph.vector(row) }
            return vectors[row * dimension..<(row + 1) * dimension]
        }

        mutating func append(_ vector: [Float], key: String, expiresAt expiry: Double, sequence: UInt64) {
            rows[key] = keys.count
            if graph != nil {
                graph?.insert(vector)
            } else {
                vectors.append(contentsOf: vector)
            }
            keys.append(key)
            expiresAt.append(expiry)
            sequences.append(sequence)
        }

        mutating func remove(at row: Int) {
            if graph != nil {
                rows[keys[row]] = nil
                keys[row] = ""
                expiresAt[row] = -.infinity
                dead += 1
                return
            }
            // Flat: the last row moves into `row`'s place.
            let last = keys.count - 1
            rows[keys[row]] = nil
            if row != last {
                for column in 0..<dimension { vectors[row * dimension + column] = vectors[last * dimension + column] }
                keys[row] = keys[last]
                expiresAt[row] = expiresAt[last]
                sequences[row] = sequences[last]
                rows[keys[row]] = row
            }
            vectors.removeLast(dimension)
            keys.removeLast()
            expiresAt.removeLast()
            sequences.removeLast()
        }

        /// Graph mode, few enough left: the live rows as a flat partition.
        func flattened() -> Partition {
            var flat = Partition(epoch: epoch, dimension: dimension)
            flat.building = building
            for (key, row) in rows.sorted(by: { $0.value < $1.value }) {
                flat.append(Array(vector(at: row)), key: key, expiresAt: expiresAt[row], sequence: sequences[row])
            }
            return flat
        }
    }

    /// What a build starts from: the live rows when it began.
    private struct BuildJob: Sendable {
        let partition: String
        let epoch: UInt64
        let dimension: Int
        let vectors: [Float]
        let keys: [String]
        let sequences: [UInt64]
        /// Every live entry added up to this sequence is in `vectors`.
        let covered: UInt64
    }

    private struct State {
        var partitions: [String: Partition] = [:]
        /// Insertion order, for the bound: (partition, entry key).
        var order: [(String, String)] = []
        var orderStart = 0
        var count = 0
        var nextSequence: UInt64 = 1
        var nextEpoch: UInt64 = 1
        var buildsRunning = 0

        /// Runs `body` on the partition taken out of the dictionary (so its arrays are not
        /// copied), putting it back unless it ends empty.
        mutating func modify<Result>(_ name: String, _ body: (inout Partition) -> Result) -> Result? {
            guard var part = partitions.removeValue(forKey: name) else { return nil }
            let result = body(&part)
            if !part.rows.isEmpty || part.building { partitions[name] = part }
            return result
        }
    }

    private let state = Mutex(State())

    package init(maxEntries: Int, graphThreshold: Int = 8192, searchBreadth: Int = 64, graphLinks: Int = 16, buildBreadth: Int = 64) {
        self.maxEntries = max(1, maxEntries)
        self.graphThreshold = max(16, graphThreshold)
        self.searchBreadth = max(1, searchBreadth)
        self.graphLinks = max(2, graphLinks)
        self.buildBreadth = max(2, buildBreadth)
    }

    package var count: Int { state.withLock { $0.count } }

    /// Whether `partition` is searched through a graph now (for tests and stats).
    package func usesGraph(_ partition: String) -> Bool {
        state.withLock { $0.partitions[partition]?.graph != nil }
    }

    /// Whether entry `key` has a vector in `partition`.
    package func contains(_ key: String, partition: String) -> Bool {
        state.withLock { $0.partitions[partition]?.rows[key] != nil }
    }

    /// Adds (or, with `replacing`, replaces) the vector of entry `key` in `partition`. A zero or
    /// empty vector is not added.
    package func add(_ vector: [Float], key: String, partition: String, expiresAt: Double, replacing: Bool = true) {
        guard let unit = Self.normalized(vector) else { return }
        let jobs = state.withLock { state -> [BuildJob] in
            if state.partitions[partition] == nil {
                state.partitions[partition] = Partition(epoch: state.nextEpoch, dimension: unit.count)
                state.nextEpoch += 1
            }
            let sequence = state.nextSequence
            state.nextSequence += 1
            let added = state.modify(partition) { part -> Int? in
                guard part.dimension == unit.count else { return nil }
                var new = 1
                if let row = part.rows[key] {
                    guard replacing else { return nil }
                    part.remove(at: row)
                    new = 0
                }
                part.append(unit, key: key, expiresAt: expiresAt, sequence: sequence)
                return new
            }
            guard let added = added ?? nil else { return [] }
            state.count += added
            state.order.append((partition, key))
            var shrunk: Set<String> = []
            while state.count > maxEntries, state.orderStart < state.order.count {
                let (oldPartition, oldKey) = state.order[state.orderStart]
                state.orderStart += 1
                let removed = state.modify(oldPartition) { old -> Bool in
                    guard let row = old.rows[oldKey] else { return false }
                    old.remove(at: row)
                    return true
                }
                if removed == true {
                    state.count -= 1
                    if oldPartition != partition { shrunk.insert(oldPartition) }
                }
            }
            // The order list holds stale pairs too (replaced or expired entries); compact it now and then.
            if state.orderStart > 1024, state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
            // A partition that lost its oldest may go back to a scan, or want a fresh graph.
            return ([partition] + shrunk).compactMap { reshape($0, &state) }
        }
        for job in jobs { startBuild(job) }
    }

    /// The most similar live entry in `partition` at or above `threshold`, with its similarity.
    package func nearest(_ vector: [Float], partition: String, threshold: Float, now: Double) -> (key: String, similarity: Float)? {
        candidates(vector, partition: partition, threshold: threshold, now: now, limit: 1).first
    }

    /// Up to `limit` live entries in `partition` at or above `threshold`, most similar first.
    package func candidates(
        _ vector: [Float], partition: String, threshold: Float, now: Double, limit: Int
    ) -> [(key: String, similarity: Float)] {
        guard let unit = Self.normalized(vector), limit > 0 else { return [] }
        let (answer, job) = state.withLock { state -> ([(key: String, similarity: Float)], BuildJob?) in
            let (answer, expired) = search(unit, in: state.partitions[partition], threshold: threshold, now: now, limit: limit)
            guard !expired.isEmpty else { return (answer, nil) }
            // Flat rows move on removal: highest first.
            let removed = state.modify(partition) { part -> Int in
                var removed = 0
                for row in expired.sorted(by: >) where part.expiresAt[row] <= now && part.expiresAt[row] > -.infinity {
                    part.remove(at: row)
                    removed += 1
                }
                return removed
            }
            state.count -= removed ?? 0
            return (answer, reshape(partition, &state))
        }
        if let job { startBuild(job) }
        return answer
    }

    /// The search itself, on a copy that is gone before the caller changes the partition (so
    /// nothing is copied on write).
    private func search(
        _ unit: [Float], in partition: Partition?, threshold: Float, now: Double, limit: Int
    ) -> (found: [(key: String, similarity: Float)], expired: [Int]) {
            guard let part = partition, part.dimension == unit.count else { return ([], []) }
            var found: [(row: Int, similarity: Float)] = []
            var expired: [Int] = []
            if let graph = part.graph {
                for candidate in graph.search(unit, ef: max(searchBreadth, limit)) where candidate.similarity >= threshold {
                    let row = Int(candidate.node)
                    guard part.expiresAt[row] > now else {
                        if part.expiresAt[row] > -.infinity { expired.append(row) }
                        continue
                    }
                    if found.count < limit { found.append((row, candidate.similarity)) }
                }
            } else {
                unit.withUnsafeBufferPointer { query in
                    part.vectors.withUnsafeBufferPointer { rows in
                        for row in 0..<part.keys.count {
                            if part.expiresAt[row] <= now {
                                expired.append(row)
                                continue
                            }
                            let similarity = Self.dot(query, rows, offset: row * part.dimension)
                            guard similarity >= threshold else { continue }
                            if found.count == limit, let last = found.last, last.similarity >= similarity { continue }
                            var index = found.count
                            while index > 0, found[index - 1].similarity < similarity { index -= 1 }
                            found.insert((row, similarity), at: index)
                            if found.count > limit { found.removeLast() }
                        }
                    }
                }
            }
            return (found.map { (key: part.keys[$0.row], similarity: $0.similarity) }, expired)
    }

    /// Drops the vector of entry `key` wherever it is.
    package func remove(key: String) {
        let jobs = state.withLock { state -> [BuildJob] in
            var jobs: [BuildJob] = []
            for name in Array(state.partitions.keys) where state.partitions[name]?.rows[key] != nil {
                let removed = state.modify(name) { part -> Bool in
                    guard let row = part.rows[key] else { return false }
                    part.remove(at: row)
                    return true
                }
                if removed == true { state.count -= 1 }
                if let job = reshape(name, &state) { jobs.append(job) }
            }
            return jobs
        }
        for job in jobs { startBuild(job) }
    }

    package func removeAll() {
        state.withLock { state in
            let running = state.buildsRunning
            let sequence = state.nextSequence
            let epoch = state.nextEpoch
            state = State()
            state.buildsRunning = running
            state.nextSequence = sequence
            state.nextEpoch = epoch
        }
    }

    /// Waits until no graph build is running (tests; a shutdown need not wait).
    package func waitForBuilds() async {
        while state.withLock({ $0.buildsRunning > 0 }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: - Graphs

    /// After a change to `name`: goes flat when few are left, or returns the build to start
    /// when the partition outgrew the flat scan or its graph is mostly dead.
    private func reshape(_ name: String, _ state: inout State) -> BuildJob? {
        guard let part = state.partitions[name], !part.building else { return nil }
        if part.graph != nil, part.live < graphThreshold / 2 {
            state.partitions[name] = part.flattened()
            return nil
        }
        let wanted = part.graph == nil ? part.live > graphThreshold : part.dead > max(part.live, graphThreshold / 2)
        guard wanted else { return nil }
        var vectors: [Float] = []
        vectors.reserveCapacity(part.live * part.dimension)
        var keys: [String] = []
        var sequences: [UInt64] = []
        for row in 0..<part.keys.count where part.expiresAt[row] > -.infinity {
            vectors.append(contentsOf: part.vector(at: row))
            keys.append(part.keys[row])
            sequences.append(part.sequences[row])
        }
        state.partitions[name]?.building = true
        state.buildsRunning += 1
        return BuildJob(
            partition: name, epoch: part.epoch, dimension: part.dimension, vectors: vectors, keys: keys, sequences: sequences,
            covered: state.nextSequence - 1
        )
    }

    private func startBuild(_ job: BuildJob) {
        Task.detached(priority: .utility) { [self] in
            self.build(job)
        }
    }

    /// Builds the graph from `job`, catches it up with entries added meanwhile (off the lock
    /// while there are many), then swaps it in.
    private func build(_ job: BuildJob) {
        var graph = HNSWGraph(dimension: job.dimension, m: graphLinks, efConstruction: buildBreadth)
        var keys = job.keys
        var sequences = job.sequences
        let dimension = job.dimension
        for row in 0..<keys.count {
            graph.insert(job.vectors[row * dimension..<(row + 1) * dimension])
        }
        var covered = job.covered
        for round in 0..<8 {
            // `nil` once swapped in (or dropped); else what came in meanwhile, to insert off the lock.
            let batch = state.withLock { state -> [(vector: [Float], key: String, sequence: UInt64)]? in
                guard let part = state.partitions[job.partition], part.epoch == job.epoch else {
                    state.buildsRunning -= 1
                    return nil
                }
                let added = (0..<part.keys.count).filter { part.sequences[$0] > covered && part.expiresAt[$0] > -.infinity }
                if added.count > 64, round < 7 {
                    return added.map { (Array(part.vector(at: $0)), part.keys[$0], part.sequences[$0]) }
                }
                for row in added {
                    graph.insert(part.vector(at: row))
                    keys.append(part.keys[row])
                    sequences.append(part.sequences[row])
                }
                var next = Self.installed(&graph, keys: &keys, sequences: &sequences, over: part)
                if next.live < graphThreshold / 2 { next = next.flattened() }
                state.partitions[job.partition] = next.rows.isEmpty ? nil : next
                state.buildsRunning -= 1
                return nil
            }
            guard let batch else { return }
            for item in batch {
                graph.insert(item.vector)
                keys.append(item.key)
                sequences.append(item.sequence)
                covered = max(covered, item.sequence)
            }
        }
    }

    /// The graph partition over `graph`'s nodes, live where `current` still holds the same add.
    /// The build's arrays are handed over (left empty), so nothing is copied on write under the lock.
    private static func installed(
        _ graph: inout HNSWGraph, keys: inout [String], sequences: inout [UInt64], over current: Partition
    ) -> Partition {
        var next = Partition(epoch: current.epoch, dimension: current.dimension)
        next.graph = graph
        graph = HNSWGraph(dimension: current.dimension)
        next.keys = keys
        keys = []
        next.sequences = sequences
        sequences = []
        next.expiresAt = Array(repeating: -.infinity, count: next.keys.count)
        next.rows.reserveCapacity(current.live)
        for node in 0..<next.keys.count {
            let key = next.keys[node]
            if let row = current.rows[key], current.sequences[row] == next.sequences[node] {
                next.rows[key] = node
                next.expiresAt[node] = current.expiresAt[row]
            } else {
                next.keys[node] = ""
                next.dead += 1
            }
        }
        return next
    }

    // MARK: - Vectors

    /// `vector` scaled to length 1; `nil` for an empty, zero or non-finite one.
    package static func normalized(_ vector: [Float]) -> [Float]? {
        guard !vector.isEmpty else { return nil }
        let length = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard length.isFinite, length > 0 else { return nil }
        return vector.map { $0 / length }
    }

    /// The dot product of `query` with the row of `rows` starting at `offset`, 16 lanes at a time.
    @inline(__always)
    package static func dot(_ query: UnsafeBufferPointer<Float>, _ rows: UnsafeBufferPointer<Float>, offset: Int) -> Float {
        guard let q = query.baseAddress, let r = rows.baseAddress else { return 0 }
        let count = query.count
        let row = r + offset
        var lanes = SIMD16<Float>()
        var index = 0
        while index + 16 <= count {
            let a = UnsafeRawPointer(q + index).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(row + index).loadUnaligned(as: SIMD16<Float>.self)
            lanes += a * b
            index += 16
        }
        var sum = lanes.sum()
        while index < count {
            sum += q[index] * row[index]
            index += 1
        }
        return sum
    }
}
