import SwitchboardCore

/// Store calls from handlers: a database failure is a 503 that names nothing internal.
enum GovernanceAccess {
    static func run<T: Sendable>(_ body: () async throws -> T) async throws(GatewayError) -> T {
        do {
            return try await body()
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.internalError, "The gateway's database is unavailable; try again.", status: 503)
        }
    }
}
