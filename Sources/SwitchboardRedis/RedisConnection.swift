import NIOCore
import NIOPosix
import NIOSSL

/// One open connection. Commands sent from many tasks at once are pipelined: each is written
/// as soon as it is sent and answered in order.
final class RedisConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    var isActive: Bool { channel.isActive }

    /// Connects, then authenticates and selects the database when configured.
    static func connect(
        to configuration: RedisConfiguration, on eventLoop: any EventLoop, pushes: (@Sendable (RESPValue) -> Void)? = nil
    ) -> EventLoopFuture<RedisConnection> {
        let sslContext: NIOSSLContext?
        if configuration.tls {
            do {
                sslContext = try NIOSSLContext(configuration: .makeClientConfiguration())
            } catch {
                return eventLoop.makeFailedFuture(RedisError.invalidConfiguration("TLS: \(error)"))
            }
        } else {
            sslContext = nil
        }
        let host = configuration.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.nanoseconds)))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: isIPAddress(host) ? nil : host)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        RedisCommandHandler(maxPending: configuration.maxPendingPerConnection, pushes: pushes)
                    )
                }
            }
        return bootstrap.connect(host: host, port: configuration.port)
            .flatMapErrorThrowing { error in throw RedisError.unavailable("connect to \(host):\(configuration.port): \(error)") }
            .flatMap { channel -> EventLoopFuture<RedisConnection> in
                let connection = RedisConnection(channel: channel)
                var setup: [RedisCommand] = []
                if let password = configuration.password {
                    setup.append(RedisCommand("AUTH", (configuration.username.map { [RESPArgument($0)] } ?? []) + [RESPArgument(password)]))
                }
                if configuration.database != 0 {
                    setup.append(RedisCommand("SELECT", [RESPArgument(configuration.database)]))
                }
                guard !setup.isEmpty else { return eventLoop.makeSucceededFuture(connection) }
                let commands = setup
                return connection.send(commands, timeout: configuration.connectTimeout).flatMapThrowing { answers in
                    for (command, answer) in zip(commands, answers) {
                        if case .error(let message) = answer {
                            // AUTH's error text never holds the password.
                            throw RedisError.unavailable("\(command.name) refused: \(message)")
                        }
                    }
                    return connection
                }.flatMapError { error in
                    channel.close(promise: nil)
                    return eventLoop.makeFailedFuture(error)
                }
            }
    }

    /// Writes `commands` in one go; their answers, in order (a server error is an `.error`
    /// value, not a failure). Fails as a whole on timeout or a closed connection.
    func send(_ commands: [RedisCommand], timeout: Duration) -> EventLoopFuture<[RESPValue]> {
        let eventLoop = channel.eventLoop
        var bytes: [UInt8] = []
        for command in commands { command.write(to: &bytes) }
        let promises = commands.map { _ in eventLoop.makePromise(of: RESPValue.self) }
        let outbound = RedisOutbound(bytes: channel.allocator.buffer(bytes: bytes), promises: promises)
        let channel = self.channel
        let deadline = eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.nanoseconds))) {
            for promise in promises { promise.fail(RedisError.timeout) }
            // A server that does not answer in time may never: the pool opens a new connection
            // rather than queue more commands behind this one (what waits on it fails now).
            channel.close(promise: nil)
        }
        channel.writeAndFlush(outbound).whenFailure { error in
            for promise in promises { promise.fail(error as? RedisError ?? RedisError.connectionClosed) }
        }
        let answers = EventLoopFuture.whenAllSucceed(promises.map(\.futureResult), on: eventLoop)
        answers.whenComplete { _ in deadline.cancel() }
        return answers
    }

    func close() -> EventLoopFuture<Void> {
        channel.close().recover { _ in }
    }
}

extension Duration {
    /// Whole nanoseconds (saturating), for NIO's `TimeAmount`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}

private func isIPAddress(_ host: String) -> Bool {
    (try? SocketAddress(ipAddress: host, port: 0)) != nil
}
