// The semantic cache's lookup cost: `SemanticIndex.nearest` over one partition of N unit vectors
// (the worst case: every entry in one scope and one set of parameters), as JSON for
// bench/semantic.sh. Run the release build: `swift build -c release --product SemanticIndexBench`.
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Point: Encodable {
    var entries: Int
    var dimension: Int
    var lookups: Int
    var p50Microseconds: Double
    var p99Microseconds: Double
    var meanMicroseconds: Double
}

func randomVector(_ dimension: Int, using generator: inout some RandomNumberGenerator) -> [Float] {
    (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
}

var generator = SystemRandomNumberGenerator()
var points: [Point] = []
let clock = ContinuousClock()
for dimension in [384, 1536] {
    for entries in [1_000, 10_000, 50_000] {
        let index = SemanticIndex(maxEntries: entries)
        for row in 0..<entries {
            index.add(randomVector(dimension, using: &generator), key: "k\(row)", partition: "p", expiresAt: .infinity)
        }
        let queries = (0..<64).map { _ in randomVector(dimension, using: &generator) }
        let lookups = entries >= 50_000 ? 300 : 1_000
        var samples: [Double] = []
        samples.reserveCapacity(lookups)
        var found = 0
        for lookup in 0..<(lookups + 20) {
            let query = queries[lookup % queries.count]
            let started = clock.now
            // A threshold nothing reaches: the whole partition is scanned, as on a miss.
            if index.nearest(query, partition: "p", threshold: 0.99, now: 0) != nil { found += 1 }
            let elapsed = clock.now - started
            if lookup >= 20 { samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6) }
        }
        samples.sort()
        points.append(Point(
            entries: entries, dimension: dimension, lookups: lookups,
            p50Microseconds: samples[samples.count / 2], p99Microseconds: samples[min(samples.count - 1, samples.count * 99 / 100)],
            meanMicroseconds: samples.reduce(0, +) / Double(samples.count)
        ))
        if found > 0 { print("unexpected: \(found) random queries matched") }
    }
}
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
if let json = try? encoder.encode(points) { print(String(decoding: json, as: UTF8.self)) }
