import Yams

/// Reads DESIGN §4 configuration from YAML text or from the environment, and validates it.
///
/// Every key is checked: a typo is an error naming the key, its line and the closest valid key,
/// so a bad file never starts a half-working server.
public struct ConfigLoader: Sendable {
    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// Parses and validates a YAML configuration.
    /// - Parameters:
    ///   - text: the file's contents, before `${VAR}` interpolation.
    ///   - file: the name used in error messages.
    public func load(yaml text: String, file: String? = nil) throws(ConfigError) -> GatewayConfig {
        // `${VAR}` is replaced inside each scalar after parsing, so a value holding `#`, `:` or a
        // leading `*` is taken as it is instead of changing the YAML around it.
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw ConfigError("invalid YAML: \(error)", file: file)
        }
        guard let root else {
            throw ConfigError("the file is empty", line: 1, file: file)
        }
        do {
            var config = try ConfigParser(environment: environment).parse(root)
            config.source = file ?? "yaml"
            if config.storage.url == StorageConfig().url, let url = environment["SWITCHBOARD_DATABASE_URL"], !url.isEmpty {
                config.storage.url = url
            }
            try ConfigValidator.validate(config)
            return config
        } catch {
            var error = error
            error.file = file
            throw error
        }
    }

    /// Builds the zero-config setup: every provider whose key is in the environment, plus `mock`.
    public func fromEnvironment() throws(ConfigError) -> GatewayConfig {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        var providers: [ProviderConfig] = []
        if let key = value("OPENAI_API_KEY") {
            providers.append(ProviderConfig(name: "openai", type: .openai, apiKey: key, baseURL: value("OPENAI_BASE_URL")))
        }
        if let key = value("ANTHROPIC_API_KEY") {
            providers.append(ProviderConfig(name: "anthropic", type: .anthropic, apiKey: key, baseURL: value("ANTHROPIC_BASE_URL")))
        }
        if let key = value("GEMINI_API_KEY") ?? value("GOOGLE_API_KEY") {
            providers.append(ProviderConfig(name: "gemini", type: .gemini, apiKey: key, baseURL: value("GEMINI_BASE_URL")))
        }
        if let id = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY"),
            let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION")
        {
            providers.append(
                ProviderConfig(
                    name: "bedrock", type: .bedrock, region: region, accessKeyID: id, secretAccessKey: secret,
                    sessionToken: value("AWS_SESSION_TOKEN")
                )
            )
        }
        if let key = value("AZURE_OPENAI_API_KEY"), let endpoint = value("AZURE_OPENAI_ENDPOINT") {
            providers.append(
                ProviderConfig(
                    name: "azure", type: .azure, apiKey: key, baseURL: endpoint,
                    apiVersion: value("AZURE_OPENAI_API_VERSION") ?? "2024-10-21"
                )
            )
        }
        let compatible: [(name: String, keyVariable: String, baseURL: String)] = [
            ("groq", "GROQ_API_KEY", "https://api.groq.com/openai/v1"),
            ("mistral", "MISTRAL_API_KEY", "https://api.mistral.ai/v1"),
            ("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1"),
        ]
        for entry in compatible {
            if let key = value(entry.keyVariable) {
                providers.append(ProviderConfig(name: entry.name, type: .openAICompatible, apiKey: key, baseURL: entry.baseURL))
            }
        }
        if let base = value("OLLAMA_BASE_URL") {
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            let url = trimmed.hasSuffix("/v1") ? trimmed : trimmed + "/v1"
            providers.append(ProviderConfig(name: "ollama", type: .openAICompatible, baseURL: url))
        }
        providers.append(ProviderConfig(name: "mock", type: .mock, models: ["echo"]))

        var server = ServerConfig(masterKey: value("SWITCHBOARD_MASTER_KEY"))
        if let host = value("SWITCHBOARD_HOST") { server.host = host }
        if let port = value("SWITCHBOARD_PORT") ?? value("PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigError("SWITCHBOARD_PORT must be a port number, not '\(port)'")
            }
            server.port = number
        }
        let storage = StorageConfig(url: value("SWITCHBOARD_DATABASE_URL") ?? StorageConfig().url)
        let config = GatewayConfig(server: server, storage: storage, providers: providers, source: "environment")
        try ConfigValidator.validate(config)
        return config
    }

    static func describe(_ error: YamlError, file: String?) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text))" }
            return ConfigError(message, line: mark.line, file: file)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(
                "duplicated key \(duplicates.joined(separator: ", ")) (\(context.text))",
                line: context.mark.line,
                file: file
            )
        default:
            return ConfigError("invalid YAML: \(error)", file: file)
        }
    }
}
