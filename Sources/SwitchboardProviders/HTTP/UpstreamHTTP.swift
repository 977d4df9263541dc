package import AsyncHTTPClient
package import NIOCore
package import NIOHTTP1
package import SwitchboardCore
package import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The HTTP plumbing every adapter shares: sending JSON, timeouts, and turning failures into
/// ``UpstreamError`` without ever keeping the provider's body.
package struct UpstreamHTTP: Sendable {
    package let client: HTTPClient
    package let provider: String
    /// Largest non-streamed response accepted from a provider.
    package var maxResponseBytes = 64 * 1024 * 1024

    package init(client: HTTPClient, provider: String) {
        self.client = client
        self.provider = provider
    }

    /// Sends a request and returns once the response head is in; non-2xx answers are thrown.
    package func send(
        url: String,
        method: HTTPMethod = .POST,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        call: UpstreamCall,
        errorDecoder: ErrorBodyDecoder = .openAI
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(body) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + .init(call.timeout), logger: call.logger)
        } catch {
            throw classify(error)
        }
        guard (200..<300).contains(response.status.code) else {
            throw await failure(response, decoder: errorDecoder)
        }
        return response
    }

    /// Sends a request and collects the whole 2xx body, all within the call's timeout.
    ///
    /// Non-streamed calls go through AsyncHTTPClient's delegate API with a ``ResponseAccumulator``:
    /// its deadline covers the body as well as the head, and the body is gathered on the event
    /// loop, so the calling task is resumed once, with the whole answer (no per-part hops, no
    /// timer task of our own).
    package func sendAndCollect(
        url: String,
        method: HTTPMethod = .POST,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        call: UpstreamCall,
        errorDecoder: ErrorBodyDecoder = .openAI
    ) async throws -> (HTTPClient.Response, ByteBuffer) {
        let response = try await collect(
            url: url, method: method, headers: headers, body: body, deadline: .now() + .init(call.timeout), logger: call.logger
        )
        let buffer = response.body ?? ByteBuffer()
        guard (200..<300).contains(response.status.code) else {
            let errorBody = buffer.getSlice(at: buffer.readerIndex, length: min(buffer.readableBytes, 64 * 1024))
            throw failure(status: Int(response.status.code), headers: response.headers, body: errorBody, decoder: errorDecoder)
        }
        return (response, buffer)
    }

    /// Sends a request and gathers the whole response, of any status, by `deadline`; transport
    /// failures, a body over ``maxResponseBytes`` and the deadline become ``UpstreamError``s, and
    /// cancelling the calling task cancels the request.
    package func collect(
        url: String,
        method: HTTPMethod,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        deadline: NIODeadline,
        logger: Logger
    ) async throws -> HTTPClient.Response {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: method, headers: headers, body: body.map { .byteBuffer($0) })
        } catch {
            throw classify(error)
        }
        let accumulator = ResponseAccumulator(request: request, maxBodySize: maxResponseBytes)
        let task = client.execute(request: request, delegate: accumulator, deadline: deadline, logger: logger)
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch is ResponseAccumulator.ResponseTooBigError {
            throw UpstreamError(.invalidResponse, provider: provider, detail: "response larger than \(maxResponseBytes) bytes")
        } catch {
            throw classify(error)
        }
    }

    /// Turns a transport error into an ``UpstreamError``.
    package func classify(_ error: any Error) -> any Error {
        Self.classify(error, provider: provider)
    }

    static func classify(_ error: any Error, provider: String) -> any Error {
        if error is UpstreamError || error is CancellationError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return UpstreamError(.timeout, provider: provider, detail: "no response within the timeout")
            case .connectTimeout:
                return UpstreamError(.connect, provider: provider, detail: "connection timed out")
            case .cancelled:
                return CancellationError()
            case .remoteConnectionClosed:
                return UpstreamError(.streamInterrupted, provider: provider, detail: "the connection closed early")
            default:
                return UpstreamError(.connect, provider: provider, detail: "transport error (\(error.shortDescription))")
            }
        }
        if error is ChannelError || error is IOError {
            return UpstreamError(.connect, provider: provider, detail: "connection failed")
        }
        return UpstreamError(.connect, provider: provider, detail: "transport error")
    }

    /// Reads a little of an error body to learn the provider's error type, then drops it.
    private func failure(_ response: HTTPClientResponse, decoder: ErrorBodyDecoder) async -> UpstreamError {
        failure(status: Int(response.status.code), headers: response.headers, body: await Self.errorBody(response), decoder: decoder)
    }

    /// An error status as an ``UpstreamError``: the type, code and retry hint only, never the message.
    private func failure(status: Int, headers: HTTPHeaders, body: ByteBuffer?, decoder: ErrorBodyDecoder) -> UpstreamError {
        let info = body.map(decoder.decode) ?? ErrorBodyDecoder.Info()
        return UpstreamError(
            .status(info.status ?? status),
            provider: provider,
            detail: "HTTP \(status)",
            errorType: info.type,
            errorCode: info.code,
            retryAfterSeconds: Self.retryAfter(headers) ?? info.retryAfterSeconds
        )
    }

    /// The first 64 KiB of an error body, or nothing if it does not arrive within a few seconds:
    /// a provider that sends an error status and then stalls must not hold the request.
    package static func errorBody(_ response: HTTPClientResponse, within limit: Duration = .seconds(5)) async -> ByteBuffer? {
        await withTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try? await response.body.collect(upTo: 64 * 1024) }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
    }

    package static func retryAfter(_ headers: HTTPHeaders) -> Int? {
        if let value = headers.first(name: "retry-after"), let seconds = Double(value) {
            return max(0, Int(seconds.rounded(.up)))
        }
        if let value = headers.first(name: "retry-after-ms"), let milliseconds = Double(value) {
            return max(0, Int((milliseconds / 1000).rounded(.up)))
        }
        return nil
    }
}

/// Reads a provider's error type, code and retry hint from an error body; only short
/// identifiers and numbers survive, never the message.
package struct ErrorBodyDecoder: Sendable {
    package struct Info: Sendable {
        package var type: String?
        package var code: String?
        package var retryAfterSeconds: Int?
        /// The status the failure means, when the body says more than the HTTP status (a
        /// provider reporting rejected credentials as a 400).
        package var status: Int?

        package init(type: String? = nil, code: String? = nil, retryAfterSeconds: Int? = nil) {
            self.type = type
            self.code = code
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    package let decode: @Sendable (ByteBuffer) -> Info

    package init(decode: @escaping @Sendable (ByteBuffer) -> Info) {
        self.decode = decode
    }

    /// `{"error": {"type": ..., "code": ...}}`, as OpenAI and most compatible servers send.
    package static let openAI = ErrorBodyDecoder { buffer in
        struct Envelope: Decodable {
            struct Detail: Decodable {
                var type: String?
                var code: JSONValue?
            }
            var error: Detail?
        }
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(buffer.readableBytesView)) else {
            return Info()
        }
        let code: String?
        switch envelope.error?.code {
        case .string(let value): code = value
        case .integer(let value): code = String(value)
        default: code = nil
        }
        return Info(type: envelope.error?.type, code: code)
    }
}

extension HTTPClientError {
    var shortDescription: String {
        String(describing: self).split(separator: "(").first.map(String.init) ?? "unknown"
    }
}
