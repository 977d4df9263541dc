import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Testing

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `switchboard` binary and stops it with SIGTERM in the middle of a load.
@Suite(.serialized) struct ShutdownLedgerTests {
    /// The built executable, next to the test bundle.
    static var binary: String? {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [bundle, bundle.deletingLastPathComponent()] {
            let path = directory.appendingPathComponent("switchboard").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Output of a child process, collected as it arrives.
    final class Output: Sendable {
        let text = LockedValue("")
        func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
    }

    /// Starts `switchboard serve` with `config` (written into `directory`) and waits for its port.
    static func launch(
        _ binary: String, config: String, in directory: URL, logLevel: String
    ) async throws -> (process: Process, pipe: Pipe, output: Output, base: String) {
        let configPath = directory.appendingPathComponent("switchboard.yaml").path
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", configPath, "--log-level", logLevel]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = Output()
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        var port: Int?
        for _ in 0..<300 where port == nil {
            try await Task.sleep(for: .milliseconds(50))
            let text = output.text.withLock { $0 }
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                port = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        guard let port else {
            process.terminate()
            Issue.record("gateway did not start: \(output.text.withLock { $0 })")
            throw CancellationError()
        }
        return (process, pipe, output, "http://127.0.0.1:\(port)")
    }

    @Test func sigtermUnderLoadLeavesExactlyOneLedgerRowPerAnsweredRequest() async throws {
        let binary = try #require(Self.binary, "the switchboard executable must be built before the tests (swift build)")
        let upstream = FakeOpenAIUpstream()
        try await withLiveServer({ onRunning in upstream.makeApplication(onRunning: onRunning) }) { upstreamPort, _ in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-sigterm-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = "sqlite://" + directory.appendingPathComponent("ledger.db").path
            let config = """
                server:
                  host: 127.0.0.1
                  port: 0
                  master_key: sk-test-master
                  shutdown_grace_s: 20
                storage:
                  url: \(database)
                providers:
                  - name: fake
                    type: openai-compatible
                    base_url: http://127.0.0.1:\(upstreamPort)/v1
                    api_key: \(FakeOpenAIUpstream.apiKey)
                models:
                  - name: priced
                    targets: [{ provider: fake, model: slow-first-chunk }]
                    price: { input_per_mtok: 1000, output_per_mtok: 2000 }
                  - name: broken
                    targets: [{ provider: fake, model: fail-500 }]
                    retries: 0
                request_log:
                  mode: bodies
                """
            let (process, pipe, output, base) = try await Self.launch(binary, config: config, in: directory, logLevel: "debug")
            defer { if process.isRunning { process.terminate() } }

            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 400)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let load: (keyID: String, secret: String, responses: [String: Int])
            do {
                load = try await Self.runLoad(client: client, base: base, pid: process.processIdentifier)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            let (keyID, secret, responses) = load
            for _ in 0..<600 where process.isRunning {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!process.isRunning, "the gateway did not exit after SIGTERM")
            #expect(process.terminationStatus == 0)
            pipe.fileHandleForReading.readabilityHandler = nil
            #expect(responses.count >= 50, "too few requests were answered to prove anything: \(responses.count)")

            let storage = try await openStorage(database, logger: Logger(label: "sigterm-test"))
            let rows = try await storage.governance.records(UsageQuery(), limit: 100_000)
            var rowsByID: [String: Int] = [:]
            for row in rows { rowsByID[row.requestID, default: 0] += 1 }
            for (id, status) in responses {
                #expect(rowsByID[id] == 1, "request \(id) answered \(status) has \(rowsByID[id] ?? 0) ledger rows")
            }
            #expect(rowsByID.values.allSatisfy { $0 == 1 }, "a request has two rows")
            let ledgerSpend = rows.filter { $0.keyID == keyID }.compactMap(\.costUSD).reduce(0, +)
            let spendTable = try await storage.governance.spend(scope: "key:\(keyID)", since: 0)
            #expect(ledgerSpend > 0)
            #expect(abs(ledgerSpend - spendTable) < 1e-9, "ledger \(ledgerSpend) vs spend table \(spendTable)")
            try await storage.close()

            // Secrets appear nowhere: not in the logs, not in the stored bodies.
            let logs = output.text.withLock { $0 }
            #expect(logs.contains("stopped"))
            for secretText in [secret, "sk-test-master", FakeOpenAIUpstream.apiKey] {
                #expect(!logs.contains(secretText), "a secret is in the logs")
            }
            let file = try Data(contentsOf: directory.appendingPathComponent("ledger.db"))
            let wal = (try? Data(contentsOf: directory.appendingPathComponent("ledger.db-wal"))) ?? Data()
            for blob in [file, wal] {
                #expect(blob.range(of: Data(secret.utf8)) == nil, "the key's secret was stored")
            }
            #expect(rows.contains { $0.requestBody?.contains("[REDACTED:api_key]") == true })
        }
    }

    /// A stored conversation's answer streaming when SIGTERM comes: the stream is cut before the
    /// grace runs out, the client gets an error event, and the partial answer is stored, marked.
    @Test func sigtermMidStreamStoresThePartialAnswerMarkedIncomplete() async throws {
        let binary = try #require(Self.binary, "the switchboard executable must be built before the tests (swift build)")
        let upstream = FakeOpenAIUpstream()
        try await withLiveServer({ onRunning in upstream.makeApplication(onRunning: onRunning) }) { upstreamPort, _ in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-sigterm-conv-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = "sqlite://" + directory.appendingPathComponent("conversations.db").path
            let config = """
                server:
                  host: 127.0.0.1
                  port: 0
                  master_key: sk-test-master
                  shutdown_grace_s: 3
                storage:
                  url: \(database)
                providers:
                  - name: fake
                    type: openai-compatible
                    base_url: http://127.0.0.1:\(upstreamPort)/v1
                    api_key: \(FakeOpenAIUpstream.apiKey)
                models:
                  - name: endless
                    targets: [{ provider: fake, model: endless-stream }]
                """
            let (process, pipe, _, base) = try await Self.launch(binary, config: config, in: directory, logLevel: "info")
            defer { if process.isRunning { process.terminate() } }

            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            var body = ""
            do {
                var request = HTTPClientRequest(url: base + "/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "authorization", value: "Bearer sk-test-master")
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"model":"endless","message":"talk forever","stream":true}"#))
                let response = try await client.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                var signalled = false
                for try await part in response.body {
                    body += String(buffer: part)
                    if !signalled, body.components(separatedBy: "data: {").count > 5 {
                        signalled = true
                        kill(process.processIdentifier, SIGTERM)
                    }
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            for _ in 0..<200 where process.isRunning {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!process.isRunning, "the gateway did not exit after SIGTERM")
            pipe.fileHandleForReading.readabilityHandler = nil
            #expect(body.contains("The gateway is shutting down: the answer was cut short."))
            #expect(!body.contains("[DONE]"))

            let storage = try await openStorage(database, logger: Logger(label: "sigterm-conversation-test"))
            let conversations = try await storage.conversations.conversations(ConversationQuery(owner: "master"))
            #expect(conversations.count == 1)
            let messages = try await storage.conversations.messages(owner: "master", conversationID: conversations.first?.id ?? "")
            #expect(messages.map(\.role) == [.user, .assistant])
            #expect(messages.last?.incomplete == true)
            #expect((messages.last?.text.count ?? 0) > 0, "the partial answer is stored")
            try await storage.close()
        }
    }

    /// Creates a key, fires 300 requests (streams, plain calls, failing calls) and sends SIGTERM
    /// a third of the way in. Returns which requests got an answer, and with what status.
    static func runLoad(client: HTTPClient, base: String, pid: Int32) async throws -> (keyID: String, secret: String, responses: [String: Int]) {
        // A virtual key for the load, so spend is booked to it.
        var create = HTTPClientRequest(url: base + "/admin/keys")
        create.method = .POST
        create.headers.add(name: "authorization", value: "Bearer sk-test-master")
        create.headers.add(name: "content-type", value: "application/json")
        create.body = .bytes(ByteBuffer(string: #"{"name":"load"}"#))
        let created = try await client.execute(create, timeout: .seconds(10))
        let createdBody = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: try await created.body.collect(upTo: 1 << 20)))
        let secret = try #require(createdBody["key"]?.stringValue)
        let keyID = try #require(createdBody["id"]?.stringValue)

        let answered = LockedValue<[String: Int]>([:])
        let total = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                group.addTask {
                    let id = "sigterm-\(index)"
                    let kind = index % 3
                    let model = index % 10 == 9 ? "broken" : "priced"
                    let stream = kind == 1 ? ",\"stream\":true" : ""
                    var request = HTTPClientRequest(url: base + "/v1/chat/completions")
                    request.method = .POST
                    request.headers.add(name: "authorization", value: "Bearer \(secret)")
                    request.headers.add(name: "content-type", value: "application/json")
                    request.headers.add(name: "x-request-id", value: id)
                    request.body = .bytes(ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"my key is \#(secret) ok"}]\#(stream)}"#))
                    do {
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 22)
                        answered.withLock { $0[id] = Int(response.status.code) }
                    } catch {
                        // No answer (refused or cut during shutdown): nothing is owed to this request.
                    }
                }
                if index == total / 3 {
                    // SIGTERM once enough answers are in to prove something, with the rest
                    // still in flight (not after a fixed delay: on a loaded machine too few
                    // would have been answered by then).
                    group.addTask {
                        for _ in 0..<2000 where answered.withLock({ $0.count }) < 60 {
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        kill(pid, SIGTERM)
                    }
                }
            }
            try await group.waitForAll()
        }
        return (keyID, secret, answered.withLock { $0 })
    }
}

@Suite struct KeysCommandTests {
    /// Runs `switchboard ARGS` and returns its exit status and output.
    static func run(_ arguments: [String], environment: [String: String]) throws -> (Int32, String) {
        let binary = try #require(ShutdownLedgerTests.binary, "the switchboard executable must be built before the tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func createListAndRevokeFromTheCommandLine() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = ["SWITCHBOARD_DATABASE_URL": "sqlite://" + directory.appendingPathComponent("cli.db").path]

        let (created, output) = try Self.run(
            ["keys", "create", "--name", "cli-key", "--user", "hal", "--rpm", "30", "--budget", "12.5", "--models", "gpt-4o*,claude-*"],
            environment: environment
        )
        #expect(created == 0, "\(output)")
        let lines = output.split(separator: "\n").map(String.init)
        let secret = try #require(lines.first { $0.hasPrefix("sk-sb-") })
        let id = try #require(lines.first { $0.hasPrefix("created ") }?.split(separator: " ")[1]).description

        let (listed, list) = try Self.run(["keys", "list"], environment: environment)
        #expect(listed == 0)
        #expect(list.contains(id) && list.contains("cli-key") && list.contains("hal") && list.contains("active") && list.contains("$12.5/monthly"))
        #expect(!list.contains(secret))

        let (revoked, _) = try Self.run(["keys", "revoke", id], environment: environment)
        #expect(revoked == 0)
        #expect(try Self.run(["keys", "list"], environment: environment).1.contains("revoked"))
        let (missing, message) = try Self.run(["keys", "revoke", "key_nope"], environment: environment)
        #expect(missing == 1 && message.contains("no key with id key_nope"))
        let (bad, badMessage) = try Self.run(["keys", "create", "--name", "x", "--role", "root"], environment: environment)
        #expect(bad == 1 && badMessage.contains("`role` must be one of admin, user, viewer"))
    }
}
