package import SwitchboardCore

/// `type: bedrock`: AWS Bedrock's Converse API, SigV4-signed (`AWS_ACCESS_KEY_ID` +
/// `AWS_SECRET_ACCESS_KEY` + `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_SESSION_TOKEN`).
package struct BedrockProvider: ProviderKind {
    package let type = ProviderType.bedrock
    package let settings = [
        ProviderSetting("region"), ProviderSetting("access_key_id", .secret), ProviderSetting("secret_access_key", .secret),
        ProviderSetting("session_token", .secret),
    ]

    package init() {}

    package func validate(_ provider: ProviderConfig) throws(ConfigError) {
        try require(provider.settings["region"], "region", of: provider, hint: "e.g. region: us-east-1")
        try require(provider.settings["access_key_id"], "access_key_id", of: provider, hint: "set it, e.g. access_key_id: ${AWS_ACCESS_KEY_ID}")
        try require(
            provider.settings["secret_access_key"], "secret_access_key", of: provider, hint: "set it, e.g. secret_access_key: ${AWS_SECRET_ACCESS_KEY}"
        )
    }

    package func discover(in environment: [String: String]) -> [ProviderConfig] {
        guard let id = variable("AWS_ACCESS_KEY_ID", in: environment), let secret = variable("AWS_SECRET_ACCESS_KEY", in: environment),
            let region = variable("AWS_REGION", in: environment) ?? variable("AWS_DEFAULT_REGION", in: environment)
        else { return [] }
        var settings = ["region": region, "access_key_id": id, "secret_access_key": secret]
        settings["session_token"] = variable("AWS_SESSION_TOKEN", in: environment)
        return [ProviderConfig(name: "bedrock", type: type, settings: settings)]
    }

    package func makeAdapter(_ provider: ProviderConfig, context: AdapterContext) throws(ConfigError) -> any ProviderAdapter {
        try BedrockAdapter(config: provider, client: context.client)
    }
}
