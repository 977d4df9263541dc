import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The chat orchestrator's `/v1/users/me…` (seed 001): the caller's profile, analytics, an
/// export of everything the gateway holds about them, and its erasure.
struct UsersController: Sendable {
    typealias Context = AuthenticatedContext

    let profiles: any UserProfileStore
    let conversations: any ConversationStore
    let journal: any ConversationJournal
    let governance: any GovernanceStore
    let bodyReader: RequestBodyReader

    func addRoutes(to group: RouterGroup<Context>) {
        group.patch("users/me", use: updateProfile)
        group.get("users/me/analytics/dashboard", use: dashboard)
        group.get("users/me/export", use: export)
        group.delete("users/me/data", use: erase)
    }

    /// The request-log filter of the caller's own rows.
    static func usageScope(_ principal: Principal) -> (userID: String?, keyID: String?) {
        if let user = principal.userID { return (user, nil) }
        return (nil, principal.keyID)
    }

    struct ProfileView: Encodable {
        var owner: String
        var displayName: String?
        var defaultModel: String?
        var preferences: JSONValue?
        var updatedAt: Int?

        init(_ profile: UserProfile?, owner: String) {
            self.owner = owner
            displayName = profile?.displayName
            defaultModel = profile?.defaultModel
            preferences = profile?.preferences
            updatedAt = profile.map { Int($0.updatedAt) }
        }

        enum CodingKeys: String, CodingKey {
            case owner, preferences
            case displayName = "display_name"
            case defaultModel = "default_model"
            case updatedAt = "updated_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(owner, forKey: .owner)
            try container.encode(displayName, forKey: .displayName)
            try container.encode(defaultModel, forKey: .defaultModel)
            try container.encode(preferences, forKey: .preferences)
            try container.encode(updatedAt, forKey: .updatedAt)
        }
    }

    struct ProfileBody: Decodable {
        var displayName: JSONValue?
        var defaultModel: JSONValue?
        var preferences: JSONValue?

        enum CodingKeys: String, CodingKey {
            case preferences
            case displayName = "display_name"
            case defaultModel = "default_model"
        }
    }

    @Sendable func updateProfile(request: Request, context: Context) async throws -> Response {
        let owner = ConversationOwner.of(context.principal)
        let body = try await bodyReader.decode(ProfileBody.self, from: request)
        var profile = try await StoreAccess.run { try await profiles.profile(owner: owner) }
            ?? UserProfile(owner: owner, updatedAt: Date().timeIntervalSince1970)
        profile.displayName = try PatchField.string(body.displayName, "display_name", current: profile.displayName, maxLength: 200)
        profile.defaultModel = try PatchField.string(body.defaultModel, "default_model", current: profile.defaultModel, maxLength: 200)
        if let preferences = body.preferences {
            var isObject = false
            if case .object = preferences { isObject = true }
            guard preferences == .null || isObject else {
                throw GatewayError.validation("`preferences` must be an object, or null.", param: "preferences")
            }
            profile.preferences = preferences == .null ? nil : preferences
        }
        profile.updatedAt = Date().timeIntervalSince1970
        try await StoreAccess.run { [profile] in try await profiles.setProfile(profile) }
        return try AdminController.json(ProfileView(profile, owner: owner))
    }

    struct DashboardView: Encodable {
        struct Conversations: Encodable {
            var total: Int
            var archived: Int
            var messages: Int
            var averageMessages: Double
            var longest: Int

            enum CodingKeys: String, CodingKey {
                case total, archived, messages, longest
                case averageMessages = "average_messages"
            }
        }

        struct ModelShare: Encodable {
            var model: String
            var requests: Int
            var share: Double
            var costUSD: Double

            enum CodingKeys: String, CodingKey {
                case model, requests, share
                case costUSD = "cost_usd"
            }
        }

        var total: UsageRowView?
        var byDay: [UsageRowView]
        var models: [ModelShare]
        var conversations: Conversations

        enum CodingKeys: String, CodingKey {
            case total, models, conversations
            case byDay = "by_day"
        }
    }

    /// Tokens and cost by day, the models used and how much, and the caller's conversations.
    @Sendable func dashboard(request: Request, context: Context) async throws -> Response {
        let principal = context.principal
        var query = try UsageController.query(request)
        let scope = Self.usageScope(principal)
        query.userID = scope.userID
        query.keyID = scope.keyID
        query.model = nil
        query.provider = nil
        let hasUsage = scope.userID != nil || scope.keyID != nil
        var overall = query
        overall.groupBy = nil
        var days = query
        days.groupBy = .day
        var models = query
        models.groupBy = .model
        let total = hasUsage ? try await GovernanceAccess.run { [overall] in try await governance.usage(overall) }.first : nil
        let byDay = hasUsage ? try await GovernanceAccess.run { [days] in try await governance.usage(days) } : []
        let byModel = hasUsage ? try await GovernanceAccess.run { [models] in try await governance.usage(models) } : []
        let requests = max(1, byModel.reduce(0) { $0 + $1.requests })
        let owner = ConversationOwner.of(principal)
        await journal.settled(owner: owner)
        let owned = try await StoreAccess.run { try await conversations.conversations(ConversationQuery(owner: owner, limit: 100_000)) }
        let messages = owned.reduce(0) { $0 + $1.messageCount }
        return try AdminController.json(DashboardView(
            total: total.map(UsageRowView.init), byDay: byDay.map(UsageRowView.init),
            models: byModel.map {
                DashboardView.ModelShare(
                    model: $0.group ?? "", requests: $0.requests, share: (Double($0.requests) / Double(requests) * 1000).rounded() / 1000,
                    costUSD: $0.costUSD
                )
            },
            conversations: .init(
                total: owned.count, archived: owned.filter(\.archived).count, messages: messages,
                averageMessages: owned.isEmpty ? 0 : (Double(messages) / Double(owned.count) * 10).rounded() / 10,
                longest: owned.map(\.messageCount).max() ?? 0
            )
        ))
    }

    struct ExportView: Encodable {
        var exportedAt: Int
        var principal: PrincipalView
        var profile: ProfileView
        var keys: [KeyView]
        var usage: [UsageRowView]
        var requests: [RecordView]
        var conversations: [ConversationTreeView]

        enum CodingKeys: String, CodingKey {
            case principal, profile, keys, usage, requests, conversations
            case exportedAt = "exported_at"
        }
    }

    /// Everything the gateway holds about the caller: profile, keys (never their secrets),
    /// usage by day, the request log's rows, every conversation with its whole tree.
    @Sendable func export(request: Request, context: Context) async throws -> Response {
        let principal = context.principal
        let owner = ConversationOwner.of(principal)
        let scope = Self.usageScope(principal)
        let hasUsage = scope.userID != nil || scope.keyID != nil
        let now = Date().timeIntervalSince1970
        let keys: [VirtualKey]
        if let user = principal.userID {
            keys = try await GovernanceAccess.run { try await governance.keys(userID: user) }
        } else if let id = principal.keyID {
            keys = try await GovernanceAccess.run { try await governance.key(id: id) }.map { [$0] } ?? []
        } else {
            keys = []
        }
        let query = UsageQuery(keyID: scope.keyID, userID: scope.userID, groupBy: .day)
        let usage = hasUsage ? try await GovernanceAccess.run { try await governance.usage(query) } : []
        let records = hasUsage
            ? try await GovernanceAccess.run { try await governance.records(UsageQuery(keyID: scope.keyID, userID: scope.userID), limit: 100_000) }
            : []
        await journal.settled(owner: owner)
        let owned = try await StoreAccess.run { try await conversations.conversations(ConversationQuery(owner: owner, limit: 100_000)) }
        var trees: [ConversationTreeView] = []
        for conversation in owned {
            let messages = try await StoreAccess.run { try await conversations.messages(owner: owner, conversationID: conversation.id) }
            let branches = try await StoreAccess.run { try await conversations.branches(owner: owner, conversationID: conversation.id) }
            trees.append(ConversationTreeView(
                conversation: ConversationView(conversation),
                branches: branches.map { BranchView($0, active: $0.id == conversation.activeBranchID) },
                messages: messages.map { MessageView($0) }
            ))
        }
        let profile = try await StoreAccess.run { try await profiles.profile(owner: owner) }
        var response = try AdminController.json(ExportView(
            exportedAt: Int(now), principal: PrincipalView(principal), profile: ProfileView(profile, owner: owner),
            keys: keys.map { KeyView($0, now: now) }, usage: usage.map(UsageRowView.init), requests: records.map(RecordView.init), conversations: trees
        ))
        response.headers[.contentDisposition] = "attachment; filename=\"switchboard-export.json\""
        return response
    }

    struct ErasureView: Encodable {
        struct Kept: Encodable {
            var what: String
            var why: String
        }

        var conversations: Int
        var messages: Int
        var requestLogRows: Int
        var profile: Bool
        var kept: [Kept]

        enum CodingKeys: String, CodingKey {
            case conversations, messages, profile, kept
            case requestLogRows = "request_log_rows"
        }
    }

    /// Erases the caller's conversations, request-log rows and profile; says what stays and why.
    @Sendable func erase(request: Request, context: Context) async throws -> Response {
        let principal = context.principal
        let owner = ConversationOwner.of(principal)
        let scope = Self.usageScope(principal)
        // Turns still streaming will not make a conversation again once they end.
        journal.erased(owner: owner, at: Date().timeIntervalSince1970)
        await journal.settled(owner: owner)
        let erased = try await StoreAccess.run { try await conversations.eraseConversations(owner: owner) }
        let rows = try await GovernanceAccess.run { try await governance.deleteRecords(userID: scope.userID, keyID: scope.keyID) }
        let profile = try await StoreAccess.run { try await profiles.deleteProfile(owner: owner) }
        context.logger.info("caller data erased", metadata: ["owner": "\(owner)", "conversations": "\(erased.conversations)", "rows": "\(rows)"])
        return try AdminController.json(ErasureView(
            conversations: erased.conversations, messages: erased.messages, requestLogRows: rows, profile: profile,
            kept: [
                .init(what: "spend totals per day", why: "budgets are enforced from them; they hold amounts and counts, no prompts or answers"),
                .init(what: "API keys", why: "they are credentials, not content: revoke them with DELETE /admin/keys/{id} or ask an admin"),
            ]
        ))
    }
}
