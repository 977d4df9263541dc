package import AsyncHTTPClient
import Hummingbird
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
    /// A fake Anthropic API, reachable from the config as `ANTHROPIC_BASE`.
    package let anthropic: FakeAnthropicUpstream
    /// A fake Gemini API, reachable from the config as `GEMINI_BASE`.
    package let gemini: FakeGeminiUpstream
    package let gateway: BuiltGateway
    package let client: HTTPClient
    package let serviceGroup: ServiceGroup

    package var baseURL: String { "http://127.0.0.1:\(port)" }

    package func request(
        _ method: HTTPMethod,
        _ path: String,
        body: String? = nil,
        headers: [(String, String)] = [("content-type", "application/json")],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> TestResponse {
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

    /// Waits until every record handed to the writer so far is in the store.
    package func flushRecords() async {
        await gateway.writer.flush()
    }
}

/// Config for the harness: `UPSTREAM` in the text is replaced by the fake OpenAI upstream's base
/// URL (with `/v1`), `UPSTREAM_ROOT` by its root (for Azure), `ANTHROPIC_BASE` by the fake Anthropic API's root, `DB` by a fresh SQLite file.
/// - Parameter log: receives every log line at `logLevel` and above (nothing is logged when it is `nil`).
package func withGateway<Result: Sendable>(
    config: String,
    environment: [String: String] = [:],
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
        let text = config
            .replacingOccurrences(of: "ANTHROPIC_BASE", with: "http://127.0.0.1:\(anthropicPort)")
            .replacingOccurrences(of: "GEMINI_BASE", with: "http://127.0.0.1:\(geminiPort)")
            .replacingOccurrences(of: "UPSTREAM_ROOT", with: "http://127.0.0.1:\(upstreamPort)")
            .replacingOccurrences(of: "UPSTREAM", with: "http://127.0.0.1:\(upstreamPort)/v1")
            // Only the `url: DB` token: a path or id that merely contains "DB" must stay as it is.
            .replacingOccurrences(of: "url: DB", with: "url: sqlite://" + directory.appendingPathComponent("switchboard.db").path)
        let path = directory.appendingPathComponent("switchboard.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let arguments = GatewayArguments(
            configPath: path, portOverride: 0, logLevel: log == nil ? .critical : logLevel, environment: environment, logOutput: log
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
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
                        client: client, serviceGroup: group
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
      url: DB
    providers:
      - name: fake
        type: openai-compatible
        base_url: UPSTREAM
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
