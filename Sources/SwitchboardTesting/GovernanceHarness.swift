package import SwitchboardCore

/// A config with governance sections; `extra` goes at the top level (limits, request_log, auth),
/// `server` into the server section.
package func governanceConfig(_ extra: String = "", models: String = "", server: String = "") -> String {
    """
    server:
      host: 127.0.0.1
      port: 0
      master_key: sk-test-master
    \(server)
    storage:
      url: ${DATABASE}
    providers:
      - name: fake
        type: openai-compatible
        base_url: ${UPSTREAM}
        api_key: \(FakeOpenAIUpstream.apiKey)
    models:
      - name: gpt-test
        targets: [{ provider: fake, model: fake-model }]
      - name: other
        targets: [{ provider: fake, model: other-model }]
    \(models)
    \(extra)
    """
}

/// Headers for a JSON request with `credential` as the bearer token.
package func bearer(_ credential: String) -> [(String, String)] {
    [("content-type", "application/json"), ("authorization", "Bearer \(credential)")]
}

/// A chat completion for the harness's `gpt-test` alias.
package let chatBody = #"{"model":"gpt-test","messages":[{"role":"user","content":"hello"}]}"#

/// A harness call answered with something other than what the test needed.
package struct UnexpectedResponse: Error, CustomStringConvertible {
    package var status: Int
    package var body: String
    package var description: String { "unexpected \(status): \(body)" }
}

extension GatewayTestContext {
    /// Creates a key with the master key; returns (id, secret).
    package func createKey(_ fields: String) async throws -> (id: String, secret: String) {
        let response = try await post("/admin/keys", fields, headers: authHeaders)
        guard response.status == 201 else { throw UnexpectedResponse(status: response.status, body: response.body) }
        let json = try response.json()
        return (json["id"]?.stringValue ?? "", json["key"]?.stringValue ?? "")
    }
}

extension JSONValue {
    /// The number of items of an array, `nil` for anything else.
    package var arrayCount: Int? {
        if case .array(let items) = self { return items.count }
        return nil
    }

    /// An array's item, `nil` out of range or for anything else.
    package subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }
}
