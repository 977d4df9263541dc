import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardProviders
import SwitchboardStorage

/// Runs the gateway until SIGTERM/SIGINT, then lets in-flight requests finish within the grace period.
public func runGateway(_ arguments: some AppArguments) async throws {
    let built = try await buildGateway(arguments)
    var configuration = ServiceGroupConfiguration(
        services: [.init(service: built.application)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        cancellationSignals: [],
        logger: built.application.logger
    )
    configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(built.config.server.shutdownGraceSeconds * 1000))
    let serviceGroup = ServiceGroup(configuration: configuration)
    try await serviceGroup.run()
    built.application.logger.info(
        "stopped",
        metadata: ["records_written": "\(built.writer.written)", "records_dropped": "\(built.writer.dropped)"]
    )
}

func logStartup(config: GatewayConfig, catalog: ModelCatalog, logger: Logger) {
    logger.info("Switchboard \(SwitchboardVersion.current) starting (config: \(config.source))")
    for warning in config.warnings {
        logger.warning("\(warning)")
    }
    if config.providers.isEmpty {
        logger.warning("no providers configured: every model request will fail with MODEL_NOT_FOUND")
    }
    for provider in config.providers {
        let fallback = BuiltInProviders.registry.descriptor(for: provider.type)?.defaultBaseURL ?? (provider.type == .mock ? "built-in" : "default endpoint")
        let base = StorageURL.redacted(provider.baseURL ?? fallback)
        logger.info("provider \(provider.name) (\(provider.type.rawValue)) → \(base)")
    }
    let models = catalog.listModels().map(\.id)
    logger.info("models: \(models.isEmpty ? "none listed" : models.joined(separator: ", ")); any provider/model is also accepted")
    if config.server.masterKey == nil {
        logger.warning("auth is OFF: no master key is set, so anyone who can reach this port can use every provider. Set SWITCHBOARD_MASTER_KEY or server.master_key.")
    } else {
        logger.info("auth is ON (master key, virtual keys\(config.jwt == nil ? "" : ", JWT"))")
    }
    logger.info("storage: \(StorageURL.redacted(config.storage.url)); request log: \(config.requestLog.mode.rawValue)")
}
