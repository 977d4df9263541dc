/// The few commands the gateway uses, with their replies checked for type: a server error is
/// thrown as ``RedisError/server(_:)``, a reply of the wrong type as
/// ``RedisError/unexpectedReply(command:)``.
extension RedisClient {
    /// `GET key`: the value, or `nil` when there is none.
    package func get(_ key: String, timeout: Duration? = nil) async throws(RedisError) -> [UInt8]? {
        let answer = try Self.checked(await send(RedisCommand("GET", [RESPArgument(key)]), timeout: timeout), "GET")
        switch answer {
        case .bulkString(let bytes): return bytes
        default: throw .unexpectedReply(command: "GET")
        }
    }

    /// `SET key value [PX ms]`.
    package func set(
        _ key: String, _ value: [UInt8], expiresInMilliseconds: Int64? = nil, timeout: Duration? = nil
    ) async throws(RedisError) {
        var arguments = [RESPArgument(key), RESPArgument(value)]
        if let expiresInMilliseconds { arguments += ["PX", RESPArgument(max(1, expiresInMilliseconds))] }
        let answer = try Self.checked(await send(RedisCommand("SET", arguments), timeout: timeout), "SET")
        guard answer.string == "OK" else { throw .unexpectedReply(command: "SET") }
    }

    /// `DEL key…`: how many existed.
    package func delete(_ keys: [String], timeout: Duration? = nil) async throws(RedisError) -> Int {
        guard !keys.isEmpty else { return 0 }
        let answer = try Self.checked(await send(RedisCommand("DEL", keys.map { RESPArgument($0) }), timeout: timeout), "DEL")
        guard let count = answer.integer else { throw .unexpectedReply(command: "DEL") }
        return Int(count)
    }

    /// One `SCAN cursor MATCH pattern COUNT n` step: the next cursor (`"0"` when done) and keys.
    package func scan(
        cursor: String, match pattern: String, count: Int = 500, timeout: Duration? = nil
    ) async throws(RedisError) -> (cursor: String, keys: [String]) {
        let command = RedisCommand("SCAN", [RESPArgument(cursor), "MATCH", RESPArgument(pattern), "COUNT", RESPArgument(count)])
        let answer = try Self.checked(await send(command, timeout: timeout), "SCAN")
        guard case .array(let parts?) = answer, parts.count == 2, let next = parts[0].string, case .array(let keys?) = parts[1] else {
            throw .unexpectedReply(command: "SCAN")
        }
        return (next, keys.compactMap(\.string))
    }

    /// Every key matching `pattern`, through `SCAN` (never `KEYS`, which blocks the server).
    package func keys(matching pattern: String, timeout: Duration? = nil) async throws(RedisError) -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            let step = try await scan(cursor: cursor, match: pattern, timeout: timeout)
            found += step.keys
            cursor = step.cursor
        } while cursor != "0"
        // SCAN may return a key more than once.
        var seen = Set<String>()
        return found.filter { seen.insert($0).inserted }
    }

    /// `pattern` with the glob characters of `text` escaped, for `SCAN MATCH`.
    package static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    package static func checked(_ answer: RESPValue, _ command: String) throws(RedisError) -> RESPValue {
        if case .error(let message) = answer { throw .server(message) }
        return answer
    }
}
