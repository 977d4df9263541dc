package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Makes keys: validates the fields, generates the secret, stores only its hash.
struct KeyIssuer: Sendable {
    let store: any GovernanceStore

    func issue(_ fields: [String: JSONValue], now: Double) async throws(GatewayError) -> (VirtualKey, String) {
        var key = VirtualKey(id: KeySecret.makeID(), name: "", prefix: "", hash: "", createdAt: now)
        try KeyFields.apply(fields, to: &key, now: now)
        return try await issue(key)
    }

    /// Stores a key whose fields are already checked, with a fresh secret.
    ///
    /// - Parameter activeKeyCap: with a user, refuse (403) when the user already holds this many active keys.
    func issue(_ draft: VirtualKey, activeKeyCap: Int? = nil, now: Double = 0) async throws(GatewayError) -> (VirtualKey, String) {
        guard !draft.name.isEmpty else {
            throw GatewayError.validation("Missing required field `name`.", param: "name")
        }
        let secret = KeySecret.generate()
        var key = draft
        key.prefix = KeySecret.prefix(of: secret)
        key.hash = KeySecret.hash(secret)
        let created = key
        if let cap = activeKeyCap, let user = key.userID {
            let stored = try await GovernanceAccess.run { try await store.createKey(created, ifUser: user, holdsFewerThan: cap, now: now) }
            guard stored else {
                throw GatewayError(.permissionDenied, "You hold \(cap) active keys, the most allowed; revoke one first.", param: "name")
            }
        } else {
            try await GovernanceAccess.run { try await store.createKey(created) }
        }
        return (key, secret)
    }
}

/// Issues a key from fields as the admin API takes them; for the CLI. Returns the key and its secret.
package func issueKey(_ fields: [String: JSONValue], store: any GovernanceStore) async throws -> (VirtualKey, String) {
    try await KeyIssuer(store: store).issue(fields, now: Date().timeIntervalSince1970)
}
