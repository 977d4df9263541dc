@testable import SwitchboardProviders
import SwitchboardCore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct BedrockTranslationTests {
    @Test(arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"),
    ])
    func stopReasons(stopReason: String, finishReason: String) {
        #expect(BedrockTranslation.finishReason(stopReason) == finishReason)
    }

    @Test func usageCountsCacheReadsIntoThePrompt() {
        let usage = BedrockTranslation.usage(.init(inputTokens: 10, outputTokens: 5, totalTokens: 19, cacheReadInputTokens: 4))
        #expect(usage.promptTokens == 14)
        #expect(usage.completionTokens == 5)
        #expect(usage.totalTokens == 19)
        #expect(usage.cachedPromptTokens == 4)
        #expect(BedrockTranslation.usage(.init(inputTokens: 1, outputTokens: 2)).extra.isEmpty)
    }

    @Test func refusesWhatConverseCannotCarry() {
        let remoteImage = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, content: .parts([.imageURL(url: "https://example.com/cat.png", detail: nil)]))
        ])
        #expect(throws: BedrockTranslation.Unsupported.self) { try BedrockTranslation.converseRequest(remoteImage) }
        let badArguments = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, content: .text("hi")),
            ChatMessage(role: .assistant, content: nil, toolCalls: [ToolCall(id: "t", function: .init(name: "f", arguments: "[1]"))]),
        ])
        #expect(throws: BedrockTranslation.Unsupported.self) { try BedrockTranslation.converseRequest(badArguments) }
        let several = ChatRequest(model: "m", messages: [ChatMessage(role: .user, content: .text("hi"))], n: 2)
        #expect(throws: BedrockTranslation.Unsupported.self) { try BedrockTranslation.converseRequest(several) }
    }

    @Test func toolConfigStaysWhenTheHistoryHasToolCalls() throws {
        let tools = [Tool(function: .init(name: "f", parameters: ["type": "object"]))]
        var request = ChatRequest(
            model: "m",
            messages: [
                ChatMessage(role: .user, content: .text("hi")),
                ChatMessage(role: .assistant, content: nil, toolCalls: [ToolCall(id: "t", function: .init(name: "f", arguments: "{}"))]),
                ChatMessage(role: .tool, content: .text("done"), toolCallID: "t"),
            ],
            tools: tools,
            toolChoice: ToolChoice.none
        )
        #expect(try BedrockTranslation.converseRequest(request).toolConfig != nil)
        request.messages = [ChatMessage(role: .user, content: .text("hi"))]
        #expect(try BedrockTranslation.converseRequest(request).toolConfig == nil)
    }

    @Test func unknownFieldsAreNotSent() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, content: .text("hi"))])
        request.extra["x_custom_field"] = "secret-sauce"
        let converse = try BedrockTranslation.converseRequest(request)
        let text = String(decoding: try JSONCoding.encode(converse), as: UTF8.self)
        #expect(!text.contains("x_custom_field"))
        #expect(text.contains("hi"))
    }

    @Test func emptyArgumentsBecomeAnEmptyObjectAndEmptyTextIsDropped() throws {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, content: .text("hi")),
            ChatMessage(role: .assistant, content: .text(""), toolCalls: [ToolCall(id: "t", function: .init(name: "f", arguments: ""))]),
            ChatMessage(role: .tool, content: .text("done"), toolCallID: "t", extra: ["is_error": true]),
        ])
        let converse = try BedrockTranslation.converseRequest(request)
        #expect(converse.messages.count == 3)
        #expect(converse.messages[1].content == [.toolUse(.init(toolUseId: "t", name: "f", input: [:]))])
        #expect(converse.messages[2].content == [.toolResult(.init(toolUseId: "t", content: [.init(text: "done")], status: "error"))])
        #expect(converse.inferenceConfig == nil)
    }

    @Test func streamTranslatorRenumbersToolBlocksAndReportsExceptions() throws {
        func event(_ type: String, _ json: String) -> EventStreamMessage {
            EventStreamMessage(headers: [":message-type": .string("event"), ":event-type": .string(type)], payload: Array(json.utf8))
        }
        var translator = BedrockStreamTranslator(id: "c", model: "m", created: 0)
        #expect(try translator.translate(event("messageStart", #"{"role":"assistant"}"#))?.choices.first?.delta.role == .assistant)
        #expect(try translator.translate(event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"a"}}"#))?.choices.first?.delta.content == "a")
        let start = try translator.translate(event("contentBlockStart", #"{"contentBlockIndex":3,"start":{"toolUse":{"toolUseId":"x","name":"f"}}}"#))
        #expect(start?.choices.first?.delta.toolCalls == [ToolCallDelta(index: 0, id: "x", type: "function", function: .init(name: "f", arguments: ""))])
        let delta = try translator.translate(event("contentBlockDelta", #"{"contentBlockIndex":3,"delta":{"toolUse":{"input":"{\"a\""}}}"#))
        #expect(delta?.choices.first?.delta.toolCalls == [ToolCallDelta(index: 0, function: .init(arguments: #"{"a""#))])
        #expect(try translator.translate(event("somethingNew", "{}")) == nil)
        #expect(!translator.sawMessageStop)
        #expect(try translator.translate(event("messageStop", #"{"stopReason":"tool_use"}"#))?.choices.first?.finishReason == "tool_calls")
        #expect(translator.sawMessageStop)
        let usage = try translator.translate(event("metadata", #"{"usage":{"inputTokens":2,"outputTokens":3,"totalTokens":5}}"#))
        #expect(usage?.isUsageOnly == true)

        let exception = EventStreamMessage(
            headers: [":message-type": .string("exception"), ":exception-type": .string("modelStreamErrorException")],
            payload: Array(#"{"message":"secret"}"#.utf8)
        )
        do {
            _ = try translator.translate(exception)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .streamInterrupted)
            #expect(error.errorType == "modelStreamErrorException")
            #expect(!error.detail.contains("secret"))
        }
    }

    @Test func endpointKeepsPortAndPath() throws {
        let endpoint = try #require(BedrockAdapter.endpoint("http://127.0.0.1:9000/proxy/"))
        #expect(endpoint.origin == "http://127.0.0.1:9000")
        #expect(endpoint.host == "127.0.0.1:9000")
        #expect(endpoint.basePath == "/proxy")
        #expect(BedrockAdapter.endpoint("ftp://x") == nil)
        #expect(BedrockAdapter.shortErrorType("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/") == "ValidationException")
        #expect(BedrockAdapter.shortErrorType("com.amazon.coral.service#ThrottlingException") == "ThrottlingException")
    }
}
