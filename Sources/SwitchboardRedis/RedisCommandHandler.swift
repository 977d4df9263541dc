import NIOCore

/// Commands on their way out: their bytes, written at once (a pipeline), and one promise per
/// command, answered in order.
struct RedisOutbound {
    var bytes: ByteBuffer
    var promises: [EventLoopPromise<RESPValue>]
}

/// Pairs each answer with the oldest command still waiting for one. A command whose caller gave
/// up (timed out) keeps its place: its late answer is taken and dropped, so the answers after it
/// still reach their own commands.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisOutbound
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>(initialCapacity: 16)
    private var received: ByteBuffer?
    private let parser = RESPParser()
    private let maxPending: Int
    /// On a subscribed connection: where published messages go (`["message", channel, payload]`
    /// arrives with no command waiting for it).
    private let pushes: (@Sendable (RESPValue) -> Void)?

    init(maxPending: Int, pushes: (@Sendable (RESPValue) -> Void)? = nil) {
        self.maxPending = maxPending
        self.pushes = pushes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outbound = unwrapOutboundIn(data)
        guard waiting.count + outbound.promises.count <= maxPending else {
            for waiter in outbound.promises { waiter.fail(RedisError.unavailable("too many commands waiting")) }
            promise?.fail(RedisError.unavailable("too many commands waiting"))
            return
        }
        waiting.append(contentsOf: outbound.promises)
        context.write(wrapOutboundOut(outbound.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        // Taken out of `received` before it grows, so appending does not copy it.
        var buffer: ByteBuffer
        if var held = received {
            received = nil
            held.writeBuffer(&incoming)
            buffer = held
        } else {
            buffer = incoming
        }
        do {
            while let value = try parser.next(from: &buffer) {
                if let pushes, Self.isPush(value) {
                    pushes(value)
                    continue
                }
                guard let waiter = waiting.popFirst() else {
                    throw RedisError.protocolError("an answer nobody asked for")
                }
                waiter.succeed(value)
            }
            buffer.discardReadBytes()
            received = buffer.readableBytes == 0 ? nil : buffer
        } catch {
            received = nil
            failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisError.connectionClosed)
        context.close(promise: nil)
    }

    /// A published message: what a subscribed connection receives unasked.
    static func isPush(_ value: RESPValue) -> Bool {
        guard case .array(let parts?) = value, let kind = parts.first?.string else { return false }
        return (kind == "message" && parts.count == 3) || (kind == "pmessage" && parts.count == 4)
    }

    private func failAll(_ error: any Error) {
        while let waiter = waiting.popFirst() { waiter.fail(error) }
    }
}
