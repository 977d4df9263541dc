import SwitchboardCore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct WireTests {
    @Test func requestRoundTripKeepsUnknownFields() throws {
        let json = """
            {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAA","detail":"low"}},
            {"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]},
            {"role":"assistant","content":null,"reasoning_content":"because","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\\"a\\": 1}"}}]}],
            "stop":"END","seed":7,"logit_bias":{"50256":-100},"top_logprobs":2,"conversation_id":"conv-1"}
            """
        let request = try JSONCoding.decodeRequest(ChatRequest.self, from: Data(json.utf8))
        #expect(request.stop?.values == ["END"])
        #expect(request.extra["logit_bias"] == ["50256": -100])
        #expect(request.gatewayExtensions.conversationID == "conv-1")
        guard case .parts(let parts) = request.messages[0].content else {
            Issue.record("expected parts")
            return
        }
        #expect(parts[1] == .imageURL(url: "data:image/png;base64,AAA", detail: "low"))
        if case .other(let raw) = parts[2] {
            #expect(raw["input_audio"]?["format"] == "wav")
        } else {
            Issue.record("unknown part type must pass through")
        }
        #expect(request.messages[1].extra["reasoning_content"] == "because")
        #expect(request.messages[1].toolCalls?.first?.function.arguments == #"{"a": 1}"#)

        let encoded = try JSONDecoder().decode(JSONValue.self, from: JSONCoding.encode(request))
        #expect(encoded["stop"] == "END")
        #expect(encoded["top_logprobs"] == 2)
        #expect(encoded["conversation_id"] == nil)
        #expect(encoded["messages"]?.arrayValue?[0]["content"]?.arrayValue?[2]["type"] == "input_audio")
        #expect(encoded["messages"]?.arrayValue?[1]["tool_calls"]?.arrayValue?[0]["function"]?["arguments"] == #"{"a": 1}"#)
    }

    @Test func decodingErrorsNameTheField() {
        func message(_ json: String) -> String {
            do {
                _ = try JSONCoding.decodeRequest(ChatRequest.self, from: Data(json.utf8))
                return "no error"
            } catch {
                return error.message
            }
        }
        #expect(message(#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}"#).contains("`max_tokens`"))
        #expect(message(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}"#).contains("sometimes"))
        #expect(message(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#).contains("boolean"))
        #expect(message(#"{"model":5,"messages":[]}"#).contains("`model`"))
        #expect(message("").contains("not valid JSON"))
    }

    @Test func chunkDetectsUsageOnly() throws {
        let chunk = try JSONDecoder().decode(
            ChatChunk.self,
            from: Data(#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#.utf8)
        )
        #expect(chunk.isUsageOnly)
        #expect(chunk.usage?.totalTokens == 3)
    }

    @Test func upstreamErrorsNeverCarryBodies() {
        let error = UpstreamError(.status(400), provider: "p", detail: "HTTP 400", errorType: "invalid_request_error", errorCode: "a message with spaces that is not an identifier")
        #expect(error.errorCode == nil)
        #expect(error.gatewayError.message.contains("invalid_request_error"))
        #expect(error.gatewayError.code == .validationError)
        #expect(UpstreamError(.status(401), provider: "p", detail: "").gatewayError.status == 502)
        #expect(UpstreamError(.status(429), provider: "p", detail: "", retryAfterSeconds: 9).gatewayError.retryAfterSeconds == 9)
        #expect(UpstreamError(.timeout, provider: "p", detail: "x").gatewayError.status == 504)
        #expect(UpstreamError(.status(503), provider: "p", detail: "").isRetryable)
        #expect(!UpstreamError(.status(400), provider: "p", detail: "").isRetryable)
    }
}
