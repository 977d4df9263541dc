package import NIOCore
import Synchronization

/// A small pool of pipelined connections to one Redis server.
///
/// A command goes out on a connection of the event loop it is sent from when there is one (so
/// it costs no thread hop), else on the next connection in turn; a new connection opens on the
/// sender's event loop.
///
/// Connections open on first use and reopen when they close. After a failed connect the pool
/// backs off (``redisReconnectDelay(failures:base:maximum:)``) and fails commands at once until
/// then, so a Redis that is down costs a request nothing; every command — with any connection it
/// waits for — is bounded by ``RedisConfiguration/commandTimeout``.
package final class RedisClient: Sendable {
    package let configuration: RedisConfiguration
    private let group: any EventLoopGroup

    private enum Slot {
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case ready(RedisConnection)
    }

    private struct State {
        var slots: [Slot]
        var next = 0
        var failures = 0
        var retryAt: ContinuousClock.Instant?
        var closed = false
    }

    private enum Pick {
        case ready(RedisConnection)
        case wait(EventLoopFuture<RedisConnection>)
        case connect(slot: Int, promise: EventLoopPromise<RedisConnection>)
        case fail(RedisError)
    }

    private let state: Mutex<State>

    package init(configuration: RedisConfiguration, group: any EventLoopGroup) {
        self.configuration = configuration
        self.group = group
        self.state = Mutex(State(slots: Array(repeating: .idle, count: configuration.poolSize)))
    }

    /// Sends one command; its answer (a server error is returned as `.error`, not thrown).
    /// - Parameter timeout: instead of the configured command timeout (for slow admin work).
    package func send(_ command: RedisCommand, timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        let answers = try await pipeline([command], timeout: timeout)
        guard let answer = answers.first else { throw .unexpectedReply(command: command.name) }
        return answer
    }

    /// Sends `commands` in one write on one connection; their answers, in order.
    package func pipeline(_ commands: [RedisCommand], timeout: Duration? = nil) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let clock = ContinuousClock()
        let deadline = clock.now + (timeout ?? configuration.commandTimeout)
        let connection = try await connection(until: deadline, clock: clock)
        let remaining = max(deadline - clock.now, .milliseconds(1))
        return try await Self.value(of: connection.send(commands, timeout: remaining))
    }

    /// `PING`: whether the server answers.
    package func ping(timeout: Duration? = nil) async throws(RedisError) {
        let answer = try await send(RedisCommand("PING"), timeout: timeout)
        guard answer.string == "PONG" else { throw .unexpectedReply(command: "PING") }
    }

    /// Closes every connection; later commands fail.
    package func shutdown() async {
        let connections = state.withLock { state -> [RedisConnection] in
            state.closed = true
            let open = state.slots.compactMap { slot -> RedisConnection? in
                if case .ready(let connection) = slot { return connection }
                return nil
            }
            state.slots = state.slots.map { _ in .idle }
            return open
        }
        for connection in connections { try? await connection.close().get() }
    }

    private func connection(until deadline: ContinuousClock.Instant, clock: ContinuousClock) async throws(RedisError) -> RedisConnection {
        let now = clock.now
        let pick = state.withLock { state -> Pick in
            guard !state.closed else { return .fail(.unavailable("the client is shut down")) }
            // A connection on the caller's own event loop first: the command is written, read
            // and answered on this thread, with no hop to another and back.
            for slot in state.slots {
                if case .ready(let connection) = slot, connection.isActive, connection.channel.eventLoop.inEventLoop {
                    return .ready(connection)
                }
            }
            let slot = state.next
            state.next = (state.next + 1) % state.slots.count
            switch state.slots[slot] {
            case .ready(let connection) where connection.isActive:
                return .ready(connection)
            case .connecting(let future):
                return .wait(future)
            case .ready, .idle:
                if let retryAt = state.retryAt, now < retryAt {
                    return .fail(.unavailable("reconnecting after a failed connect"))
                }
                let promise = group.any().makePromise(of: RedisConnection.self)
                state.slots[slot] = .connecting(promise.futureResult)
                return .connect(slot: slot, promise: promise)
            }
        }
        let future: EventLoopFuture<RedisConnection>
        switch pick {
        case .ready(let connection):
            return connection
        case .fail(let error):
            throw error
        case .wait(let pending):
            future = pending
        case .connect(let slot, let promise):
            RedisConnection.connect(to: configuration, on: promise.futureResult.eventLoop).cascade(to: promise)
            promise.futureResult.whenComplete { [self] result in settle(slot: slot, result: result, clock: clock) }
            future = promise.futureResult
        }
        // Waiting for a connection counts against the command's time; the connect itself goes on.
        let remaining = max(deadline - clock.now, .milliseconds(1))
        return try await Self.value(of: Self.bounded(future, by: remaining))
    }

    private func settle(slot: Int, result: Result<RedisConnection, any Error>, clock: ContinuousClock) {
        let stale = state.withLock { state -> RedisConnection? in
            switch result {
            case .success(let connection):
                guard !state.closed else { return connection }
                state.slots[slot] = .ready(connection)
                state.failures = 0
                state.retryAt = nil
                return nil
            case .failure:
                state.slots[slot] = .idle
                state.failures += 1
                state.retryAt = clock.now + redisReconnectDelay(
                    failures: state.failures, base: configuration.reconnectBackoff, maximum: configuration.maxReconnectBackoff
                )
                return nil
            }
        }
        if let stale { _ = stale.close() }
    }

    private static func bounded<Value: Sendable>(_ future: EventLoopFuture<Value>, by timeout: Duration) -> EventLoopFuture<Value> {
        let promise = future.eventLoop.makePromise(of: Value.self)
        let timer = future.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { promise.fail(RedisError.timeout) }
        future.whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult
    }

    private static func value<Value: Sendable>(of future: EventLoopFuture<Value>) async throws(RedisError) -> Value {
        do {
            return try await future.get()
        } catch {
            throw (error as? RedisError) ?? .connectionClosed
        }
    }
}
