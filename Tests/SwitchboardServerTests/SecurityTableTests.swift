import NIOHTTP1
import SwitchboardCore
import SwitchboardServer
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `docs/SECURITY.md`'s route table is the access policy: it must list exactly the routes the
/// router serves, its role columns must match the roles' permissions, and every cell must hold
/// over real HTTP.
@Suite struct SecurityTableTests {
    struct Row: Sendable, CustomStringConvertible {
        var method: String
        var path: String
        /// `nil` for public routes.
        var permission: Permission?
        /// The ✓/— columns, admin, user, viewer.
        var columns: [Role: Bool]

        var description: String { "\(method) \(path)" }
    }

    static func table() throws -> [Row] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/SECURITY.md"), encoding: .utf8)
        guard let start = text.range(of: "<!-- routes:start -->"), let end = text.range(of: "<!-- routes:end -->") else {
            Issue.record("docs/SECURITY.md has no route table markers")
            return []
        }
        var rows: [Row] = []
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 6, cells[0] != "method", !cells[0].hasPrefix("---") else { continue }
            let permission: Permission?
            if cells[2] == "public" {
                permission = nil
            } else {
                permission = try #require(Permission(rawValue: cells[2]), "unknown permission \(cells[2])")
            }
            rows.append(Row(
                method: cells[0], path: cells[1], permission: permission,
                columns: [.admin: cells[3] == "✓", .user: cells[4] == "✓", .viewer: cells[5] == "✓"]
            ))
        }
        return rows
    }

    /// Each `/v1/…` row of the model and self-service groups is served under three prefixes.
    static func expand(_ row: Row) -> [Row] {
        guard row.path.hasPrefix("/v1/"), !row.path.hasPrefix("/v1/users/me") else { return [row] }
        return ["/v1/", "/api/v1/", "/openai/v1/"].map { prefix in
            var copy = row
            copy.path = prefix + row.path.dropFirst(4)
            return copy
        }
    }

    @Test func theTableListsExactlyTheRoutesTheRouterServesWithTheRolesPermissions() async throws {
        let rows = try Self.table().flatMap(Self.expand)
        #expect(rows.count > 30)
        for row in rows {
            for role in Role.allCases {
                let holds = row.permission.map(role.may) ?? true
                #expect(row.columns[role] == holds, "\(row): the \(role) column says \(row.columns[role] ?? false), the role says \(holds)")
            }
        }
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let served = Set(gateway.gateway.routes)
            let documented = Set(rows.map(\.description))
            #expect(served.subtracting(documented).isEmpty, "served but not in docs/SECURITY.md: \(served.subtracting(documented).sorted())")
            #expect(documented.subtracting(served).isEmpty, "in docs/SECURITY.md but not served: \(documented.subtracting(served).sorted())")
        }
    }

    enum Caller: String, CaseIterable, Sendable {
        case admin, user, viewer, none
    }

    /// A body that the route accepts, so an allowed call is not refused for another reason.
    static func body(for row: Row) -> String? {
        guard row.method == "POST" || row.method == "PATCH" || row.method == "PUT" else { return nil }
        let path = row.path
        if path.hasSuffix("/conversations/batch") { return #"{"action":"archive","ids":["none"]}"# }
        if path.hasSuffix("/merge") { return #"{"into":"{main}"}"# }
        if path.hasSuffix("/messages/search") { return #"{"q":"hi"}"# }
        if path.hasSuffix("/items") { return #"{"items":[{"role":"user","content":"hi"}]}"# }
        if path.hasSuffix("/conversations/{id}") { return #"{"metadata":{"a":"b"}}"# }
        if path.contains("/conversations/"), path.hasSuffix("/messages") || path.contains("/messages/") && row.method == "PATCH" {
            return #"{"content":"hi"}"#
        }
        if path.hasSuffix("/chat/completions") { return chatBody }
        if path.hasSuffix("/embeddings") || path.hasSuffix("/responses") { return #"{"model":"gpt-test","input":"hi"}"# }
        if path.hasSuffix("/cancel") { return "{}" }
        if path.hasSuffix("/messages") || path.hasSuffix("/count_tokens") {
            return #"{"model":"gpt-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
        }
        if path.hasSuffix("/chat") { return #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}"# }

        if path.hasSuffix("/recommend") { return #"{"task":"chat"}"# }
        if path.hasSuffix("api-keys") || path == "/admin/keys" { return #"{"name":"from-the-table-test"}"# }
        if path.hasPrefix("/admin/users") { return #"{"rpm":5}"# }
        return #"{"team":"t"}"#
    }

    func role(of caller: Caller) -> Role? {
        switch caller {
        case .admin: .admin
        case .user: .user
        case .viewer: .viewer
        case .none: nil
        }
    }

    /// `{id}`, `{branch}` (a second branch), `{main}`, `{message}` (the answer) and `{item}` (the
    /// answer as a Conversations API item) of a fresh conversation of `credential`'s;
    /// placeholders that stay unknown without one.
    static func conversation(_ gateway: GatewayTestContext, credential: String?) async throws -> [(String, String)] {
        guard let credential else { return [("{id}", "none"), ("{branch}", "none"), ("{message}", "none"), ("{main}", "none"), ("{item}", "none")] }
        let chat = try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","message":"hi"}"#, headers: bearer(credential)).json()
        let id = chat["conversation_id"]?.stringValue ?? "none"
        let main = try await gateway.get("/v1/conversations/\(id)", headers: bearer(credential)).json()["active_branch_id"]?.stringValue ?? "none"
        let branch = try await gateway.post("/v1/conversations/\(id)/branches", #"{"activate":false}"#, headers: bearer(credential)).json()
        return [
            ("{id}", id), ("{branch}", branch["id"]?.stringValue ?? "none"), ("{main}", main),
            ("{message}", chat["message_id"]?.stringValue ?? "none"), ("{item}", "msg_" + (chat["message_id"]?.stringValue ?? "none")),
        ]
    }

    @Test(arguments: Caller.allCases)
    func everyCellHoldsOverHTTP(caller: Caller) async throws {
        let rows = try Self.table().flatMap(Self.expand)
        // Minting is rate-limited per caller; this test mints once per route and caller.
        try await withGateway(config: governanceConfig("auth:\n  key_mint_per_minute: 100\n  max_keys_per_user: 100\n  max_failed_sign_ins_per_minute: 0"), transport: .router) { gateway in
            let credential: String?
            switch caller {
            case .admin: credential = try await gateway.createKey(#"{"name":"an-admin","role":"admin","user_id":"ada"}"#).secret
            case .user: credential = try await gateway.createKey(#"{"name":"a-user","role":"user","user_id":"uma"}"#).secret
            case .viewer: credential = try await gateway.createKey(#"{"name":"a-viewer","role":"viewer","user_id":"vic"}"#).secret
            case .none: credential = nil
            }
            // Conversation rows run on a conversation of the caller's own (made by a chat turn
            // when the caller may chat), or the master key's for the monitoring views.
            let masterConversation = try await Self.conversation(gateway, credential: "sk-test-master")
            for row in rows {
                let target = try await gateway.createKey(#"{"name":"target"}"#)
                var path = row.path
                var body = Self.body(for: row)
                if path.contains("/conversations/") {
                    let own = path.hasPrefix("/conversations/") ? masterConversation
                        : try await Self.conversation(gateway, credential: role(of: caller)?.may(.callModels) == true ? credential : nil)
                    for (placeholder, value) in own {
                        path = path.replacingOccurrences(of: placeholder, with: value)
                        body = body?.replacingOccurrences(of: placeholder, with: value)
                    }
                }
                if path.contains("/responses/"), let credential, role(of: caller)?.may(.callModels) == true {
                    // A stored response of the caller's own.
                    let made = try await gateway.post("/v1/responses", #"{"model":"gpt-test","input":"hi"}"#, headers: bearer(credential)).json()
                    path = path.replacingOccurrences(of: "{id}", with: made["id"]?.stringValue ?? "none")
                }
                path = path
                    .replacingOccurrences(of: "{id}", with: row.path.hasPrefix("/admin/users") ? "bob" : target.id)
                    .replacingOccurrences(of: "{key}", with: row.path.hasPrefix("/admin/cache") ? String(repeating: "ab", count: 32) : target.id)
                    .replacingOccurrences(of: "**", with: "gpt-test")
                    .replacingOccurrences(of: "/models/search", with: "/models/search?q=gpt")
                    .replacingOccurrences(of: "/models/compare", with: "/models/compare?model_ids=gpt-test")
                var headers: [(String, String)] = [("content-type", "application/json")]
                if let credential { headers.append(("authorization", "Bearer \(credential)")) }
                let method: HTTPMethod = switch row.method {
                case "POST": .POST
                case "PATCH": .PATCH
                case "DELETE": .DELETE
                case "PUT": .PUT
                default: .GET
                }
                let response = try await gateway.request(method, path, body: body, headers: headers)
                let role = role(of: caller)
                guard let permission = row.permission else {
                    #expect(response.status == 200, "\(caller) \(row): \(response.status) \(response.body)")
                    continue
                }
                guard let role else {
                    #expect(response.status == 401, "\(caller) \(row): \(response.status)")
                    continue
                }
                if role.may(permission), row.path.hasSuffix("/responses/{id}/cancel") {
                    // Allowed, and refused for what it is: only background responses can be cancelled.
                    #expect(response.status == 400 && response.body.contains("background"), "\(caller) \(row): \(response.status) \(response.body)")
                } else if role.may(permission) {
                    #expect(
                        response.status < 400 && response.status != 0,
                        "\(caller) \(row) should be allowed: \(response.status) \(response.body)"
                    )
                } else {
                    #expect(response.status == 403, "\(caller) \(row) should be refused: \(response.status) \(response.body)")
                    let error = try response.json()["error"]
                    let code = error?["code"]?.stringValue ?? error?["type"]?.stringValue
                    #expect(code == "PERMISSION_DENIED" || code == "permission_error", "\(caller) \(row): \(response.body)")
                }
            }
        }
    }
}
