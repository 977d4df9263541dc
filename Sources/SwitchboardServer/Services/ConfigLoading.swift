package import SwitchboardCore
import SwitchboardProviders

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Loads the configuration named by the arguments (or the environment) and applies overrides.
///
/// The provider types are the ones this build serves (``BuiltInProviders``): each checks its own
/// config blocks and finds itself in the environment.
package func loadConfig(_ arguments: some AppArguments) throws -> GatewayConfig {
    let loader = ConfigLoader(environment: arguments.environment, registry: BuiltInProviders.registry)
    var config: GatewayConfig
    if let path = arguments.configPath {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError("cannot read the config file", file: path)
        }
        config = try loader.load(yaml: text, file: path)
    } else {
        config = try loader.fromEnvironment()
    }
    if let host = arguments.hostOverride { config.server.host = host }
    if let port = arguments.portOverride { config.server.port = port }
    return config
}
