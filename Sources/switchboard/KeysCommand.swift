import ArgumentParser
import Logging
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage

import Foundation

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke virtual keys in the gateway's database.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Storage: ParsableArguments {
        @Option(name: .shortAndLong, help: "YAML config file; without one, SWITCHBOARD_DATABASE_URL or ./switchboard.db.")
        var config: String?

        func url() throws -> String {
            let arguments = GatewayArguments(configPath: config, environment: ProcessEnvironment.current)
            do {
                return try loadConfig(arguments).storage.url
            } catch let error as ConfigError {
                printError("switchboard: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print its secret (shown only this once).")

        @OptionGroup var storage: Storage
        @Option(help: "A name to tell the key by.") var name: String
        @Option(help: "The user the key belongs to.") var user: String?
        @Option(help: "The team the key belongs to.") var team: String?
        @Option(help: "admin, user or viewer.") var role: String = "user"
        @Option(help: "Allowed models, comma-separated patterns (`gpt-4o*,claude-*`); all when omitted.") var models: String?
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(help: "Budget in USD.") var budget: Double?
        @Option(help: "daily, monthly or total.") var period: String = "monthly"
        @Option(help: "Expiry, ISO 8601 UTC (`2026-12-31T00:00:00Z`).") var expires: String?

        func run() async throws {
            var fields: [String: JSONValue] = ["name": .string(name), "role": .string(role), "budget_period": .string(period)]
            if let user { fields["user_id"] = .string(user) }
            if let team { fields["team"] = .string(team) }
            if let models {
                fields["models"] = .array(models.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
            }
            if let rpm { fields["rpm"] = .integer(Int64(rpm)) }
            if let tpm { fields["tpm"] = .integer(Int64(tpm)) }
            if let budget { fields["max_budget_usd"] = .double(budget) }
            if let expires { fields["expires_at"] = .string(expires) }
            let request = fields
            do {
                let (key, secret) = try await withGovernanceStore(try storage.url(), logger: Logger(label: "switchboard.keys")) { store in
                    try await issueKey(request, store: store)
                }
                print("created \(key.id) (\(key.name), role \(key.role.rawValue))")
                print(secret)
            } catch let error as GatewayError {
                printError("switchboard: \(error.message)")
                throw ExitCode(1)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @OptionGroup var storage: Storage
        @Option(help: "Only this user's keys.") var user: String?

        func run() async throws {
            let user = self.user
            let keys = try await withGovernanceStore(try storage.url(), logger: Logger(label: "switchboard.keys")) { store in
                try await store.keys(userID: user)
            }
            let now = Date().timeIntervalSince1970
            print("ID\tPREFIX\tNAME\tUSER\tROLE\tSTATUS\tBUDGET")
            for key in keys {
                let status = key.revokedAt != nil ? "revoked" : (key.isActive(at: now) ? "active" : "expired")
                let budget = key.maxBudgetUSD.map { "$\($0)/\(key.budgetPeriod.rawValue)" } ?? "-"
                print("\(key.id)\t\(key.prefix)…\t\(key.name)\t\(key.userID ?? "-")\t\(key.role.rawValue)\t\(status)\t\(budget)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key. A running gateway refuses it within `auth.key_cache_ttl_s` (5 s by default)."
        )

        @OptionGroup var storage: Storage
        @Argument(help: "The key's id (`key_…`).") var id: String

        func run() async throws {
            let id = self.id
            let revoked = try await withGovernanceStore(try storage.url(), logger: Logger(label: "switchboard.keys")) { store -> Bool in
                guard var key = try await store.key(id: id) else { return false }
                if key.revokedAt == nil {
                    key.revokedAt = Date().timeIntervalSince1970
                    try await store.updateKey(key)
                }
                return true
            }
            guard revoked else {
                printError("switchboard: no key with id \(id)")
                throw ExitCode(1)
            }
            print("revoked \(id)")
        }
    }
}
