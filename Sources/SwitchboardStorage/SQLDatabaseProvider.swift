package import SQLKit
import Synchronization

/// Lends an `SQLDatabase` for one unit of work: SQLite's single connection, or a pooled
/// PostgreSQL connection. Stores are written once against this and run on both.
package protocol SQLDatabaseProvider: Sendable {
    func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result
    /// Runs `body` in one transaction on one connection: all of its writes land, or none do.
    func withTransaction<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result
}

extension SQLDatabase {
    /// BEGIN … COMMIT around `body`, ROLLBACK if it throws.
    func transaction<Result: Sendable>(
        begin: String = "BEGIN",
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(self)
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }
}

/// A lock that suspends instead of blocking, for serialising transactions on SQLite's one connection.
package final class AsyncSerialLock: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    package init() {}

    package func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    private func acquire() async {
        let acquired = state.withLock { state in
            if state.held { return false }
            state.held = true
            return true
        }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            // Ownership passes straight to the next waiter; `held` stays true.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
