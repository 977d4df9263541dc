public import Hummingbird

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
public import SwitchboardCore

/// The context of an authenticated route: the principal is always there.
///
/// Made from the parent context after ``AuthMiddleware`` ran; a request that reached it without
/// a principal (a route added without the middleware) is refused rather than served as anyone.
public struct AuthenticatedContext: ChildRequestContext {
    public typealias ParentContext = GatewayRequestContext

    public var coreContext: CoreRequestContextStorage
    public let principal: Principal
    public let requestID: String
    public let start: ContinuousClock.Instant
    public let remoteAddress: String?

    public init(context: GatewayRequestContext) throws {
        guard let principal = context.principal else { throw Authenticator.rejection }
        self.coreContext = context.coreContext
        self.principal = principal
        self.requestID = context.requestID
        self.start = context.start
        self.remoteAddress = context.remoteAddress
    }

    public var maxUploadSize: Int { 10 * 1024 * 1024 }

    /// The call context the pipeline gets for this request.
    func callContext(body: Data? = nil) -> CallContext {
        CallContext(principal: principal, requestID: requestID, started: start, logger: logger, body: body)
    }
}
