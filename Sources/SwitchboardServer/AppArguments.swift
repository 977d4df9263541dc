public import Logging

/// What `switchboard serve` (or a test) asks of ``buildApplication(_:)``.
public protocol AppArguments: Sendable {
    /// Path of a YAML config file; `nil` builds the setup from the environment.
    var configPath: String? { get }
    /// Overrides `server.host` when set.
    var hostOverride: String? { get }
    /// Overrides `server.port` when set (0 picks a free port).
    var portOverride: Int? { get }
    var logLevel: Logger.Level { get }
    /// The environment `${VAR}` interpolation and zero-config mode read from.
    var environment: [String: String] { get }
    /// Where log lines go; `nil` is standard error.
    var logOutput: (@Sendable (String) -> Void)? { get }
}

extension AppArguments {
    public var logOutput: (@Sendable (String) -> Void)? { nil }
}

/// A plain-value ``AppArguments``, for tests and embedding.
public struct GatewayArguments: AppArguments {
    public var configPath: String?
    public var hostOverride: String?
    public var portOverride: Int?
    public var logLevel: Logger.Level
    public var environment: [String: String]
    public var logOutput: (@Sendable (String) -> Void)?

    public init(
        configPath: String? = nil,
        hostOverride: String? = nil,
        portOverride: Int? = nil,
        logLevel: Logger.Level = .info,
        environment: [String: String] = [:],
        logOutput: (@Sendable (String) -> Void)? = nil
    ) {
        self.logOutput = logOutput
        self.configPath = configPath
        self.hostOverride = hostOverride
        self.portOverride = portOverride
        self.logLevel = logLevel
        self.environment = environment
    }
}
