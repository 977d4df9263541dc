package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Core (OpenAI-shaped) ⇄ Gemini `generateContent`, with no I/O, through the ``Gemini`` wire types.
package enum GeminiTranslation {
    /// Separates a tool call id from the Gemini thought signature it carries back and forth.
    static let signatureMarker = "__thought__"

    package static func unsupportedParameters(in request: ChatRequest) -> [String] {
        request.parametersSet(among: ["logprobs", "top_logprobs", "logit_bias"])
    }

    package static func request(from core: ChatRequest) throws(UpstreamError) -> Gemini.Request {
        var system: [Gemini.Part] = []
        var contents: [Gemini.Content] = []
        // Gemini answers a function call by name; OpenAI by id.
        var namesByID: [String: String] = [:]

        func append(_ role: String, _ parts: [Gemini.Part]) {
            guard !parts.isEmpty else { return }
            if let last = contents.last, last.role == role {
                contents[contents.count - 1].parts += parts
            } else {
                contents.append(Gemini.Content(role: role, parts: parts))
            }
        }

        for message in core.messages {
            switch message.role {
            case .system, .developer:
                if let text = message.content?.text, !text.isEmpty { system.append(Gemini.Part(text: text)) }
            case .user:
                append("user", parts(from: message.content))
            case .assistant:
                var parts = parts(from: message.content)
                for call in message.toolCalls ?? [] {
                    namesByID[call.id] = call.function.name
                    var arguments: JSONValue = [:]
                    if !call.function.arguments.isEmpty {
                        guard let parsed = JSONCoding.parseModelOutput(call.function.arguments), case .object = parsed else {
                            throw UpstreamError(.unsupported, provider: "gemini", detail: "the arguments of tool call `\(call.id)` are not a JSON object")
                        }
                        arguments = parsed
                    }
                    var part = Gemini.Part(functionCall: Gemini.FunctionCall(name: call.function.name, args: arguments))
                    if let range = call.id.range(of: signatureMarker) {
                        part.thoughtSignature = String(call.id[range.upperBound...])
                    }
                    parts.append(part)
                }
                append("model", parts)
            case .tool, .function:
                let id = message.toolCallID ?? ""
                let name = namesByID[id] ?? message.name ?? id
                let text = message.content?.text ?? ""
                let response: JSONValue
                if let parsed = JSONCoding.parseModelOutput(text), case .object = parsed {
                    response = parsed
                } else {
                    response = ["result": .string(text)]
                }
                append("user", [Gemini.Part(functionResponse: Gemini.FunctionResponse(name: name, response: response))])
            }
        }

        var body = Gemini.Request(contents: contents)
        if !system.isEmpty { body.systemInstruction = Gemini.Content(role: nil, parts: system) }
        var generation = Gemini.GenerationConfig()
        generation.temperature = core.temperature
        generation.topP = core.topP
        generation.maxOutputTokens = core.outputTokenLimit
        generation.stopSequences = core.stop?.values
        if let n = core.n, n > 1 { generation.candidateCount = n }
        generation.seed = core.seed
        generation.presencePenalty = core.extra["presence_penalty"]?.doubleValue
        generation.frequencyPenalty = core.extra["frequency_penalty"]?.doubleValue
        switch core.responseFormat?["type"]?.stringValue {
        case "json_object":
            generation.responseMimeType = "application/json"
        case "json_schema":
            generation.responseMimeType = "application/json"
            generation.responseSchema = core.responseFormat?["json_schema"]?["schema"].map(GeminiSchema.sanitize)
        default:
            break
        }
        if !generation.isEmpty { body.generationConfig = generation }
        if let tools = core.tools, !tools.isEmpty {
            body.tools = [Gemini.Tools(functionDeclarations: tools.map { tool in
                var declaration = Gemini.FunctionDeclaration(name: tool.function.name, description: tool.function.description)
                if let parameters = tool.function.parameters, parameters["properties"]?.objectValue?.isEmpty == false || parameters["type"] != "object" {
                    declaration.parameters = GeminiSchema.sanitize(parameters)
                }
                return declaration
            })]
            let mode: (String, [String]?)?
            switch core.toolChoice {
            case .auto?: mode = ("AUTO", nil)
            case .none?: mode = ("NONE", nil)
            case .required?: mode = ("ANY", nil)
            case .function(let name)?: mode = ("ANY", [name])
            case nil: mode = nil
            }
            if let (name, allowed) = mode {
                body.toolConfig = Gemini.ToolConfig(functionCallingConfig: .init(mode: name, allowedFunctionNames: allowed))
            }
        }
        return body
    }

    static func parts(from content: MessageContent?) -> [Gemini.Part] {
        switch content {
        case nil: return []
        case .text(let text)?: return text.isEmpty ? [] : [Gemini.Part(text: text)]
        case .parts(let parts)?:
            return parts.compactMap { part in
                switch part {
                case .text(let text): return Gemini.Part(text: text)
                case .imageURL(let url, _):
                    if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") {
                        let mime = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
                        return Gemini.Part(inlineData: Gemini.Blob(mimeType: String(mime), data: String(url[url.index(after: comma)...])))
                    }
                    return Gemini.Part(fileData: Gemini.FileData(mimeType: mimeType(ofImageURL: url), fileUri: url))
                case .other(let raw):
                    if raw["type"] == "text", let text = raw["text"]?.stringValue { return Gemini.Part(text: text) }
                    return nil
                }
            }
        }
    }

    /// Gemini wants a concrete MIME type for file data; guessed from the URL's extension.
    static func mimeType(ofImageURL url: String) -> String {
        let path = url.split(separator: "?").first.map(String.init)?.lowercased() ?? ""
        for (suffix, type) in [(".png", "image/png"), (".webp", "image/webp"), (".gif", "image/gif"), (".heic", "image/heic"), (".heif", "image/heif")]
        where path.hasSuffix(suffix) {
            return type
        }
        return "image/jpeg"
    }

    package static func finishReason(_ reason: String?, hasToolCalls: Bool) -> String? {
        if hasToolCalls { return "tool_calls" }
        switch reason {
        case "STOP": return "stop"
        case "MAX_TOKENS": return "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": return "content_filter"
        case nil: return nil
        default: return "stop"
        }
    }

    package static func usage(_ metadata: Gemini.UsageMetadata?) -> Usage? {
        guard let metadata else { return nil }
        let prompt = metadata.promptTokenCount ?? 0
        let candidates = metadata.candidatesTokenCount ?? 0
        let thoughts = metadata.thoughtsTokenCount ?? 0
        var extra: [String: JSONValue] = [:]
        if let cached = metadata.cachedContentTokenCount {
            extra["prompt_tokens_details"] = ["cached_tokens": .integer(Int64(cached))]
        }
        if thoughts > 0 { extra["completion_tokens_details"] = ["reasoning_tokens": .integer(Int64(thoughts))] }
        return Usage(promptTokens: prompt, completionTokens: candidates + thoughts, totalTokens: metadata.totalTokenCount, extra: extra)
    }

    /// One candidate's parts as a message: text joined, function calls as tool calls.
    static func message(from content: Gemini.Content?, callIndexBase: Int, idPrefix: String) -> (text: String, calls: [ToolCall], reasoning: String) {
        var text = ""
        var reasoning = ""
        var calls: [ToolCall] = []
        for part in content?.parts ?? [] {
            if let call = part.functionCall {
                var id = "call_\(idPrefix)_\(callIndexBase + calls.count)"
                if let signature = part.thoughtSignature { id += signatureMarker + signature }
                calls.append(ToolCall(id: id, function: .init(name: call.name, arguments: JSONText.compact(call.args ?? [:]))))
            } else if let value = part.text {
                if part.thought == true { reasoning += value } else { text += value }
            }
        }
        return (text, calls, reasoning)
    }

    /// A prompt Gemini refused to answer: the request's problem, not the target's.
    static func blocked(_ body: Gemini.Response, provider: String) -> UpstreamError? {
        guard body.candidates == nil, let reason = body.promptFeedback?.blockReason else { return nil }
        return UpstreamError(.status(400), provider: provider, detail: "the prompt was blocked", errorType: "PROMPT_BLOCKED", errorCode: reason)
    }

    package static func response(_ body: Gemini.Response, model: String, created: Int) -> ChatResponse {
        let id = body.responseId ?? "gemini-\(created)"
        let choices = (body.candidates ?? []).enumerated().map { offset, candidate in
            let parsed = message(from: candidate.content, callIndexBase: 0, idPrefix: id)
            var extra: [String: JSONValue] = [:]
            if !parsed.reasoning.isEmpty { extra["reasoning_content"] = .string(parsed.reasoning) }
            return ChatResponse.Choice(
                index: candidate.index ?? offset,
                message: ChatMessage(
                    role: .assistant,
                    content: parsed.text.isEmpty && !parsed.calls.isEmpty ? nil : .text(parsed.text),
                    toolCalls: parsed.calls.isEmpty ? nil : parsed.calls,
                    extra: extra
                ),
                finishReason: finishReason(candidate.finishReason, hasToolCalls: !parsed.calls.isEmpty)
            )
        }
        return ChatResponse(id: id, created: created, model: body.modelVersion ?? model, choices: choices, usage: usage(body.usageMetadata))
    }
}

/// Rewrites a JSON Schema into the OpenAPI subset Gemini accepts.
package enum GeminiSchema {
    static let dropped: Set<String> = [
        "$schema", "$id", "$defs", "definitions", "additionalProperties", "default", "examples", "$comment",
        "patternProperties", "unevaluatedProperties", "dependentRequired", "dependentSchemas", "if", "then", "else",
        "not", "contentMediaType", "contentEncoding", "readOnly", "writeOnly", "deprecated", "strict",
    ]

    package static func sanitize(_ schema: JSONValue) -> JSONValue {
        let definitions = schema["$defs"]?.objectValue ?? schema["definitions"]?.objectValue ?? [:]
        return sanitize(schema, definitions: definitions, depth: 0)
    }

    static func sanitize(_ schema: JSONValue, definitions: [String: JSONValue], depth: Int) -> JSONValue {
        guard depth < 32 else { return ["type": "object"] }
        switch schema {
        case .array(let items):
            return .array(items.map { sanitize($0, definitions: definitions, depth: depth + 1) })
        case .object(var object):
            // `$ref` into local definitions is inlined; Gemini has no references.
            if let reference = object["$ref"]?.stringValue {
                let name = reference.split(separator: "/").last.map(String.init) ?? ""
                var resolved = definitions[name]?.objectValue ?? ["type": "object"]
                for (key, value) in object where key != "$ref" { resolved[key] = value }
                object = resolved
            }
            for key in dropped { object[key] = nil }
            if let constant = object.removeValue(forKey: "const") { object["enum"] = [constant] }
            // ["string", "null"] → "string" + nullable.
            if case .array(let types)? = object["type"] {
                let concrete = types.filter { $0 != "null" }
                if concrete.count < types.count { object["nullable"] = true }
                object["type"] = concrete.first ?? "string"
            }
            var result: [String: JSONValue] = [:]
            for (key, value) in object {
                switch key {
                case "properties":
                    if case .object(let properties) = value {
                        result[key] = .object(properties.mapValues { sanitize($0, definitions: definitions, depth: depth + 1) })
                    }
                case "items", "anyOf", "oneOf", "allOf":
                    result[key == "oneOf" ? "anyOf" : key] = sanitize(value, definitions: definitions, depth: depth + 1)
                default:
                    result[key] = value
                }
            }
            return .object(result)
        default:
            return schema
        }
    }
}
