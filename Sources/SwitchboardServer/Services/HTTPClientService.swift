import AsyncHTTPClient
import ServiceLifecycle

/// Owns the process's one `HTTPClient` and shuts it down after the server has stopped.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        // Services stop in reverse order, so by the time this returns the server has drained.
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// Closes the SQLite connection once everything that writes to it has stopped.
struct ShutdownHook: Service {
    let action: @Sendable () async throws -> Void

    func run() async throws {
        try? await gracefulShutdown()
        try await action()
    }
}
