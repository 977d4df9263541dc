/// A provider type's name as configs spell it (`openai`, `anthropic`, …). Which types exist is
/// up to the descriptors the build registers (``ProviderRegistry``), not to Core.
package struct ProviderType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package let rawValue: String

    package init(rawValue: String) {
        self.rawValue = rawValue
    }

    package init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    package var description: String { rawValue }
}

/// One setting a provider type takes in its config block, besides the common ones.
package struct ProviderSetting: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        case text
        /// A credential: hidden from logs and error messages by value.
        case secret
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
        case flag
    }

    package var key: String
    package var kind: Kind

    package init(_ key: String, _ kind: Kind = .text) {
        self.key = key
        self.kind = kind
    }
}

/// What a provider type is, as configuration sees it: its own config keys and their checks, how
/// the environment configures it with no file (zero-config), and its defaults. The provider
/// module pairs each with its adapter factory; Core's config code asks these and has no switch
/// over provider types.
package protocol ProviderDescriptor: Sendable {
    var type: ProviderType { get }
    /// Keys this type takes besides `name`, `type`, `api_key`, `base_url`, `headers`, `models`,
    /// `timeout_s`, `max_concurrent` and `drop_unsupported_params`.
    var settings: [ProviderSetting] { get }
    /// Where requests go when `base_url` is not set; `nil` for built-in providers.
    var defaultBaseURL: String? { get }
    /// Refuses a provider block that lacks what this type needs (its key, region, endpoint).
    func validate(_ provider: ProviderConfig) throws(ConfigError)
    /// The providers of this type the environment configures, in zero-config mode.
    func discover(in environment: [String: String]) -> [ProviderConfig]
}

extension ProviderDescriptor {
    package var settings: [ProviderSetting] { [] }
    package var defaultBaseURL: String? { nil }
    package func discover(in environment: [String: String]) -> [ProviderConfig] { [] }

    /// Throws the usual "has no `key`" error when `value` is missing.
    package func require(_ value: String?, _ key: String, of provider: ProviderConfig, hint: String) throws(ConfigError) {
        guard let value, !value.isEmpty else {
            throw ConfigError(
                "provider `\(provider.name)` (type \(provider.type.rawValue)) has no `\(key)`; \(hint)", line: provider.line
            )
        }
    }
}

/// The provider types this build serves, in zero-config discovery order.
package struct ProviderRegistry: Sendable {
    package let descriptors: [any ProviderDescriptor]

    package init(_ descriptors: [any ProviderDescriptor]) {
        self.descriptors = descriptors
    }

    package func descriptor(for type: ProviderType) -> (any ProviderDescriptor)? {
        descriptors.first { $0.type == type }
    }

    package var typeNames: [String] { descriptors.map(\.type.rawValue) }

    /// The setting values of every provider that are secrets (for the secret scrubber).
    package func secrets(of providers: [ProviderConfig]) -> [String] {
        var secrets: [String] = []
        for provider in providers {
            if let key = provider.apiKey { secrets.append(key) }
            secrets += provider.headers.values.filter { $0.utf8.count >= 16 }
            let secretKeys = descriptor(for: provider.type)?.settings.filter { $0.kind == .secret }.map(\.key) ?? []
            secrets += secretKeys.compactMap { provider.settings[$0] }
        }
        return secrets
    }
}
