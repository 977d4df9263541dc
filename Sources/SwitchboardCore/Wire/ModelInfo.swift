/// An entry of `GET /v1/models`.
package struct ModelInfo: Codable, Sendable, Hashable {
    package var id: String
    package var object: String
    package var created: Int
    package var ownedBy: String

    enum CodingKeys: String, CodingKey {
        case id, object, created
        case ownedBy = "owned_by"
    }

    package init(id: String, created: Int, ownedBy: String) {
        self.id = id
        self.object = "model"
        self.created = created
        self.ownedBy = ownedBy
    }
}

package struct ModelList: Codable, Sendable, Hashable {
    package var object: String
    package var data: [ModelInfo]

    package init(data: [ModelInfo]) {
        self.object = "list"
        self.data = data
    }
}
