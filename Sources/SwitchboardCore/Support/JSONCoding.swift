#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Decoding and encoding of wire JSON, with decoding failures turned into messages a client can act on.
package enum JSONCoding {
    /// Decodes a client's request body; any failure becomes a `VALIDATION_ERROR` naming the field.
    ///
    /// The body is read by ``JSONParser`` (one linear pass, nesting at most
    /// ``JSONLimits/maxDepth`` levels), then decoded from the parsed tree.
    package static func decodeRequest<T: Decodable>(_ type: T.Type, from data: Data) throws(GatewayError) -> T {
        let value: JSONValue
        do {
            value = try JSONParser().parse(data)
        } catch {
            throw GatewayError.validation("Request body is not valid JSON: \(error.description).")
        }
        do {
            return try JSONValueDecoder().decode(type, from: value)
        } catch let error as DecodingError {
            throw describe(error)
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError.validation("Request body could not be read.")
        }
    }

    /// Parses JSON text that came from outside (a client, a token, a stored value) in linear time.
    package static func parse(_ bytes: some ContiguousBytes) throws(JSONParseError) -> JSONValue {
        try JSONParser().parse(bytes)
    }

    /// Parses JSON a model wrote (tool arguments and results): linear, and as forgiving as Foundation.
    package static func parseModelOutput(_ text: String) -> JSONValue? {
        try? JSONParser.lenient.parse(Array(text.utf8))
    }

    /// Decodes JSON that came from outside, in linear time (see ``decodeRequest(_:from:)``).
    package static func decode<T: Decodable>(_ type: T.Type, from bytes: some ContiguousBytes) throws -> T {
        try JSONValueDecoder().decode(type, from: JSONParser().parse(bytes))
    }

    package static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return try encoder.encode(value)
    }

    /// Turns a `DecodingError` into a validation error whose message names the field and what is wrong.
    package static func describe(_ error: DecodingError) -> GatewayError {
        switch error {
        case .keyNotFound(let key, let context):
            let path = fieldPath(context.codingPath + [key])
            return .validation("Missing required field `\(path)`.", param: path)
        case .typeMismatch(let type, let context):
            let path = fieldPath(context.codingPath)
            if path.isEmpty {
                return .validation("Request body must be a JSON object.")
            }
            let detail = context.debugDescription.hasPrefix("must ") ? context.debugDescription : "must be \(kind(of: type))"
            return .validation("Field `\(path)` \(detail).", param: path)
        case .valueNotFound(let type, let context):
            let path = fieldPath(context.codingPath)
            return .validation("Field `\(path)` must be \(kind(of: type)), not null.", param: path)
        case .dataCorrupted(let context):
            let path = fieldPath(context.codingPath)
            if path.isEmpty {
                var message = "Request body is not valid JSON"
                if let underlying = context.underlyingError {
                    message += ": \(describeUnderlying(underlying))"
                }
                return .validation(message + ".")
            }
            return .validation("Field `\(path)`: \(context.debugDescription).", param: path)
        @unknown default:
            return .validation("Request body could not be decoded.")
        }
    }

    /// Renders a coding path as `messages[0].role`.
    package static func fieldPath(_ path: [any CodingKey]) -> String {
        var result = ""
        for key in path {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                if !result.isEmpty { result += "." }
                result += key.stringValue
            }
        }
        return result
    }

    private static func kind(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") && !name.contains(":") { return "an array" }
            if name.contains("Dictionary") || name.contains("Keyed") || name.contains(":") { return "an object" }
            return "of a different type"
        }
    }

    private static func describeUnderlying(_ error: any Error) -> String {
        if let decoding = error as? DecodingError, case .dataCorrupted(let context) = decoding {
            return context.debugDescription
        }
        return String(describing: error)
    }
}
