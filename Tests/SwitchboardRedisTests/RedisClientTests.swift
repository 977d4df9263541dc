import NIOCore
import NIOPosix
import SwitchboardTesting
import Synchronization
import Testing

@testable import SwitchboardRedis

/// The client against a real `redis-server` (started per test on a loopback port).
@Suite(.enabled(if: RedisServer.isAvailable), .serialized) struct RedisClientTests {
    static func client(_ server: RedisServer, timeout: Duration = .seconds(1), pool: Int = 2, password: String? = nil, database: Int = 0) -> RedisClient {
        RedisClient(
            configuration: RedisConfiguration(
                port: server.port, password: password ?? server.password, database: database, commandTimeout: timeout, poolSize: pool,
                reconnectBackoff: .milliseconds(20), maxReconnectBackoff: .milliseconds(200)
            ),
            group: MultiThreadedEventLoopGroup.singleton
        )
    }

    @Test func setGetDeleteAndScan() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            try await client.set("t:a", Array("one".utf8))
            try await client.set("t:b", [0, 255, 13, 10], expiresInMilliseconds: 60_000)
            #expect(try await client.get("t:a") == Array("one".utf8))
            #expect(try await client.get("t:b") == [0, 255, 13, 10])
            #expect(try await client.get("t:none") == nil)
            let ttl = try await client.send(RedisCommand("PTTL", ["t:b"]))
            #expect((ttl.integer ?? 0) > 50_000)
            #expect(try await client.keys(matching: "t:*").sorted() == ["t:a", "t:b"])
            #expect(try await client.delete(["t:a", "t:b", "t:none"]) == 2)
            #expect(try await client.keys(matching: "t:*").isEmpty)
            await client.shutdown()
        }
    }

    @Test func concurrentCommandsArePipelinedAndEachGetsItsOwnAnswer() async throws {
        try await withRedisServer { server in
            let client = Self.client(server, pool: 3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask { try await client.set("k\(index)", Array("v\(index)".utf8)) }
                }
                try await group.waitForAll()
            }
            try await withThrowingTaskGroup(of: (Int, [UInt8]?).self) { group in
                for index in 0..<2000 {
                    group.addTask { (index, try await client.get("k\(index % 500)")) }
                }
                for try await (index, value) in group {
                    #expect(value == Array("v\(index % 500)".utf8))
                }
            }
            // One write, many commands: answers come back in order.
            let answers = try await client.pipeline((0..<50).map { RedisCommand("GET", [RESPArgument("k\($0)")]) })
            #expect(answers.map(\.string) == (0..<50).map { "v\($0)" })
            await client.shutdown()
        }
    }

    @Test func serverErrorsAndWrongTypesAreTypedErrors() async throws {
        try await withRedisServer { server in
            let client = Self.client(server)
            _ = try await client.send(RedisCommand("LPUSH", ["list", "x"]))
            await #expect(throws: RedisError.self) { _ = try await client.get("list") }
            let raw = try await client.send(RedisCommand("NOSUCHCOMMAND"))
            guard case .error(let message) = raw else {
                Issue.record("expected an error reply, got \(raw)")
                return
            }
            #expect(message.hasPrefix("ERR"))
            // The connection is still good after errors.
            try await client.ping()
            await client.shutdown()
        }
    }

    @Test func authenticatesAndSelectsTheDatabase() async throws {
        try await withRedisServer(password: "s3cret pass") { server in
            let wrong = Self.client(server, password: "nope")
            await #expect(throws: RedisError.self) { try await wrong.ping() }
            await wrong.shutdown()

            let three = Self.client(server, database: 3)
            try await three.set("where", Array("three".utf8))
            let zero = Self.client(server)
            #expect(try await zero.get("where") == nil)
            #expect(try await three.get("where") == Array("three".utf8))
            await three.shutdown()
            await zero.shutdown()
        }
    }

    @Test func aHungServerTimesOutAndLateAnswersDoNotLandOnLaterCommands() async throws {
        try await withRedisServer { server in
            let setup = Self.client(server)
            try await setup.set("x", Array("1".utf8))
            try await setup.set("y", Array("2".utf8))
            await setup.shutdown()
            let client = Self.client(server, timeout: .milliseconds(100), pool: 1)
            // Connected before the pause (on a loaded run a first connect may take over 100 ms).
            for _ in 0..<50 {
                if (try? await client.ping()) != nil { break }
            }
            server.pause()
            do {
                _ = try await client.get("x")
                Issue.record("a paused server answered")
            } catch {
                #expect(error as? RedisError == .timeout)
            }
            server.resume()
            // The late answer to GET x is dropped; GET y gets y.
            var answer: [UInt8]?
            for _ in 0..<20 {
                if let value = try? await client.get("y") {
                    answer = value
                    break
                }
            }
            #expect(answer == Array("2".utf8))
            await client.shutdown()
        }
    }

    @Test func reconnectsAfterTheServerComesBack() async throws {
        let server = try await RedisServer.start()
        let client = Self.client(server, timeout: .milliseconds(500), pool: 1)
        try await client.ping()
        server.stop()
        await #expect(throws: RedisError.self) { try await client.ping() }
        // While it is down (and backing off), commands fail too.
        await #expect(throws: RedisError.self) { try await client.ping() }
        let again = try await RedisServer.start(port: server.port)
        var back = false
        for _ in 0..<100 {
            if (try? await client.ping()) != nil {
                back = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(back)
        await client.shutdown()
        again.stop()
    }

    @Test func aServerSpeakingGarbageFailsTheCommandsWithoutACrash() async throws {
        // A TCP server that answers anything with bytes that are not RESP.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(GarbageHandler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        let client = RedisClient(
            configuration: RedisConfiguration(port: port, commandTimeout: .seconds(1), poolSize: 1), group: MultiThreadedEventLoopGroup.singleton
        )
        await #expect(throws: RedisError.self) { try await client.ping() }
        await client.shutdown()
        try await channel.close()
    }
}

/// Publish and subscribe: messages reach a subscriber, and one that lost its server
/// subscribes again (saying so) when the server is back.
@Suite(.enabled(if: RedisServer.isAvailable), .serialized) struct RedisSubscriberTests {
    final class Inbox: Sendable {
        let messages = Mutex<[String]>([])
        let connects = Atomic<Int>(0)
    }

    static func wait(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<200 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("never: \(what)")
    }

    @Test func messagesArriveAndTheSubscriptionComesBackWithTheServer() async throws {
        let server = try await RedisServer.start()
        let configuration = RedisConfiguration(
            port: server.port, commandTimeout: .seconds(1), poolSize: 1, reconnectBackoff: .milliseconds(20), maxReconnectBackoff: .milliseconds(100)
        )
        let inbox = Inbox()
        let subscriber = RedisSubscriber(configuration: configuration, channel: "t:news", group: MultiThreadedEventLoopGroup.singleton)
        let listening = Task {
            await subscriber.run(onConnected: { inbox.connects.add(1, ordering: .relaxed) }) { channel, payload in
                inbox.messages.withLock { $0.append("\(channel)=\(String(decoding: payload, as: UTF8.self))") }
            }
        }
        // Publishers with room to spare: this test is about delivery, and a loaded run has
        // taken over a second for a fresh server's first command.
        let client = RedisClientTests.client(server, timeout: .seconds(5))
        try await Self.wait("subscribed") { inbox.connects.load(ordering: .relaxed) == 1 }
        #expect(try await client.publish(Array("one".utf8), to: "t:news") == 1)
        #expect(try await client.publish(Array("elsewhere".utf8), to: "t:other") == 0)
        try await Self.wait("one message") { inbox.messages.withLock { $0 } == ["t:news=one"] }

        server.stop()
        let again = try await RedisServer.start(port: server.port)
        try await Self.wait("subscribed again") { inbox.connects.load(ordering: .relaxed) == 2 }
        let second = RedisClientTests.client(again, timeout: .seconds(5))
        #expect(try await second.publish([0, 255, 32], to: "t:news") == 1)
        try await Self.wait("two messages") { inbox.messages.withLock { $0.count } == 2 }
        #expect(inbox.messages.withLock { $0.last } == "t:news=" + String(decoding: [0, 255, 32] as [UInt8], as: UTF8.self))
        listening.cancel()
        await listening.value
        await client.shutdown()
        await second.shutdown()
        again.stop()
    }
}

private final class GarbageHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n")), promise: nil)
    }
}
