import Hummingbird
import SwitchboardCore

/// `GET /v1/models` and `GET /v1/models/{id}`: what the caller may use.
struct ModelsController: Sendable {
    let catalog: ModelCatalog
    /// Reported as every model's `created`.
    let startedAt: Int

    func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("models", use: list)
        group.get("models/**", use: get)
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> Response {
        // A key limited to some models sees only those.
        let models = catalog.listModels(created: startedAt).filter { context.principal.mayUse($0.id) }
        return try JSONBody.response(ModelList(data: models))
    }

    @Sendable func get(request: Request, context: AuthenticatedContext) async throws -> Response {
        // SDKs send `provider/model` ids with the slash encoded (`fake%2Ffake-model`).
        let id = Self.percentDecoded(context.parameters.getCatchAll().joined(separator: "/"))
        // A key limited to some models learns of no others, listed or not.
        _ = try catalog.resolve(id, for: context.principal)
        guard let info = catalog.modelInfo(id: id, created: startedAt) else {
            // Anything the router can serve is a model, even if it is not listed.
            return try JSONBody.response(
                ModelInfo(id: id, created: startedAt, ownedBy: id.split(separator: "/").first.map(String.init) ?? "switchboard")
            )
        }
        return try JSONBody.response(info)
    }

    /// Decodes `%XX` escapes; anything malformed is kept as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
