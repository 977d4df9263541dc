public import Hummingbird
import NIOCore
package import SwitchboardCore

/// What middleware learned about a request, handed on to controllers.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// When the gateway started on this request, for latency and overhead.
    package let start: ContinuousClock.Instant
    /// The request's id: the client's `X-Request-Id`, or one the gateway made.
    package var requestID: String
    /// Set by ``AuthMiddleware`` on authenticated routes.
    package var principal: Principal?
    /// The client's IP address, for per-address limits.
    package let remoteAddress: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.start = .now
        self.requestID = ""
        self.principal = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies are read by the controllers with the configured limit; this only bounds Hummingbird's own decoding.
    public var maxUploadSize: Int { 10 * 1024 * 1024 }
}
