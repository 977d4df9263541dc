/// What a Redis call can fail with. None of them carries a command's arguments or a password.
package enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No connection could be made (or the pool is backing off after one failed).
    case unavailable(String)
    /// The answer did not come within the command timeout.
    case timeout
    /// The connection closed before the answer came.
    case connectionClosed
    /// The bytes from the server were not RESP (or broke a bound: a line, a length, a depth).
    case protocolError(String)
    /// The server answered with an error (`-ERR …`, `-WRONGTYPE …`).
    case server(String)
    /// The answer was RESP but not of the type the command returns.
    case unexpectedReply(command: String)
    /// The URL or settings cannot describe a Redis server.
    case invalidConfiguration(String)

    package var description: String {
        switch self {
        case .unavailable(let why): return "redis unavailable: \(why)"
        case .timeout: return "redis command timed out"
        case .connectionClosed: return "redis connection closed"
        case .protocolError(let why): return "redis protocol error: \(why)"
        case .server(let message): return "redis error: \(message)"
        case .unexpectedReply(let command): return "unexpected redis reply to \(command)"
        case .invalidConfiguration(let why): return "invalid redis configuration: \(why)"
        }
    }
}
