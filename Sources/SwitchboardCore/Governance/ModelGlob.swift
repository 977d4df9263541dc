/// Shell-style model patterns for a key's allowed models: `gpt-4o*`, `openai/*`, `claude-?-haiku`.
package enum ModelGlob {
    /// Whether `model` matches any pattern; an empty list allows every model.
    package static func allows(_ patterns: [String], model: String) -> Bool {
        patterns.isEmpty || patterns.contains { matches($0, model) }
    }

    package static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        var pi = 0, ti = 0
        var star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
