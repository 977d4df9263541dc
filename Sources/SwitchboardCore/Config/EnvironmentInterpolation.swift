/// Replaces `${VAR}` and `${VAR:-default}` in configuration text.
///
/// An unset variable without a default becomes the empty string, so `master_key: ${KEY}` with
/// `KEY` unset leaves auth off rather than failing. `$$` stays a literal `$`.
package enum EnvironmentInterpolation {
    package static func interpolate(_ text: String, environment: [String: String]) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                output.append(character)
                index = text.index(after: index)
                continue
            }
            let next = text.index(after: index)
            if next < text.endIndex, text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
                continue
            }
            guard next < text.endIndex, text[next] == "{",
                let close = text[next...].firstIndex(of: "}")
            else {
                output.append(character)
                index = next
                continue
            }
            let body = text[text.index(after: next)..<close]
            let name: Substring
            let fallback: Substring?
            if let colon = body.firstIndex(of: ":"), body[body.index(after: colon)...].first == "-" {
                name = body[body.startIndex..<colon]
                fallback = body[body.index(colon, offsetBy: 2)...]
            } else {
                name = body
                fallback = nil
            }
            if let value = environment[String(name)], !value.isEmpty {
                output += value
            } else if let fallback {
                output += fallback
            }
            index = text.index(after: close)
        }
        return output
    }
}
