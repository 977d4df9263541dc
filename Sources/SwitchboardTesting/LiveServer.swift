package import Hummingbird
import Logging
package import ServiceLifecycle

/// Runs a Hummingbird application on a free loopback port for the length of `body`.
///
/// The application is shut down gracefully when `body` returns or throws.
package func withLiveServer<App: ApplicationProtocol, Result: Sendable>(
    _ makeApplication: (_ onRunning: @escaping @Sendable (Int) async -> Void) async throws -> App,
    _ body: @Sendable (_ port: Int, _ group: ServiceGroup) async throws -> Result
) async throws -> Result {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try await makeApplication { port in continuation.yield(port) }
    var logger = Logger(label: "switchboard.testing")
    logger.logLevel = .critical
    let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await serviceGroup.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            throw LiveServerError.didNotStart
        }
        do {
            let result = try await body(port, serviceGroup)
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

package enum LiveServerError: Error {
    case didNotStart
}
