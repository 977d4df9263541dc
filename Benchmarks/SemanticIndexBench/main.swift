// The semantic cache's lookup cost: `SemanticIndex` over one partition of N unit vectors (the
// worst case: every entry in one scope and one set of parameters), as JSON for bench/semantic.sh.
// Run the release build: `swift build -c release --product SemanticIndexBench`.
//
// Per size: the index as configured by default (a flat scan up to `graphThreshold`, an HNSW
// graph past it) and, past the threshold, the flat scan alone for comparison. A miss is a random
// query (nothing reaches the threshold); a hit is a stored vector with noise at cosine ~0.97,
// and recall is how often the lookup returns that very entry.
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Point: Encodable {
    var entries: Int
    var dimension: Int
    var index: String
    var lookups: Int
    var p50Microseconds: Double
    var p99Microseconds: Double
    var meanMicroseconds: Double
    var hitP50Microseconds: Double
    var recall: Double
    /// Adding every entry, graph builds included.
    var loadSeconds: Double
}

func unit(_ values: [Float]) -> [Float] {
    let length = values.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return values.map { $0 / length }
}

func randomVector(_ dimension: Int, using generator: inout some RandomNumberGenerator) -> [Float] {
    unit((0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) })
}

/// `vector` moved by noise of relative length 0.25: cosine ~0.97 to the original.
func near(_ vector: [Float], using generator: inout some RandomNumberGenerator) -> [Float] {
    let spread = 0.25 * Float(3.0 / Double(vector.count)).squareRoot()
    return unit(vector.map { $0 + Float.random(in: -spread...spread, using: &generator) })
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.attoseconds) / 1e12 + Double(duration.components.seconds) * 1e6
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

var generator = SystemRandomNumberGenerator()
var points: [Point] = []
let clock = ContinuousClock()
// `SemanticIndexBench [dimensions] [sizes]`, comma-separated (default 384,1536 and 1000,10000,50000).
func numbers(_ position: Int, _ fallback: [Int]) -> [Int] {
    guard CommandLine.arguments.count > position else { return fallback }
    return CommandLine.arguments[position].split(separator: ",").compactMap { Int($0) }
}
for dimension in numbers(1, [384, 1536]) {
    for entries in numbers(2, [1_000, 10_000, 50_000]) {
        let stored = (0..<entries).map { _ in randomVector(dimension, using: &generator) }
        let kinds: [(name: String, threshold: Int)] = entries > 8192 ? [("default", 8192), ("flat", Int.max)] : [("default", 8192)]
        for kind in kinds {
            let environment = ProcessInfo.processInfo.environment
            let index = SemanticIndex(
                maxEntries: entries, graphThreshold: kind.threshold, searchBreadth: environment["EF"].flatMap { Int($0) } ?? 64,
                graphLinks: environment["M"].flatMap { Int($0) } ?? 16, buildBreadth: environment["EFC"].flatMap { Int($0) } ?? 64
            )
            let loadStarted = clock.now
            for (row, vector) in stored.enumerated() {
                index.add(vector, key: "k\(row)", partition: "p", expiresAt: .infinity)
            }
            await index.waitForBuilds()
            let loadSeconds = microseconds(clock.now - loadStarted) / 1e6
            let lookups = entries >= 50_000 ? 400 : 1_000
            var misses: [Double] = []
            var hits: [Double] = []
            var found = 0
            var unexpected = 0
            for lookup in 0..<(lookups + 20) {
                let query = randomVector(dimension, using: &generator)
                var started = clock.now
                if index.nearest(query, partition: "p", threshold: 0.95, now: 0) != nil { unexpected += 1 }
                let miss = clock.now - started
                let target = Int.random(in: 0..<entries, using: &generator)
                let probe = near(stored[target], using: &generator)
                started = clock.now
                let answer = index.nearest(probe, partition: "p", threshold: 0.95, now: 0)
                let hit = clock.now - started
                guard lookup >= 20 else { continue }
                misses.append(microseconds(miss))
                hits.append(microseconds(hit))
                if answer?.key == "k\(target)" { found += 1 }
            }
            misses.sort()
            hits.sort()
            points.append(Point(
                entries: entries, dimension: dimension, index: index.usesGraph("p") ? "hnsw" : "flat", lookups: lookups,
                p50Microseconds: percentile(misses, 0.5), p99Microseconds: percentile(misses, 0.99),
                meanMicroseconds: misses.reduce(0, +) / Double(misses.count), hitP50Microseconds: percentile(hits, 0.5),
                recall: Double(found) / Double(lookups), loadSeconds: loadSeconds
            ))
            if unexpected > 0 { print("unexpected: \(unexpected) random queries matched") }
        }
    }
}
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
if let json = try? encoder.encode(points) { print(String(decoding: json, as: UTF8.self)) }
