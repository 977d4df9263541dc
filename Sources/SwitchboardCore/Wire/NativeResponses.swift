/// A Responses-API request as an upstream that serves OpenAI's `/v1/responses` itself takes it
/// (`responses: native`): the client's body, and what the gateway changed around it. Set by the
/// Responses front door on every call; a provider without the API answers the bridged chat
/// request beside it instead.
package struct NativeResponses: Sendable, Hashable {
    /// The request body as the client sent it (an object).
    package var body: JSONValue
    /// Its bytes exactly, sent as they are when the upstream's model is the one the client named
    /// and the gateway keeps nothing (`store: false`).
    package var raw: VerbatimBody
    /// How many of the call's last messages the body's `input` holds; the messages before them
    /// (after the system ones) are the stored chain the gateway replays as input items.
    package var inputCount: Int
    /// The gateway stores the response itself.
    package var storedHere: Bool
    /// The call carries a stored chain (stored here, or `previous_response_id`): the upstream is
    /// asked to keep nothing, and the chain goes in `input` instead of `previous_response_id`.
    package var chained: Bool
    /// What in the body only a native upstream can take — built-in tools (`web_search`,
    /// `file_search`, …) and input items of their kinds — each with its parameter path.
    package var nativeOnly: [Part]

    package struct Part: Sendable, Hashable {
        /// What it is, for the refusal: "tool `web_search`".
        package var name: String
        package var param: String

        package init(name: String, param: String) {
            self.name = name
            self.param = param
        }
    }

    package init(body: JSONValue, raw: VerbatimBody = .empty, inputCount: Int, storedHere: Bool, chained: Bool, nativeOnly: [Part] = []) {
        self.body = body
        self.raw = raw
        self.inputCount = inputCount
        self.storedHere = storedHere
        self.chained = chained
        self.nativeOnly = nativeOnly
    }

    /// The `object` of a chat answer made from a native Responses answer: the front door relays
    /// its ``ChatResponse/upstreamBody`` (a response object) only when it is this.
    package static let answerObject = "response"
    /// The message field holding a native answer's output items as the upstream sent them, so a
    /// stored answer can be replayed to a native upstream (reasoning with `encrypted_content`,
    /// built-in tool calls) and read back with them.
    package static let outputField = "responses_output"
}
