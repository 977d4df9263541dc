import NIOHTTP1
import SwitchboardCore
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Stored conversations over real HTTP, on SQLite and (when `.ci/run` provides one) PostgreSQL:
/// chat turns, the tree (edit, regenerate, branches, merge), export, search, owners, limits, streams
/// and seed 003's `/chat`.
@Suite struct ConversationTests {
    static let postgresURL = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_POSTGRES_CONVERSATIONS_URL"]
    static var backends: [String] { ["sqlite"] + (postgresURL == nil ? [] : ["postgres"]) }

    static func config(_ conversations: String = "") -> String {
        standardConfig(extraModels: """
              - name: dying
                targets: [{ provider: fake, model: die-mid-stream }]
              - name: slowstream
                targets: [{ provider: fake, model: slow-stream }]
              - name: small-window
                targets: [{ provider: fake, model: fake-model }]
                context_window: 2600
            """) + "\nconversations:\n  max_branches: 4\n" + conversations
    }

    /// A gateway on `backend`, and a fresh user's key (each test its own owner, so tests share a database safely).
    func withConversations<Result: Sendable>(
        _ backend: String, config: String = ConversationTests.config(), transport: Transport = .router,
        _ body: @Sendable (GatewayTestContext, [(String, String)]) async throws -> Result
    ) async throws -> Result {
        try await withGateway(config: config, database: backend == "postgres" ? Self.postgresURL : nil, transport: transport) { gateway in
            let key = try await gateway.createKey(#"{"name":"chat","user_id":"u-\#(UUID().uuidString)","role":"user"}"#)
            return try await body(gateway, bearer(key.secret))
        }
    }

    static func chat(_ message: String, conversation: String? = nil, parent: String? = nil, extra: String = "") -> String {
        var fields = [#""model":"gpt-test""#, #""message":"\#(message)""#]
        if let conversation { fields.append(#""conversation_id":"\#(conversation)""#) }
        if let parent { fields.append(#""parent_message_id":"\#(parent)""#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// The roles and texts of a message list.
    static func transcript(_ list: JSONValue?) -> [String] {
        guard case .array(let items)? = list else { return [] }
        return items.map { item in
            "\(item["role"]?.stringValue ?? "?"): \(item["content"]?.stringValue ?? "")"
        }
    }

    @Test(arguments: backends) func aChatTurnCreatesTheConversationAndTheNextOneContinuesIt(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let first = try await gateway.post("/v1/chat/completions", Self.chat("hello there"), headers: headers)
            #expect(first.status == 200)
            let answer = try first.json()
            let conversation = try #require(answer["conversation_id"]?.stringValue)
            let answerID = try #require(answer["message_id"]?.stringValue)
            #expect(answer["choices"]?[0]?["message"]?["content"] == "echo: hello there")
            #expect(answer["object"] == "chat.completion")
            #expect(first.header("x-switchboard-conversation-id") == conversation)
            #expect(first.header("x-switchboard-message-id") == answerID)
            let userID = try #require(answer["parent_message_id"]?.stringValue)

            let second = try await gateway.post("/v1/chat/completions", Self.chat("and again", conversation: conversation), headers: headers)
            #expect(second.status == 200)
            #expect(try second.json()["parent_message_id"]?.stringValue != userID)
            // The upstream saw the stored path, then the new message.
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(Self.transcript(sent["messages"]) == ["user: hello there", "assistant: echo: hello there", "user: and again"])

            let messages = try await gateway.get("/v1/conversations/\(conversation)/messages", headers: headers)
            #expect(messages.status == 200)
            let data = try messages.json()["data"]
            #expect(Self.transcript(data) == ["user: hello there", "assistant: echo: hello there", "user: and again", "assistant: echo: and again"])
            #expect(data?[1]?["id"]?.stringValue == answerID)
            #expect(data?[1]?["model"] == "fake-model")
            #expect(data?[1]?["usage"]?["completion_tokens"] != nil)
            #expect(data?[0]?["parent_id"] == .null)
            #expect(data?[1]?["parent_id"]?.stringValue == userID)

            let shown = try await gateway.get("/v1/conversations/\(conversation)", headers: headers).json()
            #expect(shown["message_count"] == 4)
            #expect(shown["title"] == "hello there")
            #expect(shown["model"] == "gpt-test")
            // The same conversation on the `/api/v1` alias.
            #expect(try await gateway.get("/api/v1/conversations/\(conversation)", headers: headers).status == 200)
        }
    }

    @Test(arguments: backends) func editRegenerateSwitchAndMergeBranches(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let made = try await gateway.post("/v1/conversations", #"{"title":"plans","model":"gpt-test","system_prompt":"Be brief."}"#, headers: headers)
            #expect(made.status == 201)
            let id = try #require(try made.json()["id"]?.stringValue)
            let main = try #require(try made.json()["active_branch_id"]?.stringValue)
            // No model in the turn: the conversation's own.
            _ = try await gateway.post("/v1/chat/completions", #"{"conversation_id":"\#(id)","message":"one"}"#, headers: headers)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(Self.transcript(sent["messages"]) == ["system: Be brief.", "user: one"])
            _ = try await gateway.post("/v1/chat/completions", Self.chat("two", conversation: id), headers: headers)
            let path = try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]
            let firstUser = try #require(path?[0]?["id"]?.stringValue)
            let lastAnswer = try #require(path?[3]?["id"]?.stringValue)

            // Edit the first message: a sibling on a new, active branch; the original stays.
            let edited = try await gateway.request(.PATCH, "/v1/conversations/\(id)/messages/\(firstUser)", body: #"{"content":"uno"}"#, headers: headers)
            #expect(edited.status == 200)
            let editBranch = try #require(try edited.json()["branch"]?["id"]?.stringValue)
            #expect(try edited.json()["message"]?["parent_id"] == .null)
            let afterEdit = try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]
            #expect(Self.transcript(afterEdit) == ["user: uno"])
            let original = try await gateway.get("/v1/conversations/\(id)/messages?branch=\(main)", headers: headers).json()["data"]
            #expect(Self.transcript(original).count == 4)

            // Answer the edited branch, then regenerate main's last answer on its own branch.
            let answered = try await gateway.post("/v1/chat/completions", #"{"conversation_id":"\#(id)","message":"dos"}"#, headers: headers)
            #expect(try answered.json()["choices"]?[0]?["message"]?["content"] == "echo: dos")
            let regenerated = try await gateway.post("/v1/conversations/\(id)/messages/\(lastAnswer)/regenerate", "{}", headers: headers)
            #expect(regenerated.status == 200)
            let regenerateJSON = try regenerated.json()
            #expect(regenerateJSON["choices"]?[0]?["message"]?["content"] == "echo: two")
            #expect(regenerateJSON["message_id"]?.stringValue != lastAnswer)
            let full = try await gateway.get("/v1/conversations/\(id)/full", headers: headers).json()
            #expect(full["branches"]?.arrayCount == 3)
            #expect(full["messages"]?.arrayCount == 4 + 1 + 2 + 1)
            // The regenerated answer is a sibling of the original: same parent.
            guard case .array(let all)? = full["messages"] else { Issue.record("no messages"); return }
            let originalParent = all.first { $0["id"]?.stringValue == lastAnswer }?["parent_id"]
            let newParent = all.first { $0["id"] == regenerateJSON["message_id"] }?["parent_id"]
            #expect(originalParent == newParent)

            // Switch back to main and merge the edited branch into it.
            let activated = try await gateway.post("/v1/conversations/\(id)/branches/\(main)/activate", "", headers: headers)
            #expect(activated.status == 200)
            #expect(try activated.json()["active_branch_id"]?.stringValue == main)
            let merged = try await gateway.post(
                "/v1/conversations/\(id)/branches/\(editBranch)/merge", #"{"into":"\#(main)","strategy":"append"}"#, headers: headers
            )
            #expect(merged.status == 200)
            #expect(try merged.json()["merged_messages"] == 3)
            let mainPath = try await gateway.get("/v1/conversations/\(id)/messages?branch=\(main)", headers: headers).json()["data"]
            #expect(Array(Self.transcript(mainPath).suffix(3)) == ["user: uno", "user: dos", "assistant: echo: dos"])
            #expect(Self.transcript(mainPath).count == 7)
            #expect(mainPath?[4]?["merged_from"]?.stringValue != nil)

            // A summary merge asks the model through the gateway and appends one message.
            let summary = try await gateway.post(
                "/v1/conversations/\(id)/branches/\(editBranch)/merge", #"{"into":"\#(main)","strategy":"summarize"}"#, headers: headers
            )
            #expect(summary.status == 200)
            #expect(try summary.json()["merged_messages"] == 1)
            #expect(try summary.json()["messages"]?[0]?["content"]?.stringValue?.hasPrefix("Summary of branch") == true)

            let stats = try await gateway.get("/v1/conversations/\(id)/branches/\(main)/stats", headers: headers).json()
            #expect(stats["messages"] == 8)
            #expect(stats["models"] == ["fake-model"])
        }
    }

    @Test(arguments: backends) func exportsInEachFormat(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let empty = try #require(try await gateway.post("/v1/conversations", #"{"title":"nothing yet"}"#, headers: headers).json()["id"]?.stringValue)
            let emptyJSON = try await gateway.get("/v1/conversations/\(empty)/export?format=json", headers: headers)
            #expect(emptyJSON.status == 200)
            #expect(try emptyJSON.json()["messages"] == [])
            let emptyLines = try await gateway.get("/v1/conversations/\(empty)/export?format=jsonl", headers: headers)
            #expect(emptyLines.status == 200)
            #expect(emptyLines.body.isEmpty)
            let emptyMarkdown = try await gateway.get("/v1/conversations/\(empty)/export?format=markdown", headers: headers)
            #expect(emptyMarkdown.body.hasPrefix("# nothing yet"))

            let id = try #require(try await gateway.post("/v1/chat/completions", Self.chat("export me"), headers: headers).json()["conversation_id"]?.stringValue)
            let lines = try await gateway.get("/v1/conversations/\(id)/export?format=jsonl", headers: headers)
            #expect(lines.header("content-type") == "application/jsonl")
            let line = try JSONCoding.decode(JSONValue.self, from: Array(lines.body.utf8))
            #expect(Self.transcript(line["messages"]) == ["user: export me", "assistant: echo: export me"])
            let markdown = try await gateway.get("/v1/conversations/\(id)/export?format=markdown", headers: headers)
            #expect(markdown.body.contains("## User\n\nexport me"))
            #expect(markdown.body.contains("## Assistant (fake-model)\n\necho: export me"))
            let wrong = try await gateway.get("/v1/conversations/\(id)/export?format=pdf", headers: headers)
            #expect(wrong.status == 400)
            #expect(try wrong.json()["error"]?["message"] == "`format` must be json, markdown or jsonl, not `pdf`.")
        }
    }

    @Test(arguments: backends) func searchFindsWordsAndTakesSyntaxAsText(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let id = try #require(
                try await gateway.post("/v1/chat/completions", Self.chat("the quick brown fox"), headers: headers).json()["conversation_id"]?.stringValue
            )
            _ = try await gateway.post("/v1/chat/completions", Self.chat("lazy dogs sleep", conversation: id), headers: headers)
            let found = try await gateway.post("/v1/conversations/\(id)/messages/search", #"{"q":"brown fox"}"#, headers: headers)
            #expect(found.status == 200)
            #expect(Set(Self.transcript(try found.json()["data"])) == ["user: the quick brown fox", "assistant: echo: the quick brown fox"])
            let listed = try await gateway.get("/v1/conversations?q=lazy", headers: headers).json()
            #expect(listed["data"]?.arrayCount == 1)
            #expect(try await gateway.get("/v1/conversations?q=zebra", headers: headers).json()["data"] == [])
            let hostile = [#"\"quoted"#, "fox*", "NEAR(fox brown)", "'; DROP TABLE messages; --", "AND OR NOT", String(repeating: "fox ", count: 2600)]
            for query in hostile {
                let body = try String(decoding: JSONCoding.encode(["q": query]), as: UTF8.self)
                let response = try await gateway.post("/v1/conversations/\(id)/messages/search", body, headers: headers)
                #expect(response.status == 200, "\(query.prefix(40)): \(response.body.prefix(200))")
            }
            // The table is still there.
            #expect(try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]?.arrayCount == 4)
        }
    }

    @Test(arguments: backends) func anotherOwnersConversationIsA404ByEveryPath(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let id = try #require(try await gateway.post("/v1/chat/completions", Self.chat("secret plans"), headers: headers).json()["conversation_id"]?.stringValue)
            let other = try await gateway.createKey(#"{"name":"other","user_id":"u-other-\#(UUID().uuidString)","role":"user"}"#)
            let theirs = bearer(other.secret)
            for path in ["", "/full", "/messages", "/branches", "/export"] {
                let response = try await gateway.get("/v1/conversations/\(id)\(path)", headers: theirs)
                #expect(response.status == 404, "\(path)")
                #expect(try response.json()["error"]?["code"] == "NOT_FOUND")
                #expect(try response.json()["error"]?["message"]?.stringValue == "No conversation `\(id)`.")
            }
            // The tree's own ids do not open it to them either.
            let full = try await gateway.get("/v1/conversations/\(id)/full", headers: headers).json()
            let main = try #require(full["branches"]?[0]?["id"]?.stringValue)
            let answer = try #require(full["messages"]?[1]?["id"]?.stringValue)
            let writes: [(HTTPMethod, String, String?)] = [
                (.GET, "/branches/\(main)/stats", nil),
                (.POST, "/messages/search", #"{"q":"secret"}"#),
                (.POST, "/messages", #"{"content":"planted"}"#),
                (.PATCH, "/messages/\(answer)", #"{"content":"changed"}"#),
                (.POST, "/messages/\(answer)/regenerate", "{}"),
                (.POST, "/branches", "{}"),
                (.POST, "/branches/\(main)/activate", "{}"),
                (.POST, "/branches/\(main)/merge", #"{"into":"\#(main)"}"#),
                (.PATCH, "", #"{"title":"mine now"}"#),
            ]
            for (method, path, body) in writes {
                let response = try await gateway.request(method, "/v1/conversations/\(id)\(path)", body: body, headers: theirs)
                #expect(response.status == 404, "\(method) \(path): \(response.body)")
                #expect(try response.json()["error"]?["code"] == "NOT_FOUND", "\(method) \(path)")
            }
            let batch = try await gateway.post("/v1/conversations/batch", #"{"action":"delete","ids":["\#(id)"]}"#, headers: theirs).json()
            #expect(batch["data"]?[0]?["error"]?["code"] == "NOT_FOUND")
            let chat = try await gateway.post("/v1/chat/completions", Self.chat("mine now", conversation: id), headers: theirs)
            #expect(chat.status == 404)
            #expect(try await gateway.request(.DELETE, "/v1/conversations/\(id)", headers: theirs).status == 404)
            #expect(try await gateway.get("/v1/conversations?q=secret", headers: theirs).json()["data"] == [])
            // Only an admin may name another owner.
            let peek = try await gateway.get("/v1/conversations?owner=someone", headers: theirs)
            #expect(peek.status == 403)
            #expect(try peek.json()["error"]?["code"] == "PERMISSION_DENIED")
            // Naming an owner on a write is refused, even for an admin.
            let admin = try await gateway.request(.DELETE, "/v1/conversations/\(id)?owner=someone", headers: authHeaders)
            #expect(admin.status == 403)
            #expect(try admin.json()["error"]?["message"] == "Only an admin may name another owner (`owner`), and only to read their conversations.")
            // Still the owner's, untouched.
            #expect(try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]?.arrayCount == 2)
        }
    }

    @Test(arguments: backends) func badInputGetsItsError(backend: String) async throws {
        try await withConversations(backend, config: Self.config("  max_messages: 6\n")) { gateway, headers in
            func expectError(_ response: TestResponse, _ status: Int, _ code: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(response.status == status, sourceLocation: sourceLocation)
                let error = try response.json()["error"]
                #expect(error?["code"]?.stringValue == code, sourceLocation: sourceLocation)
                #expect(error?["message"]?.stringValue == message, sourceLocation: sourceLocation)
            }
            try expectError(
                try await gateway.post("/v1/chat/completions", Self.chat("hi", conversation: "no-such"), headers: headers),
                404, "NOT_FOUND", "No conversation `no-such`."
            )
            let a = try #require(try await gateway.post("/v1/chat/completions", Self.chat("a"), headers: headers).json())
            let b = try #require(try await gateway.post("/v1/chat/completions", Self.chat("b"), headers: headers).json())
            let aID = try #require(a["conversation_id"]?.stringValue)
            let bMessage = try #require(b["message_id"]?.stringValue)
            try expectError(
                try await gateway.post("/v1/chat/completions", Self.chat("x", conversation: aID, parent: bMessage), headers: headers),
                400, "VALIDATION_ERROR", "`parent_message_id` `\(bMessage)` is not a message of conversation `\(aID)`."
            )
            try expectError(
                try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","parent_message_id":"m1","messages":[{"role":"user","content":"x"}]}"#, headers: headers),
                400, "VALIDATION_ERROR", "`parent_message_id` needs the `conversation_id` it belongs to."
            )
            try expectError(
                try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","message":"x","messages":[{"role":"user","content":"y"}]}"#, headers: headers),
                400, "VALIDATION_ERROR", "Send `message` or `messages`, not both."
            )
            let userMessage = try #require(a["parent_message_id"]?.stringValue)
            try expectError(
                try await gateway.request(.PATCH, "/v1/conversations/\(aID)/messages/\(userMessage)", body: #"{"role":"assistant","content":"x"}"#, headers: headers),
                400, "VALIDATION_ERROR", "An edit cannot change a message's role (`user` to `assistant`)."
            )
            try expectError(
                try await gateway.get("/v1/conversations/\(aID)/messages?branch=nope", headers: headers),
                404, "NOT_FOUND", "No branch `nope` in conversation `\(aID)`."
            )
            try expectError(
                try await gateway.request(.PATCH, "/v1/conversations/\(aID)/messages/nope", body: #"{"content":"x"}"#, headers: headers),
                404, "NOT_FOUND", "No message `nope` in conversation `\(aID)`."
            )
            let branches = try await gateway.get("/v1/conversations/\(aID)/branches", headers: headers).json()
            let main = try #require(branches["data"]?[0]?["id"]?.stringValue)
            try expectError(
                try await gateway.post("/v1/conversations/\(aID)/branches/\(main)/merge", #"{"into":"\#(main)"}"#, headers: headers),
                400, "VALIDATION_ERROR", "A branch cannot be merged into itself: name another branch in `into`."
            )
            // Branches up to the limit (4), then 409 naming it.
            for _ in 0..<3 {
                #expect(try await gateway.post("/v1/conversations/\(aID)/branches", "{}", headers: headers).status == 201)
            }
            try expectError(
                try await gateway.post("/v1/conversations/\(aID)/branches", "{}", headers: headers),
                409, "CONFLICT", "Conversation `\(aID)` has reached its limit of 4 branches (`conversations.max_branches`)."
            )
            try expectError(
                try await gateway.request(.PATCH, "/v1/conversations/\(aID)/messages/\(userMessage)", body: #"{"content":"edited"}"#, headers: headers),
                409, "CONFLICT", "Conversation `\(aID)` has reached its limit of 4 branches (`conversations.max_branches`)."
            )
            // Messages up to the limit (6: three turns), then 409.
            _ = try await gateway.post("/v1/chat/completions", Self.chat("c", conversation: aID), headers: headers)
            _ = try await gateway.post("/v1/chat/completions", Self.chat("d", conversation: aID), headers: headers)
            try expectError(
                try await gateway.post("/v1/chat/completions", Self.chat("e", conversation: aID), headers: headers),
                409, "CONFLICT", "Conversation `\(aID)` has reached its limit of 6 messages (`conversations.max_messages`); start a new one."
            )
            try expectError(
                try await gateway.post("/v1/chat/completions", Self.chat("f", conversation: "bad id!", extra: ""), headers: headers),
                404, "NOT_FOUND", "No conversation `bad id!`."
            )
            try expectError(
                try await gateway.post("/v1/conversations", #"{"id":"bad id!"}"#, headers: headers),
                400, "VALIDATION_ERROR", "`id` must be 1–128 letters, digits, `-`, `_`, `.` or `:`."
            )
        }
    }

    @Test(arguments: backends) func oldTurnsAreDroppedToFitAndTheSystemPromptStays(backend: String) async throws {
        let config = Self.config("  max_context_messages: 4\n  max_messages: 600\n")
        try await withConversations(backend, config: config) { gateway, headers in
            let id = try #require(
                try await gateway.post("/v1/conversations", #"{"model":"gpt-test","system_prompt":"You are terse."}"#, headers: headers).json()["id"]?.stringValue
            )
            for turn in 1...3 {
                _ = try await gateway.post("/v1/chat/completions", Self.chat("turn \(turn)", conversation: id), headers: headers)
            }
            let fourth = try await gateway.post("/v1/chat/completions", Self.chat("turn 4", conversation: id), headers: headers)
            #expect(fourth.status == 200)
            #expect(fourth.header("x-switchboard-context-dropped") == "3")
            #expect(try fourth.json()["context_dropped_messages"] == 3)
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(Self.transcript(sent["messages"]) == ["system: You are terse.", "assistant: echo: turn 2", "user: turn 3", "assistant: echo: turn 3", "user: turn 4"])
        }
        // A token bound: a long history is cut to what fits, oldest first.
        try await withConversations(backend, config: Self.config("  max_context_tokens: 60\n  max_messages: 600\n")) { gateway, headers in
            let long = String(repeating: "word ", count: 40)
            let id = try #require(try await gateway.post("/v1/chat/completions", Self.chat(long), headers: headers).json()["conversation_id"]?.stringValue)
            let next = try await gateway.post("/v1/chat/completions", Self.chat("short", conversation: id), headers: headers)
            #expect(next.status == 200)
            #expect(next.header("x-switchboard-context-dropped") == "2")
            let sent = try #require(await gateway.upstream.recorder.last?.body)
            #expect(Self.transcript(sent["messages"]) == ["user: short"])
        }
    }

    @Test(arguments: backends) func concurrentAppendsToOneBranchAreBothKept(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let id = try #require(try await gateway.post("/v1/chat/completions", Self.chat("start"), headers: headers).json()["conversation_id"]?.stringValue)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for text in ["left", "right"] {
                    group.addTask { try await gateway.post("/v1/chat/completions", Self.chat(text, conversation: id), headers: headers).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            let full = try await gateway.get("/v1/conversations/\(id)/full", headers: headers).json()
            #expect(full["conversation"]?["message_count"] == 6)
            #expect(full["messages"]?.arrayCount == 6)
            // One chain: every message but the first has a parent, no message has two children.
            guard case .array(let messages)? = full["messages"] else { Issue.record("no messages"); return }
            #expect(messages.allSatisfy { ($0["children"]?.arrayCount ?? 0) <= 1 })
            let path = try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]
            #expect(path?.arrayCount == 6)

            // The same with the head named as `parent_message_id` (seed 001's client always sends it).
            let head = try #require(path?[5]?["id"]?.stringValue)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for text in ["named one", "named two"] {
                    group.addTask { try await gateway.post("/v1/chat/completions", Self.chat(text, conversation: id, parent: head), headers: headers).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]?.arrayCount == 10)
            #expect(try await gateway.get("/v1/conversations/\(id)/branches", headers: headers).json()["data"]?.arrayCount == 1)

            // Two first turns on one new client-chosen id (a retry): one conversation, one branch, both turns.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for text in ["first try", "second try"] {
                    group.addTask { try await gateway.post("/chat", #"{"conversation_id":"retried","message":"\#(text)","model":"gpt-test"}"#, headers: headers).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await gateway.get("/v1/conversations/retried/messages", headers: headers).json()["data"]?.arrayCount == 4)
            #expect(try await gateway.get("/v1/conversations/retried/branches", headers: headers).json()["data"]?.arrayCount == 1)
        }
    }

    @Test(arguments: backends) func streamedTurnsAreStoredAndABrokenOneIsMarked(backend: String) async throws {
        try await withConversations(backend, transport: .live) { gateway, headers in
            let response = try await gateway.post("/v1/chat/completions", Self.chat("stream it", extra: #""stream":true"#), headers: headers)
            #expect(response.status == 200)
            let conversation = try #require(response.header("x-switchboard-conversation-id"))
            let firstData = try #require(response.body.split(separator: "\n").first { $0.hasPrefix("data: {") })
            let firstChunk = try JSONCoding.decode(JSONValue.self, from: Array(firstData.dropFirst(6).utf8))
            #expect(firstChunk["conversation_id"]?.stringValue == conversation)
            #expect(firstChunk["object"] == "chat.completion.chunk")
            let messages = try await gateway.get("/v1/conversations/\(conversation)/messages", headers: headers).json()["data"]
            #expect(Self.transcript(messages) == ["user: stream it", "assistant: echo: stream it"])
            #expect(messages?[1]?["incomplete"] == false)

            let broken = try await gateway.post(
                "/v1/chat/completions", #"{"model":"dying","stream":true,"conversation_id":"\#(conversation)","message":"die"}"#, headers: headers
            )
            #expect(broken.status == 200)
            let after = try await gateway.get("/v1/conversations/\(conversation)/messages", headers: headers).json()["data"]
            #expect(after?.arrayCount == 4)
            #expect(after?[3]?["incomplete"] == true)
            #expect(after?[3]?["role"] == "assistant")
        }
    }

    @Test(arguments: backends) func seedThreeChatLogsTurnsAndToolCalls(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let tools = #"[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}]"#
            let first = try await gateway.post(
                "/chat", #"{"conversation_id":"test-123","message":"weather in Paris?","tools":\#(tools),"tool_choice":"required","model":"gpt-test"}"#,
                headers: headers
            )
            #expect(first.status == 200)
            let answer = try first.json()
            #expect(answer["conversation_id"] == "test-123")
            #expect(answer["tool_calls"]?[0]?["function"]?["name"] == "weather")
            #expect(answer["thoughts"] == [])
            #expect(answer["sources"] == [])
            let callID = try #require(answer["tool_calls"]?[0]?["id"]?.stringValue)
            // The client sends the tool's answer in its history; the stored call gets its result.
            let calls = String(decoding: try JSONCoding.encode(try #require(answer["tool_calls"])), as: UTF8.self)
            let history = #"[{"role":"user","content":"weather in Paris?"},{"role":"assistant","content":null,"tool_calls":\#(calls)},{"role":"tool","tool_call_id":"\#(callID)","content":"18C and sunny"}]"#
            let second = try await gateway.post(
                "/chat", #"{"conversation_id":"test-123","message":"thanks","messages":\#(history),"model":"gpt-test"}"#, headers: headers
            )
            #expect(second.status == 200)
            #expect(try second.json()["content"] == "echo: thanks")

            let monitor = try await gateway.get("/conversations/test-123", headers: authHeaders)
            #expect(monitor.status == 200)
            let detail = try monitor.json()
            #expect(detail["tool_calls"]?[0]?["tool_name"] == "weather")
            #expect(detail["tool_calls"]?[0]?["result"] == "18C and sunny")
            #expect(detail["messages"]?.arrayCount == 4)
            let list = try await gateway.get("/conversations?limit=50", headers: authHeaders).json()
            guard case .array(let listed)? = list["data"] else { Issue.record("no list"); return }
            #expect(listed.contains { $0["id"] == "test-123" })
            // The monitoring views are not for a plain user.
            #expect(try await gateway.get("/conversations", headers: headers).status == 403)
            // A bad `/chat` body is answered in the simple error shape.
            let bad = try await gateway.post("/chat", #"{"conversation_id":"test-123"}"#, headers: headers)
            #expect(bad.status == 400)
            #expect(try bad.json()["error"]?["message"] == "`message` (the user's text) is required.")
        }
    }

    @Test(arguments: backends) func listPagesArchiveBatchAndDelete(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            var ids: [String] = []
            for index in 0..<5 {
                let made = try await gateway.post("/v1/conversations", #"{"title":"c\#(index)"}"#, headers: headers)
                ids.append(try #require(try made.json()["id"]?.stringValue))
            }
            let page = try await gateway.get("/v1/conversations?limit=2", headers: headers).json()
            #expect(page["data"]?.arrayCount == 2)
            #expect(page["has_more"] == true)
            let cursor = try #require(page["next_cursor"]?.stringValue)
            let rest = try await gateway.get("/v1/conversations?limit=10&cursor=\(cursor)", headers: headers).json()
            #expect(rest["data"]?.arrayCount == 3)
            #expect(rest["has_more"] == false)

            let patched = try await gateway.request(.PATCH, "/v1/conversations/\(ids[0])", body: #"{"title":"renamed","archived":true}"#, headers: headers)
            #expect(try patched.json()["title"] == "renamed")
            #expect(try await gateway.get("/v1/conversations?archived=true", headers: headers).json()["data"]?.arrayCount == 1)

            let batch = try await gateway.post(
                "/v1/conversations/batch", #"{"action":"delete","ids":["\#(ids[1])","\#(ids[2])","missing"]}"#, headers: headers
            ).json()
            #expect(batch["data"]?[0]?["ok"] == true)
            #expect(batch["data"]?[2]?["ok"] == false)
            #expect(batch["data"]?[2]?["error"]?["code"] == "NOT_FOUND")
            let deleted = try await gateway.request(.DELETE, "/v1/conversations/\(ids[3])", headers: headers)
            #expect(try deleted.json()["deleted"] == true)
            #expect(try await gateway.get("/v1/conversations/\(ids[3])", headers: headers).status == 404)
            #expect(try await gateway.get("/v1/conversations", headers: headers).json()["data"]?.arrayCount == 2)
        }
    }

    @Test(arguments: backends) func profileAnalyticsExportAndErasureAreTheCallersOwn(backend: String) async throws {
        try await withConversations(backend) { gateway, headers in
            let profile = try await gateway.request(
                .PATCH, "/v1/users/me", body: #"{"display_name":"Ada","default_model":"gpt-test","preferences":{"theme":"dark"}}"#, headers: headers
            )
            #expect(profile.status == 200)
            #expect(try profile.json()["display_name"] == "Ada")
            #expect(try profile.json()["preferences"]?["theme"] == "dark")
            let bad = try await gateway.request(.PATCH, "/v1/users/me", body: #"{"preferences":[1]}"#, headers: headers)
            #expect(bad.status == 400)
            #expect(try bad.json()["error"]?["message"] == "`preferences` must be an object, or null.")

            // A conversation made without a model gets the caller's default.
            let made = try await gateway.post("/v1/conversations", #"{"title":"defaults"}"#, headers: headers).json()
            #expect(made["model"] == "gpt-test")
            _ = try await gateway.request(.DELETE, "/v1/conversations/\(made["id"]?.stringValue ?? "")", headers: headers)
            let id = try #require(try await gateway.post("/v1/chat/completions", Self.chat("remember me"), headers: headers).json()["conversation_id"]?.stringValue)
            _ = try await gateway.post("/v1/chat/completions", Self.chat("and this", conversation: id), headers: headers)
            await gateway.flushRecords()

            let dashboard = try await gateway.get("/v1/users/me/analytics/dashboard", headers: headers).json()
            #expect(dashboard["total"]?["requests"] == 2)
            #expect(dashboard["conversations"]?["total"] == 1)
            #expect(dashboard["conversations"]?["messages"] == 4)
            #expect(dashboard["models"]?[0]?["share"] == 1)
            #expect(dashboard["by_day"]?.arrayCount == 1)

            let export = try await gateway.get("/v1/users/me/export", headers: headers)
            #expect(export.status == 200)
            let everything = try export.json()
            #expect(everything["profile"]?["display_name"] == "Ada")
            #expect(everything["conversations"]?[0]?["messages"]?.arrayCount == 4)
            #expect(everything["requests"]?.arrayCount == 2)
            #expect(everything["keys"]?.arrayCount == 1)
            #expect(everything["keys"]?[0]?["key"] == nil, "a key's secret is never exported")
            let secret = try #require(headers.first { $0.0 == "authorization" }?.1.dropFirst("Bearer ".count))
            #expect(!export.body.contains(secret), "no secret in the export")

            let erased = try await gateway.request(.DELETE, "/v1/users/me/data", headers: headers)
            #expect(erased.status == 200)
            let report = try erased.json()
            #expect(report["conversations"] == 1)
            #expect(report["messages"] == 4)
            #expect(report["request_log_rows"] == 2)
            #expect(report["profile"] == true)
            #expect(report["kept"]?.arrayCount == 2)
            #expect(try await gateway.get("/v1/conversations/\(id)", headers: headers).status == 404)
            let after = try await gateway.get("/v1/users/me/export", headers: headers).json()
            #expect(after["conversations"] == [])
            #expect(after["requests"] == [])
            #expect(after["profile"]?["display_name"] == .null)
        }
    }

    @Test(arguments: backends) func aConversationDeletedMidStreamLeavesNothingBehind(backend: String) async throws {
        try await withConversations(backend, transport: .live) { gateway, headers in
            #expect(try await gateway.post("/v1/conversations", #"{"id":"doomed","model":"slowstream"}"#, headers: headers).status == 201)
            async let streamed = gateway.post("/v1/chat/completions", #"{"conversation_id":"doomed","message":"long answer","stream":true}"#, headers: headers)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await gateway.request(.DELETE, "/v1/conversations/doomed", headers: headers).status == 200)
            #expect(try await streamed.status == 200)
            // The same id again: a fresh conversation, with no message of the deleted one's turn.
            #expect(try await gateway.post("/v1/conversations", #"{"id":"doomed"}"#, headers: headers).status == 201)
            let full = try await gateway.get("/v1/conversations/doomed/full", headers: headers).json()
            #expect(full["messages"] == [])
            #expect(full["conversation"]?["message_count"] == 0)
        }
    }

    @Test func switchedOffConversationsAndTheResponseCache() async throws {
        try await withConversations("sqlite", config: Self.config("  enabled: false\n")) { gateway, headers in
            for response in [
                try await gateway.get("/v1/conversations", headers: headers),
                try await gateway.post("/v1/conversations/x/messages", #"{"content":"hi"}"#, headers: headers),
                try await gateway.post("/v1/chat/completions", Self.chat("hi"), headers: headers),
            ] {
                #expect(response.status == 400)
                #expect(try response.json()["error"]?["message"] == "Stored conversations are turned off here (`conversations.enabled: false`).")
            }
        }
        // With the response cache on, a regenerated answer is asked for anew.
        try await withConversations("sqlite", config: Self.config() + "cache:\n  enabled: true\n") { gateway, headers in
            let first = try await gateway.post("/v1/chat/completions", Self.chat("cache me"), headers: headers).json()
            let id = try #require(first["conversation_id"]?.stringValue)
            let answer = try #require(first["message_id"]?.stringValue)
            let calls = await gateway.upstream.recorder.calls(model: "fake-model")
            let again = try await gateway.post("/v1/conversations/\(id)/messages/\(answer)/regenerate", "{}", headers: headers)
            #expect(again.status == 200)
            #expect(again.header("x-switchboard-cache") == "bypass")
            #expect(await gateway.upstream.recorder.calls(model: "fake-model") == calls + 1)
        }
    }

    @Test(arguments: backends) func erasureMidStreamIsNotUndoneByTheTurn(backend: String) async throws {
        try await withConversations(backend, transport: .live) { gateway, headers in
            async let streamed = gateway.post("/v1/chat/completions", #"{"model":"slowstream","message":"a new one","stream":true}"#, headers: headers)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await gateway.request(.DELETE, "/v1/users/me/data", headers: headers).status == 200)
            #expect(try await streamed.status == 200)
            #expect(try await gateway.get("/v1/conversations", headers: headers).json()["data"] == [])
        }
    }

    @Test(arguments: backends) func aFiveHundredMessageHistoryIsCutToTheWindowKeepingTheSystemPrompt(backend: String) async throws {
        // No `max_context_tokens` bound: the model's own window (2600, `context_window`) is the limit.
        let config = Self.config("  max_messages: 600\n  max_context_messages: 600\n")
        try await withConversations(backend, config: config) { gateway, headers in
            let details = try await gateway.get("/v1/models/small-window?details=true", headers: headers).json()
            #expect(details["context_window"] == 2600)
            let id = try #require(
                try await gateway.post("/v1/conversations", #"{"model":"small-window","system_prompt":"Stay on topic."}"#, headers: headers).json()["id"]?.stringValue
            )
            let text = String(repeating: "history ", count: 10)
            for index in 0..<500 {
                let role = index % 2 == 0 ? "user" : "assistant"
                let added = try await gateway.post("/v1/conversations/\(id)/messages", #"{"role":"\#(role)","content":"\#(index) \#(text)"}"#, headers: headers)
                #expect(added.status == 201)
            }
            /// Sends a turn after `history` messages and checks what went upstream: the system
            /// prompt first, the newest turns after it, the oldest gone, just within `budget`
            /// estimated tokens.
            func turn(_ body: String, history: Int, budget: Int) async throws -> Int {
                let turn = try await gateway.post("/v1/chat/completions", body, headers: headers)
                #expect(turn.status == 200)
                let dropped = try #require(Int(turn.header("x-switchboard-context-dropped") ?? ""))
                #expect(try turn.json()["context_dropped_messages"] == .integer(Int64(dropped)))
                let sent = try #require(await gateway.upstream.recorder.last?.body)
                guard case .array(let messages)? = sent["messages"] else {
                    Issue.record("no messages sent")
                    return dropped
                }
                #expect(messages.first?["content"] == "Stay on topic.")
                let chat = try JSONCoding.decode(ChatRequest.self, from: JSONCoding.encode(sent))
                let tokens = TokenEstimator.estimatePrompt(chat.messages)
                #expect(tokens <= budget)
                #expect(tokens > budget - 30)
                #expect(dropped > 400)
                #expect(messages.count == 1 + history + 1 - dropped)
                #expect(messages[1]["content"]?.stringValue?.hasPrefix("\(dropped) ") == true)
                return dropped
            }
            // With `max_tokens: 600` the history may take 2600 − 600 tokens; the answer's room
            // without it is a quarter of the window, so 1950.
            // No model in the turns: the conversation's.
            let bounded = try await turn(#"{"conversation_id":"\#(id)","message":"what now","max_tokens":600}"#, history: 500, budget: 2000)
            let unbounded = try await turn(#"{"conversation_id":"\#(id)","message":"and then"}"#, history: 502, budget: 1950)
            #expect(unbounded > bounded)
        }
    }

    @Test(arguments: backends) func regenerateAndAnsweredEditsStream(backend: String) async throws {
        try await withConversations(backend, transport: .live) { gateway, headers in
            let first = try await gateway.post("/v1/chat/completions", Self.chat("tell me"), headers: headers)
            let id = try #require(try first.json()["conversation_id"]?.stringValue)
            let answer = try #require(try first.json()["message_id"]?.stringValue)
            let question = try #require(try first.json()["parent_message_id"]?.stringValue)
            /// The SSE body's chunks, and whether it ended with `[DONE]`.
            func chunks(_ response: TestResponse) throws -> (chunks: [JSONValue], done: Bool) {
                let lines = response.body.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) }
                let decoded = try lines.filter { $0 != "[DONE]" }.map { try JSONCoding.decode(JSONValue.self, from: Array($0.utf8)) }
                return (decoded, lines.last == "[DONE]")
            }
            func text(_ chunks: [JSONValue]) -> String {
                chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
            }

            // A streamed regenerate: a sibling answer on a new, active branch, as chunks.
            let regenerated = try await gateway.post("/v1/conversations/\(id)/messages/\(answer)/regenerate", #"{"stream":true}"#, headers: headers)
            #expect(regenerated.status == 200)
            #expect(regenerated.header("content-type") == "text/event-stream")
            let newAnswer = try #require(regenerated.header("x-switchboard-message-id"))
            #expect(newAnswer != answer)
            let stream = try chunks(regenerated)
            #expect(stream.done)
            #expect(stream.chunks.first?["message_id"]?.stringValue == newAnswer)
            #expect(stream.chunks.first?["parent_message_id"]?.stringValue == question)
            #expect(text(stream.chunks) == "echo: tell me")
            let path = try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]
            #expect(Self.transcript(path) == ["user: tell me", "assistant: echo: tell me"])
            #expect(path?[1]?["id"]?.stringValue == newAnswer)
            #expect(path?[1]?["incomplete"] == false)
            #expect(try await gateway.get("/v1/conversations/\(id)/branches", headers: headers).json()["data"]?.arrayCount == 2)

            // A streamed, answered edit: the edited question and its answer on a new branch.
            let edited = try await gateway.request(
                .PATCH, "/v1/conversations/\(id)/messages/\(question)", body: #"{"content":"tell me more","regenerate":true,"stream":true}"#, headers: headers
            )
            #expect(edited.status == 200)
            #expect(text(try chunks(edited).chunks) == "echo: tell me more")
            let editedPath = try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]
            #expect(Self.transcript(editedPath) == ["user: tell me more", "assistant: echo: tell me more"])

            // A regenerate whose stream breaks: what came is stored on its branch, marked.
            let broken = try await gateway.post(
                "/v1/conversations/\(id)/messages/\(answer)/regenerate", #"{"stream":true,"model":"dying"}"#, headers: headers
            )
            #expect(broken.status == 200)
            #expect(try chunks(broken).done == false)
            let brokenPath = try await gateway.get("/v1/conversations/\(id)/messages", headers: headers).json()["data"]
            #expect(brokenPath?.arrayCount == 2)
            #expect(brokenPath?[1]?["incomplete"] == true)
            #expect(brokenPath?[0]?["id"]?.stringValue == question)

            // A bad parameter is refused before anything streams or is stored.
            let refused = try await gateway.post(
                "/v1/conversations/\(id)/messages/\(answer)/regenerate", #"{"stream":true,"temperature":3}"#, headers: headers
            )
            #expect(refused.status == 400)
            #expect(try refused.json()["error"]?["param"] == "temperature")
            #expect(try await gateway.get("/v1/conversations/\(id)/branches", headers: headers).json()["data"]?.arrayCount == 4)
        }
    }
}
