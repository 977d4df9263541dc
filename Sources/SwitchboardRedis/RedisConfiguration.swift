#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a Redis server is and how to talk to it: `redis://[user[:password]@]host[:port][/db]`,
/// or `rediss://…` for TLS.
package struct RedisConfiguration: Sendable, Hashable {
    package var host: String
    package var port: Int
    package var username: String?
    package var password: String?
    package var database: Int
    package var tls: Bool
    /// The longest any command (with the connection it may have to wait for) may take.
    package var commandTimeout: Duration
    package var connectTimeout: Duration
    /// Connections kept open; commands are spread over them and pipelined on each.
    package var poolSize: Int
    /// Commands waiting for answers on one connection before new ones are refused.
    package var maxPendingPerConnection: Int
    /// After a failed connect, the pool waits this long (doubling per failure, up to
    /// `maxReconnectBackoff`) before it tries again; commands meanwhile fail at once.
    package var reconnectBackoff: Duration
    package var maxReconnectBackoff: Duration

    package init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0,
        tls: Bool = false, commandTimeout: Duration = .milliseconds(20), connectTimeout: Duration = .seconds(1),
        poolSize: Int = 4, maxPendingPerConnection: Int = 10_000,
        reconnectBackoff: Duration = .milliseconds(100), maxReconnectBackoff: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.commandTimeout = commandTimeout
        self.connectTimeout = connectTimeout
        self.poolSize = max(1, poolSize)
        self.maxPendingPerConnection = max(1, maxPendingPerConnection)
        self.reconnectBackoff = reconnectBackoff
        self.maxReconnectBackoff = maxReconnectBackoff
    }

    /// Reads a `redis://` or `rediss://` URL; the other settings keep their defaults.
    package init(url text: String) throws(RedisError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .invalidConfiguration("not a URL")
        }
        guard scheme == "redis" || scheme == "rediss" else {
            throw .invalidConfiguration("the scheme must be redis:// or rediss://")
        }
        guard let host = components.host, !host.isEmpty else { throw .invalidConfiguration("no host") }
        self.init(host: host, port: components.port ?? 6379, tls: scheme == "rediss")
        guard (1...65535).contains(port) else { throw .invalidConfiguration("port out of range") }
        // `user` and `password` come percent-decoded.
        let user = components.user
        let password = components.password
        if let password {
            self.password = password
            self.username = (user?.isEmpty ?? true) ? nil : user
        } else if let user, !user.isEmpty {
            // `redis://secret@host`: a lone user part is the password (the legacy form).
            self.password = user
        }
        let path = components.path.split(separator: "/")
        if let first = path.first {
            guard path.count == 1, let database = Int(first), database >= 0 else {
                throw .invalidConfiguration("the path must be a database number")
            }
            self.database = database
        }
    }

    /// The URL with any password masked, for logs.
    package var redacted: String {
        let credentials = password == nil ? "" : "\(username ?? ""):***@"
        return "\(tls ? "rediss" : "redis")://\(credentials)\(host):\(port)/\(database)"
    }
}

/// How long the pool waits before the `failures`-th reconnect: `base` doubled per failure
/// after the first, never above `maximum`. Pure, for tests.
package func redisReconnectDelay(failures: Int, base: Duration, maximum: Duration) -> Duration {
    guard failures > 0 else { return .zero }
    var delay = base
    for _ in 1..<min(failures, 32) {
        delay = delay * 2
        if delay >= maximum { return maximum }
    }
    return min(delay, maximum)
}
