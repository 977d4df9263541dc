package import Hummingbird

#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif
package import SwitchboardCore

/// The context of an authenticated route: the principal is always there.
///
/// Made from the parent context after ``AuthMiddleware`` ran; a request that reached it without
/// a principal (a route added without the middleware) is refused rather than served as anyone.
package struct AuthenticatedContext: ChildRequestContext {
    package typealias ParentContext = GatewayRequestContext

    package var coreContext: CoreRequestContextStorage
    package let principal: Principal
    package let requestID: String
    package let start: ContinuousClock.Instant
    package let remoteAddress: String?

    package init(context: GatewayRequestContext) throws {
        guard let principal = context.principal else { throw Authenticator.rejection }
        self.coreContext = context.coreContext
        self.principal = principal
        self.requestID = context.requestID
        self.start = context.start
        self.remoteAddress = context.remoteAddress
    }

    package var maxUploadSize: Int { 10 * 1024 * 1024 }

    /// The call context the pipeline gets for this request.
    func callContext(body: Data? = nil, cacheControls: CacheControls? = nil) -> CallContext {
        CallContext(principal: principal, requestID: requestID, started: start, logger: logger, body: body, cacheControls: cacheControls)
    }
}
