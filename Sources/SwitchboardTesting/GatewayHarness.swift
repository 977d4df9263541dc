package import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
package import NIOCore
package import NIOHTTP1
package import ServiceLifecycle
package import SwitchboardCore
package import SwitchboardServer
package import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A response as a test sees it.
package struct TestResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: String

    package func json() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))
    }

    package func header(_ name: String) -> String? { headers.first(name: name) }
}

/// A running gateway in front of a fake OpenAI upstream, both on loopback ports.
package struct GatewayTestContext: Sendable {
    package let port: Int
    package let upstream: FakeOpenAIUpstream
    package let upstreamPort: Int
    /// A fake Anthropic API, reachable from the config as `${ANTHROPIC_BASE}`.
    package let anthropic: FakeAnthropicUpstream
    /// A fake Gemini API, reachable from the config as `${GEMINI_BASE}`.
    package let gemini: FakeGeminiUpstream
    package let gateway: BuiltGateway
    package let client: HTTPClient
    /// The live server's service group; `nil` in process (``Transport/router``).
    package let serviceGroup: ServiceGroup?
    /// In process, requests go straight to the router.
    let router: (any TestClientProtocol)?

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    package func request(
        _ method: HTTPMethod,
        _ path: String,
        body: String? = nil,
        headers: [(String, String)] = [("content-type", "application/json")],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> TestResponse {
        if let router {
            return try await Self.send(router, method, path, body: body.map { ByteBuffer(string: $0) }, headers: headers)
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    /// Sends raw bytes as the body (they need not be UTF-8).
    package func request(
        _ method: HTTPMethod,
        _ path: String,
        bytes: [UInt8],
        headers: [(String, String)] = [("content-type", "application/json")],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> TestResponse {
        if let router {
            return try await Self.send(router, method, path, body: ByteBuffer(bytes: bytes), headers: headers)
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await client.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    package func post(_ path: String, _ body: String, headers: [(String, String)] = [("content-type", "application/json")]) async throws -> TestResponse {
        try await request(.POST, path, body: body, headers: headers)
    }

    package func get(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await request(.GET, path, headers: headers)
    }

    /// A request through the router, in process.
    static func send(
        _ router: any TestClientProtocol, _ method: HTTPMethod, _ path: String, body: ByteBuffer?, headers: [(String, String)]
    ) async throws -> TestResponse {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        if let body { fields[.contentLength] = String(body.readableBytes) }
        let response = try await router.executeRequest(
            uri: path, method: HTTPRequest.Method(rawValue: method.rawValue) ?? .get, headers: fields, body: body
        )
        var converted = HTTPHeaders()
        for field in response.headers { converted.add(name: field.name.rawName, value: field.value) }
        return TestResponse(status: Int(response.status.code), headers: converted, body: String(buffer: response.body))
    }

    /// Waits until every record handed to the writer so far is in the store.
    package func flushRecords() async {
        await gateway.writer.flush()
    }
}

/// Where the harness's fakes and database are, as the config reads them: the config refers to
/// them with its own `${VAR}` interpolation (`base_url: ${UPSTREAM}`), so nothing in the text is
/// rewritten.
package struct HarnessEndpoints: Sendable {
    /// The fake OpenAI upstream's API root, with `/v1`.
    package var upstream: String
    /// The same server's root, for Azure (`/openai/deployments/...`).
    package var upstreamRoot: String
    package var anthropic: String
    package var gemini: String
    /// A fresh SQLite database, or the one the test asked for.
    package var database: String

    var environment: [String: String] {
        ["UPSTREAM": upstream, "UPSTREAM_ROOT": upstreamRoot, "ANTHROPIC_BASE": anthropic, "GEMINI_BASE": gemini, "DATABASE": database]
    }
}

/// Runs a gateway configured by `config` in front of fake OpenAI, Anthropic and Gemini upstreams.
///
/// The config names the fakes and the database as `${UPSTREAM}`, `${UPSTREAM_ROOT}`,
/// `${ANTHROPIC_BASE}`, `${GEMINI_BASE}` and `${DATABASE}` (see ``HarnessEndpoints``).
/// How a test reaches the gateway.
package enum Transport: Sendable {
    /// Over a real socket on a loopback port: for streaming, disconnects, addresses, shutdown.
    case live
    /// Straight into the router, in process (`app.test(.router)`): faster, for everything else.
    case router
}

/// - Parameters:
///   - database: a storage URL to use instead of a fresh SQLite file (a restart test's, PostgreSQL).
///   - transport: a socket (default) or the router in process.
///   - log: receives every log line at `logLevel` and above (nothing is logged when it is `nil`).
package func withGateway<Result: Sendable>(
    config: String,
    environment: [String: String] = [:],
    database: String? = nil,
    transport: Transport = .live,
    logLevel: Logger.Level = .critical,
    log: (@Sendable (String) -> Void)? = nil,
    _ body: @Sendable (GatewayTestContext) async throws -> Result
) async throws -> Result {
    let upstream = FakeOpenAIUpstream()
    let anthropic = FakeAnthropicUpstream()
    let gemini = FakeGeminiUpstream()
    return try await withLiveServer({ onRunning in gemini.makeApplication(onRunning: onRunning) }) { geminiPort, _ in
    try await withLiveServer({ onRunning in anthropic.makeApplication(onRunning: onRunning) }) { anthropicPort, _ in
    try await withLiveServer({ onRunning in upstream.makeApplication(onRunning: onRunning) }) { upstreamPort, _ in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let endpoints = HarnessEndpoints(
            upstream: "http://127.0.0.1:\(upstreamPort)/v1", upstreamRoot: "http://127.0.0.1:\(upstreamPort)",
            anthropic: "http://127.0.0.1:\(anthropicPort)", gemini: "http://127.0.0.1:\(geminiPort)",
            database: database ?? "sqlite://" + directory.appendingPathComponent("switchboard.db").path
        )
        let path = directory.appendingPathComponent("switchboard.yaml").path
        try Data(config.utf8).write(to: URL(fileURLWithPath: path))
        let arguments = GatewayArguments(
            configPath: path, portOverride: 0, logLevel: log == nil ? .critical : logLevel,
            environment: environment.merging(endpoints.environment) { own, _ in own }, logOutput: log
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        if transport == .router {
            do {
                let built = try await buildGateway(arguments)
                let result = try await built.application.test(.router) { router in
                    try await body(
                        GatewayTestContext(
                            port: 0, upstream: upstream, upstreamPort: upstreamPort, anthropic: anthropic, gemini: gemini, gateway: built,
                            client: client, serviceGroup: nil, router: router
                        )
                    )
                }
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
        let box = BuiltBox()
        do {
            let result = try await withLiveServer({ onRunning in
                let built = try await buildGateway(arguments, onServerRunning: onRunning)
                box.set(built)
                return built.application
            }) { port, group in
                guard let built = box.get() else { throw LiveServerError.didNotStart }
                return try await body(
                    GatewayTestContext(
                        port: port, upstream: upstream, upstreamPort: upstreamPort, anthropic: anthropic, gemini: gemini, gateway: built,
                        client: client, serviceGroup: group, router: nil
                    )
                )
            }
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
    }
    }
}

/// The standard harness config: one OpenAI-compatible provider `fake` and an alias `gpt-test`.
package func standardConfig(extraServer: String = "", extraProviders: String = "", extraModels: String = "") -> String {
    """
    server:
      host: 127.0.0.1
      port: 0
      master_key: sk-test-master
    \(extraServer)
    storage:
      url: ${DATABASE}
    providers:
      - name: fake
        type: openai-compatible
        base_url: ${UPSTREAM}
        api_key: \(FakeOpenAIUpstream.apiKey)
        models: [fake-model]
      - name: mock
        type: mock
    \(extraProviders)
    models:
      - name: gpt-test
        targets: [{ provider: fake, model: fake-model }]
    \(extraModels)
    """
}

package let authHeaders: [(String, String)] = [
    ("content-type", "application/json"), ("authorization", "Bearer sk-test-master"),
]

final class BuiltBox: Sendable {
    private let value = LockedValue<BuiltGateway?>(nil)
    func set(_ built: BuiltGateway) { value.withLock { $0 = built } }
    func get() -> BuiltGateway? { value.withLock { $0 } }
}
