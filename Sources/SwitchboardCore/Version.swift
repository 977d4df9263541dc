/// The gateway's version, reported by `switchboard version` and `GET /info`.
package enum SwitchboardVersion {
    package static let current = "0.1.0"
}
