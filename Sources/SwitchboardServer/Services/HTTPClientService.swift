import AsyncHTTPClient
import NIOPosix
import ServiceLifecycle
import SwitchboardCore

/// Owns the process's one `HTTPClient` and shuts it down after the server has stopped.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        // Services stop in reverse order, so by the time this returns the server has drained.
        try? await gracefulShutdown()
        try await client.shutdown()
    }

    /// The client every upstream call goes through: no redirects, no decompression, a pool
    /// large enough for the gateway's concurrency.
    static func makeClient(reliability: ReliabilityConfig) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout.connect = .milliseconds(Int64(reliability.connectTimeoutSeconds * 1000))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        // A refused connection fails the attempt at once; the gateway's executor decides what to try next.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
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
