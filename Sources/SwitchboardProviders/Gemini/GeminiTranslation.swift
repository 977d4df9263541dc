public import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Core (OpenAI-shaped) ⇄ Gemini `generateContent`, with no I/O. Gemini's wire objects are
/// built and read as `JSONValue`, field by field, so unknown parts pass through untouched.
public enum GeminiTranslation {
    /// Separates a tool call id from the Gemini thought signature it carries back and forth.
    static let signatureMarker = "__thought__"

    public static func unsupportedParameters(in request: ChatRequest) -> [String] {
        request.parametersSet(among: ["logprobs", "top_logprobs", "logit_bias"])
    }

    public static func request(from core: ChatRequest) throws(UpstreamError) -> JSONValue {
        var system: [JSONValue] = []
        var contents: [JSONValue] = []
        // Gemini answers a function call by name; OpenAI by id.
        var namesByID: [String: String] = [:]

        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if case .object(var last)? = contents.last, last["role"]?.stringValue == role, case .array(var existing)? = last["parts"] {
                existing += parts
                last["parts"] = .array(existing)
                contents[contents.count - 1] = .object(last)
            } else {
                contents.append(["role": .string(role), "parts": .array(parts)])
            }
        }

        for message in core.messages {
            switch message.role {
            case .system, .developer:
                if let text = message.content?.text, !text.isEmpty { system.append(["text": .string(text)]) }
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
                    var part: [String: JSONValue] = ["functionCall": ["name": .string(call.function.name), "args": arguments]]
                    if let range = call.id.range(of: signatureMarker) {
                        part["thoughtSignature"] = .string(String(call.id[range.upperBound...]))
                    }
                    parts.append(.object(part))
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
                append("user", [["functionResponse": ["name": .string(name), "response": response]]])
            }
        }

        var body: [String: JSONValue] = ["contents": .array(contents)]
        if !system.isEmpty { body["systemInstruction"] = ["parts": .array(system)] }
        var generation: [String: JSONValue] = [:]
        if let value = core.temperature { generation["temperature"] = .double(value) }
        if let value = core.topP { generation["topP"] = .double(value) }
        if let value = core.outputTokenLimit { generation["maxOutputTokens"] = .integer(Int64(value)) }
        if let stop = core.stop?.values { generation["stopSequences"] = .array(stop.map(JSONValue.string)) }
        if let n = core.n, n > 1 { generation["candidateCount"] = .integer(Int64(n)) }
        if let seed = core.seed { generation["seed"] = .integer(Int64(seed)) }
        if let value = core.extra["presence_penalty"]?.doubleValue { generation["presencePenalty"] = .double(value) }
        if let value = core.extra["frequency_penalty"]?.doubleValue { generation["frequencyPenalty"] = .double(value) }
        switch core.responseFormat?["type"]?.stringValue {
        case "json_object":
            generation["responseMimeType"] = "application/json"
        case "json_schema":
            generation["responseMimeType"] = "application/json"
            if let schema = core.responseFormat?["json_schema"]?["schema"] {
                generation["responseSchema"] = GeminiSchema.sanitize(schema)
            }
        default:
            break
        }
        if !generation.isEmpty { body["generationConfig"] = .object(generation) }
        if let tools = core.tools, !tools.isEmpty {
            body["tools"] = [[
                "functionDeclarations": .array(tools.map { tool in
                    var declaration: [String: JSONValue] = ["name": .string(tool.function.name)]
                    if let description = tool.function.description { declaration["description"] = .string(description) }
                    if let parameters = tool.function.parameters, parameters["properties"]?.objectValue?.isEmpty == false || parameters["type"] != "object" {
                        declaration["parameters"] = GeminiSchema.sanitize(parameters)
                    }
                    return .object(declaration)
                })
            ]]
            switch core.toolChoice {
            case .auto?: body["toolConfig"] = ["functionCallingConfig": ["mode": "AUTO"]]
            case .none?: body["toolConfig"] = ["functionCallingConfig": ["mode": "NONE"]]
            case .required?: body["toolConfig"] = ["functionCallingConfig": ["mode": "ANY"]]
            case .function(let name)?:
                body["toolConfig"] = ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": [.string(name)]]]
            case nil: break
            }
        }
        return .object(body)
    }

    static func parts(from content: MessageContent?) -> [JSONValue] {
        switch content {
        case nil: return []
        case .text(let text)?: return text.isEmpty ? [] : [["text": .string(text)]]
        case .parts(let parts)?:
            return parts.compactMap { part in
                switch part {
                case .text(let text): return ["text": .string(text)]
                case .imageURL(let url, _):
                    if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") {
                        let mime = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
                        return ["inlineData": ["mimeType": .string(String(mime)), "data": .string(String(url[url.index(after: comma)...]))]]
                    }
                    return ["fileData": ["mimeType": .string(mimeType(ofImageURL: url)), "fileUri": .string(url)]]
                case .other(let raw):
                    if raw["type"] == "text", let text = raw["text"]?.stringValue { return ["text": .string(text)] }
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

    public static func finishReason(_ reason: String?, hasToolCalls: Bool) -> String? {
        if hasToolCalls { return "tool_calls" }
        switch reason {
        case "STOP": return "stop"
        case "MAX_TOKENS": return "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": return "content_filter"
        case nil: return nil
        default: return "stop"
        }
    }

    public static func usage(_ metadata: JSONValue?) -> Usage? {
        guard let metadata else { return nil }
        let prompt = metadata["promptTokenCount"]?.intValue ?? 0
        let candidates = metadata["candidatesTokenCount"]?.intValue ?? 0
        let thoughts = metadata["thoughtsTokenCount"]?.intValue ?? 0
        var extra: [String: JSONValue] = [:]
        if let cached = metadata["cachedContentTokenCount"]?.intValue {
            extra["prompt_tokens_details"] = ["cached_tokens": .integer(Int64(cached))]
        }
        if thoughts > 0 { extra["completion_tokens_details"] = ["reasoning_tokens": .integer(Int64(thoughts))] }
        return Usage(
            promptTokens: prompt,
            completionTokens: candidates + thoughts,
            totalTokens: metadata["totalTokenCount"]?.intValue,
            extra: extra
        )
    }

    /// One candidate's parts as a message: text joined, function calls as tool calls.
    static func message(from content: JSONValue?, callIndexBase: Int, idPrefix: String) -> (text: String, calls: [ToolCall], reasoning: String) {
        var text = ""
        var reasoning = ""
        var calls: [ToolCall] = []
        for part in content?["parts"]?.arrayValue ?? [] {
            if let call = part["functionCall"] {
                var id = "call_\(idPrefix)_\(callIndexBase + calls.count)"
                if let signature = part["thoughtSignature"]?.stringValue { id += signatureMarker + signature }
                calls.append(ToolCall(
                    id: id,
                    function: .init(name: call["name"]?.stringValue ?? "", arguments: AnthropicTranslation.jsonText(call["args"] ?? [:]))
                ))
            } else if let value = part["text"]?.stringValue {
                if part["thought"] == true { reasoning += value } else { text += value }
            }
        }
        return (text, calls, reasoning)
    }

    public static func response(_ body: JSONValue, model: String, created: Int) -> ChatResponse {
        let id = body["responseId"]?.stringValue ?? "gemini-\(created)"
        let choices = (body["candidates"]?.arrayValue ?? []).enumerated().map { offset, candidate in
            let parsed = message(from: candidate["content"], callIndexBase: 0, idPrefix: id)
            var extra: [String: JSONValue] = [:]
            if !parsed.reasoning.isEmpty { extra["reasoning_content"] = .string(parsed.reasoning) }
            return ChatResponse.Choice(
                index: candidate["index"]?.intValue ?? offset,
                message: ChatMessage(
                    role: .assistant,
                    content: parsed.text.isEmpty && !parsed.calls.isEmpty ? nil : .text(parsed.text),
                    toolCalls: parsed.calls.isEmpty ? nil : parsed.calls,
                    extra: extra
                ),
                finishReason: finishReason(candidate["finishReason"]?.stringValue, hasToolCalls: !parsed.calls.isEmpty)
            )
        }
        return ChatResponse(
            id: id, created: created, model: body["modelVersion"]?.stringValue ?? model,
            choices: choices, usage: usage(body["usageMetadata"])
        )
    }
}

/// Rewrites a JSON Schema into the OpenAPI subset Gemini accepts.
public enum GeminiSchema {
    static let dropped: Set<String> = [
        "$schema", "$id", "$defs", "definitions", "additionalProperties", "default", "examples", "$comment",
        "patternProperties", "unevaluatedProperties", "dependentRequired", "dependentSchemas", "if", "then", "else",
        "not", "contentMediaType", "contentEncoding", "readOnly", "writeOnly", "deprecated", "strict",
    ]

    public static func sanitize(_ schema: JSONValue) -> JSONValue {
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
