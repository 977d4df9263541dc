/// The gateway's version, reported by `switchboard version` and `GET /info`.
public enum SwitchboardVersion {
    public static let current = "0.1.0"
}
