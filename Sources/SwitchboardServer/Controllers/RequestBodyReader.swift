import Hummingbird
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads a JSON request body: checks the content type, enforces the size limit, decodes.
struct RequestBodyReader: Sendable {
    let maxBytes: Int

    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws(GatewayError) -> T {
        let data = try await read(request)
        return try JSONCoding.decodeRequest(type, from: data)
    }

    /// Decodes, and hands back the bytes too (for the request log).
    func decodeKeepingBody<T: Decodable>(_ type: T.Type, from request: Request) async throws(GatewayError) -> (T, Data) {
        let data = try await read(request)
        return (try JSONCoding.decodeRequest(type, from: data), data)
    }

    func read(_ request: Request) async throws(GatewayError) -> Data {
        let contentType = request.headers[.contentType]
        guard let contentType, Self.isJSON(contentType) else {
            throw GatewayError(
                .validationError,
                "Content-Type must be application/json"
                    + (contentType.map { " (got \($0))" } ?? " (the header is missing)") + ".",
                status: 415
            )
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw tooLarge()
        }
        do {
            let buffer = try await request.body.collect(upTo: maxBytes)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge()
        } catch {
            throw GatewayError(.validationError, "The request body could not be read.")
        }
    }

    private func tooLarge() -> GatewayError {
        GatewayError(.validationError, "Request body is larger than the limit of \(maxBytes) bytes.", status: 413)
    }

    static func isJSON(_ contentType: String) -> Bool {
        let media = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: " ").lowercased()
        } ?? ""
        return media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json"))
    }
}
