import SwitchboardCore
import SwitchboardServer
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A bad config never starts a half-working server: `buildGateway` refuses it, saying what and where.
@Suite struct StartupTests {
    func refusal(_ yaml: String, environment: [String: String] = [:]) async throws -> ConfigError {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sb-\(UUID().uuidString).yaml").path
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await buildGateway(GatewayArguments(configPath: path, portOverride: 0, logLevel: .critical, environment: environment))
            Issue.record("the gateway started with a bad config")
            return ConfigError("started")
        } catch let error as ConfigError {
            #expect(error.file == path)
            return error
        }
    }

    @Test func typo() async throws {
        let error = try await refusal("server:\n  prot: 8080\n")
        #expect(error.line == 2)
        #expect(error.message.contains("`prot`"))
        #expect(error.message.contains("`port`"))
    }

    @Test func missingProviderReference() async throws {
        let error = try await refusal("""
            providers:
              - { name: m, type: mock }
            models:
              - name: x
                targets: [{ provider: n, model: y }]
            """)
        #expect(error.line == 4)
        #expect(error.message.contains("`n`"))
    }

    @Test func providerWithoutKey() async throws {
        let error = try await refusal("providers:\n  - name: o\n    type: openai\n    api_key: ${MISSING_KEY}\n")
        #expect(error.line == 2)
        #expect(error.message.contains("api_key"))
    }

    @Test func invalidYAML() async throws {
        let error = try await refusal("server: {port: 8080\n")
        #expect(error.message.contains("invalid YAML"))
    }

    @Test func zeroConfigRegistersEveryProviderItFindsKeysFor() throws {
        let config = try loadConfig(
            GatewayArguments(
                logLevel: .critical,
                environment: [
                    "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1", "GROQ_API_KEY": "g",
                    "ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k", "AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
                ]
            )
        )
        #expect(config.providers.map(\.name) == ["anthropic", "gemini", "bedrock", "azure", "groq", "mock"])
        #expect(config.warnings.isEmpty)
        #expect(config.server.masterKey == nil)
    }
}
