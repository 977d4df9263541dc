package import SwitchboardRedis
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A real `redis-server` on a loopback port, started for one test and killed after it.
///
/// The binary is `SWITCHBOARD_TEST_REDIS_SERVER`, or `redis-server` on the `PATH`. With neither,
/// the Redis tests are skipped locally; under CI (`CI=true`) they run and fail, so a CI machine
/// without Redis cannot pass by skipping them.
package struct RedisServer: Sendable {
    package let port: Int
    package let password: String?
    package let pid: Int32

    package var url: String {
        "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)"
    }

    /// Whether the Redis tests should run here.
    package static var isAvailable: Bool {
        binary != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    static var binary: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SWITCHBOARD_TEST_REDIS_SERVER"], !path.isEmpty { return path }
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        return directories.map { $0 + "/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts a server (on `port`, or a free one) and waits until it answers `PING`.
    package static func start(port: Int? = nil, password: String? = nil) async throws -> RedisServer {
        guard let binary else { throw RedisServerError.notInstalled }
        for _ in 0..<5 {
            // Below the ephemeral range (32768+), where client sockets would collide.
            let chosen = port ?? Int.random(in: 20_000..<32_000)
            var arguments = [
                binary, "--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--loglevel", "warning", "--protected-mode", "no",
            ]
            if let password { arguments += ["--requirepass", password] }
            let pid = try spawn(binary, arguments)
            let server = RedisServer(port: chosen, password: password, pid: pid)
            if await server.waitUntilReady() { return server }
            server.stop()
            if port != nil { break }
        }
        throw RedisServerError.didNotStart
    }

    /// `posix_spawn`, not Foundation's `Process`: `Process.run` crashed here when other tests
    /// spawned processes at the same time. The child gets a minimal environment and no output.
    private static func spawn(_ path: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer {
            for pointer in argv + environment { free(pointer) }
        }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, nil, argv, environment) == 0 else { throw RedisServerError.didNotStart }
        return pid
    }

    /// Kills the server at once (as a crash would) and reaps it.
    package func stop() {
        _ = kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    /// Freezes the server: connections stay open and nothing is answered (a hung Redis).
    package func pause() { _ = kill(pid, SIGSTOP) }

    package func resume() { _ = kill(pid, SIGCONT) }

    /// A client for the test's own checks (generous timeouts).
    package func client() -> RedisClient {
        RedisClient(
            configuration: RedisConfiguration(
                port: port, password: password, commandTimeout: .seconds(2), poolSize: 1, reconnectBackoff: .milliseconds(20),
                maxReconnectBackoff: .milliseconds(100)
            ),
            group: MultiThreadedEventLoopGroup.singleton
        )
    }

    private func waitUntilReady() async -> Bool {
        let probe = client()
        var ready = false
        for _ in 0..<100 {
            if (try? await probe.ping()) != nil {
                ready = true
                break
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        await probe.shutdown()
        return ready
    }
}

package enum RedisServerError: Error {
    case notInstalled
    case didNotStart
}

/// Runs `body` with a fresh Redis server, killed afterwards whatever happens.
package func withRedisServer<Result: Sendable>(
    password: String? = nil, _ body: @Sendable (RedisServer) async throws -> Result
) async throws -> Result {
    let server = try await RedisServer.start(password: password)
    do {
        let result = try await body(server)
        server.resume()
        server.stop()
        return result
    } catch {
        server.resume()
        server.stop()
        throw error
    }
}
