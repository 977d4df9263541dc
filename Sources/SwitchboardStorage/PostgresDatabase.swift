package import Logging
import NIOPosix
import NIOSSL
package import PostgresNIO
import PostgresKit
package import SQLKit
package import ServiceLifecycle

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// PostgreSQL through postgres-nio's pooled `PostgresClient`, named by a `postgres://` URL.
///
/// The client is a Service: it must run (in the application's service group, or a test's task
/// group) for connections to be handed out.
package struct PostgresStorage: SQLDatabaseProvider, Service {
    package let client: PostgresClient

    /// - Parameter url: `postgres://user:password@host:5432/database`; `?sslmode=require` (or
    ///   `prefer`) turns TLS on, anything else leaves it off.
    package init(url: String, logger: Logger) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql", let host = components.host, !host.isEmpty
        else {
            throw StorageError.invalidURL("a PostgreSQL URL must look like postgres://user:password@host:5432/database")
        }
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: tls = .disable
        }
        var database = components.path
        while database.hasPrefix("/") { database.removeFirst() }
        let configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: components.user ?? "postgres",
            password: components.password,
            database: database.isEmpty ? nil : database,
            tls: tls
        )
        self.client = PostgresClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, backgroundLogger: logger)
    }

    package func run() async throws {
        await client.run()
    }

    package func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    package func withTransaction<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await client.withConnection { connection in
            try await connection.sql(queryLogLevel: nil).transaction(body)
        }
    }
}

package enum StorageError: Error, CustomStringConvertible {
    case invalidURL(String)

    package var description: String {
        switch self {
        case .invalidURL(let message): return message
        }
    }
}
