import ArgumentParser
import Logging
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage

import Foundation

struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A self-hosted LLM gateway: one OpenAI-compatible API in front of every provider.",
        version: SwitchboardVersion.current,
        subcommands: [Serve.self, CheckConfig.self, Migrate.self, Keys.self, Version.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand, AppArguments {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @Option(name: .shortAndLong, help: "YAML config file; without one, providers come from the environment.")
    var config: String?

    @Option(name: .long, help: "Address to listen on (overrides server.host).")
    var host: String?

    @Option(name: .shortAndLong, help: "Port to listen on (overrides server.port).")
    var port: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default: LOG_LEVEL, else info).")
    var level: String?

    var configPath: String? { config }
    var hostOverride: String? { host }
    var portOverride: Int? { port }
    /// `--log-level`, else `LOG_LEVEL` as the seeds set it (`INFO`, `DEBUG`, `WARNING`…, any case).
    var logLevel: Logger.Level {
        let name = level ?? environment["LOG_LEVEL"] ?? "info"
        return Logger.Level(rawValue: name.lowercased()) ?? .info
    }
    var environment: [String: String] { ProcessEnvironment.current }

    func run() async throws {
        do {
            try await runGateway(self)
        } catch let error as ConfigError {
            printError("switchboard: configuration error: \(error)")
            throw ExitCode(78)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file and name the first problem with its line."
    )

    @Argument(help: "The YAML file to check.")
    var file: String

    func run() throws {
        let arguments = GatewayArguments(configPath: file, environment: ProcessEnvironment.current)
        do {
            let config = try loadConfig(arguments)
            print("\(file): OK — \(config.providers.count) provider(s), \(config.models.count) model(s)")
        } catch let error as ConfigError {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or upgrade the database schema (SQLite or PostgreSQL) and exit; `serve` also does this at start."
    )

    @Option(name: .shortAndLong, help: "YAML config file; without one, SWITCHBOARD_DATABASE_URL or ./switchboard.db.")
    var config: String?

    func run() async throws {
        let arguments = GatewayArguments(configPath: config, environment: ProcessEnvironment.current)
        do {
            let loaded = try loadConfig(arguments)
            let storage = try await openStorage(loaded.storage.url, logger: Logger(label: "switchboard.migrate"))
            try await storage.close()
            print("migrated \(loaded.storage.url.hasPrefix("sqlite:") ? loaded.storage.url : "PostgreSQL storage")")
        } catch let error as ConfigError {
            printError("switchboard: \(error)")
            throw ExitCode(1)
        }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("switchboard \(SwitchboardVersion.current)")
    }
}

/// The process environment as a dictionary, read once per call.
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let string = String(cString: entry)
            if let equals = string.firstIndex(of: "=") {
                result[String(string[..<equals])] = String(string[string.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
