import Synchronization

/// The semantic cache's vectors: per partition (everything in the exact key but the prompt's
/// text, scope included), unit vectors searched by exact cosine similarity — a flat scan with
/// SIMD dot products (`bench/semantic.sh`: under a millisecond to ~10k entries of 384 floats here;
/// memory-bound beyond).
///
/// Bounded by `maxEntries` in all: the oldest vector goes first. Expired vectors are skipped
/// and dropped as the scan meets them.
package final class SemanticIndex: Sendable {
    package let maxEntries: Int

    private struct Partition {
        var dimension: Int
        /// `keys.count × dimension` floats, row by row.
        var vectors: [Float] = []
        var keys: [String] = []
        var expiresAt: [Double] = []
        /// Each entry key's row.
        var rows: [String: Int] = [:]

        mutating func append(_ vector: [Float], key: String, expiresAt expiry: Double) {
            rows[key] = keys.count
            vectors.append(contentsOf: vector)
            keys.append(key)
            expiresAt.append(expiry)
        }

        /// Moves the last row into `row`'s place.
        mutating func remove(at row: Int) {
            let last = keys.count - 1
            rows[keys[row]] = nil
            if row != last {
                for column in 0..<dimension { vectors[row * dimension + column] = vectors[last * dimension + column] }
                keys[row] = keys[last]
                expiresAt[row] = expiresAt[last]
                rows[keys[row]] = row
            }
            vectors.removeLast(dimension)
            keys.removeLast()
            expiresAt.removeLast()
        }
    }

    private struct State {
        var partitions: [String: Partition] = [:]
        /// Insertion order, for the bound: (partition, entry key).
        var order: [(String, String)] = []
        var orderStart = 0
        var count = 0
    }

    private let state = Mutex(State())

    package init(maxEntries: Int) {
        self.maxEntries = max(1, maxEntries)
    }

    package var count: Int { state.withLock { $0.count } }

    /// Adds (or replaces) the vector of entry `key` in `partition`. A zero or empty vector is
    /// not added.
    package func add(_ vector: [Float], key: String, partition: String, expiresAt: Double) {
        guard let unit = Self.normalized(vector) else { return }
        state.withLock { state in
            // Taken out of the dictionary while it changes, so its arrays are not copied.
            var part = state.partitions.removeValue(forKey: partition) ?? Partition(dimension: unit.count)
            guard part.dimension == unit.count else {
                state.partitions[partition] = part
                return
            }
            if let row = part.rows[key] {
                part.remove(at: row)
                state.count -= 1
            }
            part.append(unit, key: key, expiresAt: expiresAt)
            state.partitions[partition] = part
            state.count += 1
            state.order.append((partition, key))
            while state.count > maxEntries, state.orderStart < state.order.count {
                let (oldPartition, oldKey) = state.order[state.orderStart]
                state.orderStart += 1
                if var old = state.partitions.removeValue(forKey: oldPartition) {
                    if let row = old.rows[oldKey] {
                        old.remove(at: row)
                        state.count -= 1
                    }
                    state.partitions[oldPartition] = old.keys.isEmpty ? nil : old
                }
            }
            // The order list holds stale pairs too (replaced or expired entries); compact it now and then.
            if state.orderStart > 1024, state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    /// The most similar live entry in `partition` at or above `threshold`, with its similarity.
    package func nearest(_ vector: [Float], partition: String, threshold: Float, now: Double) -> (key: String, similarity: Float)? {
        guard let unit = Self.normalized(vector) else { return nil }
        return state.withLock { state -> (key: String, similarity: Float)? in
            guard var part = state.partitions[partition], part.dimension == unit.count else { return nil }
            var best: (key: String, similarity: Float)?
            var expired: [Int] = []
            unit.withUnsafeBufferPointer { query in
                part.vectors.withUnsafeBufferPointer { rows in
                    for row in 0..<part.keys.count {
                        if part.expiresAt[row] <= now {
                            expired.append(row)
                            continue
                        }
                        let similarity = Self.dot(query, rows, offset: row * part.dimension)
                        if similarity >= threshold, similarity > (best?.similarity ?? -2) {
                            best = (part.keys[row], similarity)
                        }
                    }
                }
            }
            if !expired.isEmpty {
                state.partitions[partition] = nil
                for row in expired.reversed() { part.remove(at: row) }
                state.count -= expired.count
                state.partitions[partition] = part.keys.isEmpty ? nil : part
            }
            return best
        }
    }

    /// Drops the vector of entry `key` wherever it is.
    package func remove(key: String) {
        state.withLock { state in
            for name in Array(state.partitions.keys) {
                guard state.partitions[name]?.rows[key] != nil, var part = state.partitions.removeValue(forKey: name),
                    let row = part.rows[key]
                else { continue }
                part.remove(at: row)
                state.count -= 1
                state.partitions[name] = part.keys.isEmpty ? nil : part
            }
        }
    }

    package func removeAll() {
        state.withLock { $0 = State() }
    }

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
