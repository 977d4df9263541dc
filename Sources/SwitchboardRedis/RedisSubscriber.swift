package import NIOCore

/// Listens on a Redis channel (`SUBSCRIBE`) over a connection of its own: a subscribed
/// connection takes no other commands. ``run(onConnected:onMessage:)`` keeps it subscribed until
/// cancelled, connecting again (with the configured backoff) whenever it drops; publishing goes
/// through a ``RedisClient`` (`PUBLISH`).
package struct RedisSubscriber: Sendable {
    package let configuration: RedisConfiguration
    package let channel: String
    let group: any EventLoopGroup
    /// How often a quiet subscription is checked with `PING`.
    let keepAlive: Duration

    package init(configuration: RedisConfiguration, channel: String, group: any EventLoopGroup, keepAlive: Duration = .seconds(5)) {
        self.configuration = configuration
        self.channel = channel
        self.group = group
        self.keepAlive = keepAlive
    }

    /// Until the task is cancelled: `onConnected` each time the subscription is (again) in place
    /// — messages published while it was not are gone — and `onMessage` for each message.
    package func run(
        onConnected: @escaping @Sendable () -> Void, onMessage: @escaping @Sendable (_ channel: String, _ payload: [UInt8]) -> Void
    ) async {
        var backoff = configuration.reconnectBackoff
        while !Task.isCancelled {
            let pushes: @Sendable (RESPValue) -> Void = { value in
                guard case .array(let parts?) = value, let channel = parts[parts.count - 2].string, let payload = parts[parts.count - 1].bytes
                else { return }
                onMessage(channel, payload)
            }
            var opened: RedisConnection?
            do {
                let connection = try await RedisConnection.connect(to: configuration, on: group.next(), pushes: pushes).get()
                opened = connection
                let answers = try await connection.send([RedisCommand("SUBSCRIBE", [RESPArgument(channel)])], timeout: configuration.connectTimeout).get()
                if case .error(let message)? = answers.first { throw RedisError.server(message) }
                backoff = configuration.reconnectBackoff
                onConnected()
                // A link that died without closing (a partition) would keep the subscription
                // silent forever: a PING every few seconds closes it instead.
                var quiet = Duration.zero
                while connection.isActive, !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    quiet += .milliseconds(100)
                    guard quiet >= keepAlive, connection.isActive, !Task.isCancelled else { continue }
                    quiet = .zero
                    let pong = try? await connection.send([RedisCommand("PING")], timeout: configuration.connectTimeout).get()
                    if pong == nil { break }
                }
            } catch {}
            if let opened { _ = try? await opened.close().get() }
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, configuration.maxReconnectBackoff)
        }
    }
}

extension RedisClient {
    /// `PUBLISH channel message`: how many subscribers got it.
    package func publish(_ message: [UInt8], to channel: String, timeout: Duration? = nil) async throws(RedisError) -> Int {
        let answer = try Self.checked(await send(RedisCommand("PUBLISH", [RESPArgument(channel), RESPArgument(message)]), timeout: timeout), "PUBLISH")
        guard let count = answer.integer else { throw .unexpectedReply(command: "PUBLISH") }
        return Int(count)
    }
}
