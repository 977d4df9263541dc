import SwitchboardCore
import Testing

/// The semantic index past its flat-scan size: the HNSW graph, its background builds, removals
/// and the way back to a flat scan.
@Suite struct SemanticGraphTests {
    static func vectors(_ count: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var random = SplitMix64(state: seed)
        return (0..<count).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &random) } }
    }

    /// `vector` nudged a little: still far above a 0.95 threshold to itself.
    static func nudged(_ vector: [Float], by amount: Float = 0.05) -> [Float] {
        vector.enumerated().map { $0.element + ($0.offset.isMultiple(of: 2) ? amount : -amount) }
    }

    @Test func thePlainGraphFindsEveryStoredVectorAndNothingForStrangers() {
        var graph = HNSWGraph(dimension: 24, m: 8, efConstruction: 40)
        let stored = Self.vectors(800, dimension: 24, seed: 1).compactMap(SemanticIndex.normalized)
        for vector in stored { graph.insert(vector) }
        #expect(graph.count == 800)
        var found = 0
        for (node, vector) in stored.enumerated() {
            let best = graph.search(SemanticIndex.normalized(Self.nudged(vector)) ?? [], ef: 48).first
            if best?.node == Int32(node) { found += 1 }
        }
        // Approximate search, but at this size and breadth a near-duplicate is practically always found.
        #expect(found >= 796, "found \(found) of 800")
        // Results come nearest first, as many as asked.
        let list = graph.search(stored[0], ef: 10)
        #expect(list.count == 10)
        #expect(zip(list, list.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
        #expect(graph.search([1, 2], ef: 10).isEmpty)
    }

    @Test func aPartitionPastTheThresholdMovesToAGraphAndKeepsAnsweringWhileItBuilds() async {
        let index = SemanticIndex(maxEntries: 10_000, graphThreshold: 100)
        let stored = Self.vectors(600, dimension: 32, seed: 2)
        for (row, vector) in stored.enumerated() {
            index.add(vector, key: "k\(row)", partition: "p", expiresAt: 1_000)
            // Searched while builds run (flat until a graph is swapped in): always answers.
            if row % 50 == 49 {
                #expect(index.nearest(Self.nudged(stored[row - 10]), partition: "p", threshold: 0.95, now: 0)?.key == "k\(row - 10)")
            }
        }
        await index.waitForBuilds()
        #expect(index.usesGraph("p"))
        #expect(index.count == 600)
        var found = 0
        for (row, vector) in stored.enumerated()
        where index.nearest(Self.nudged(vector), partition: "p", threshold: 0.95, now: 0)?.key == "k\(row)" {
            found += 1
        }
        #expect(found >= 597, "found \(found) of 600")
        // Another partition stays a flat scan, and is never searched from this one.
        index.add(stored[0], key: "other", partition: "q", expiresAt: 1_000)
        #expect(!index.usesGraph("q"))
        #expect(index.nearest(stored[0], partition: "p", threshold: 0.99, now: 0)?.key == "k0")
    }

    @Test func removedReplacedAndExpiredNodesAreNeverAnsweredAndTheGraphIsRebuiltOrFlattened() async {
        let index = SemanticIndex(maxEntries: 10_000, graphThreshold: 100)
        let stored = Self.vectors(400, dimension: 32, seed: 3)
        for (row, vector) in stored.enumerated() {
            // Rows 300… expire at 50; the rest live to 1000.
            index.add(vector, key: "k\(row)", partition: "p", expiresAt: row >= 300 ? 50 : 1_000)
        }
        await index.waitForBuilds()
        #expect(index.usesGraph("p"))
        // Removed and replaced entries: the old vectors find nothing under their keys.
        for row in 0..<100 { index.remove(key: "k\(row)") }
        let replacement = Self.vectors(1, dimension: 32, seed: 99)[0]
        index.add(replacement, key: "k100", partition: "p", expiresAt: 1_000)
        await index.waitForBuilds()
        #expect(index.count == 300)
        for row in [0, 42, 99] {
            #expect(index.nearest(stored[row], partition: "p", threshold: 0.99, now: 0) == nil)
        }
        #expect(index.nearest(stored[100], partition: "p", threshold: 0.99, now: 0) == nil)
        #expect(index.nearest(replacement, partition: "p", threshold: 0.99, now: 0)?.key == "k100")
        #expect(index.nearest(stored[200], partition: "p", threshold: 0.99, now: 0)?.key == "k200")
        // Expired: found before, not after, and dropped when met.
        #expect(index.nearest(stored[350], partition: "p", threshold: 0.99, now: 10)?.key == "k350")
        #expect(index.nearest(stored[350], partition: "p", threshold: 0.99, now: 60) == nil)
        #expect(index.count == 299)
        // Many candidates, most similar first, all at or above the threshold.
        let many = index.candidates(Self.nudged(stored[150]), partition: "p", threshold: -1, now: 0, limit: 5)
        #expect(many.count == 5)
        #expect(many.first?.key == "k150")
        #expect(zip(many, many.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
        // The dead outnumber the living: a rebuild, and everything left is still found.
        for row in 101..<250 { index.remove(key: "k\(row)") }
        await index.waitForBuilds()
        #expect(index.usesGraph("p"))
        #expect(index.nearest(stored[260], partition: "p", threshold: 0.99, now: 0)?.key == "k260")
        // Below half the threshold: a flat scan again, same answers.
        for row in 250..<300 where row != 260 { index.remove(key: "k\(row)") }
        for row in 300..<400 { index.remove(key: "k\(row)") }
        await index.waitForBuilds()
        #expect(!index.usesGraph("p"))
        #expect(index.count == 2)
        #expect(index.nearest(stored[260], partition: "p", threshold: 0.99, now: 0)?.key == "k260")
        #expect(index.nearest(replacement, partition: "p", threshold: 0.99, now: 0)?.key == "k100")
    }

    @Test func theBoundHoldsAcrossGraphPartitionsAndClearingDropsARunningBuild() async {
        let index = SemanticIndex(maxEntries: 300, graphThreshold: 100)
        let stored = Self.vectors(500, dimension: 16, seed: 4)
        for (row, vector) in stored.enumerated() {
            index.add(vector, key: "k\(row)", partition: "p", expiresAt: 1_000)
        }
        await index.waitForBuilds()
        #expect(index.count == 300)
        // The oldest went first.
        #expect(index.nearest(stored[10], partition: "p", threshold: 0.99, now: 0) == nil)
        #expect(index.nearest(stored[450], partition: "p", threshold: 0.99, now: 0)?.key == "k450")
        for (row, vector) in stored.enumerated() {
            index.add(vector, key: "again\(row)", partition: "q", expiresAt: 1_000)
        }
        index.removeAll()
        await index.waitForBuilds()
        #expect(index.count == 0)
        #expect(index.nearest(stored[450], partition: "q", threshold: 0.5, now: 0) == nil)
        #expect(!index.usesGraph("q"))
    }

    @Test func aGraphPartitionEmptiedByTheBoundOrByExpiryGoesBackToAScan() async {
        let index = SemanticIndex(maxEntries: 200, graphThreshold: 100)
        let stored = Self.vectors(400, dimension: 16, seed: 5)
        for row in 0..<150 { index.add(stored[row], key: "k\(row)", partition: "p", expiresAt: 1_000) }
        await index.waitForBuilds()
        #expect(index.usesGraph("p"))
        // Another partition's adds push p's oldest out, past half the threshold: p is a scan again.
        for row in 150..<330 { index.add(stored[row], key: "k\(row)", partition: "q", expiresAt: 1_000) }
        await index.waitForBuilds()
        #expect(index.count == 200)
        #expect(!index.usesGraph("p"))
        #expect(index.usesGraph("q"))
        #expect(index.nearest(stored[149], partition: "p", threshold: 0.99, now: 0)?.key == "k149")
        #expect(index.nearest(stored[100], partition: "p", threshold: 0.99, now: 0) == nil)
        #expect(index.nearest(stored[329], partition: "q", threshold: 0.99, now: 0)?.key == "k329")

        // Expiry met by a search does the same.
        let expiring = SemanticIndex(maxEntries: 1_000, graphThreshold: 100)
        for row in 0..<150 { expiring.add(stored[row], key: "k\(row)", partition: "p", expiresAt: row < 110 ? 10 : 1_000) }
        await expiring.waitForBuilds()
        #expect(expiring.usesGraph("p"))
        // The graph's search meets the expired rows near this query; a scan meets every one.
        for row in 0..<110 { _ = expiring.candidates(stored[row], partition: "p", threshold: 0.5, now: 20, limit: 3) }
        await expiring.waitForBuilds()
        #expect(!expiring.usesGraph("p"))
        #expect(expiring.count == 40)
        #expect(expiring.nearest(stored[120], partition: "p", threshold: 0.99, now: 20)?.key == "k120")
    }
}
