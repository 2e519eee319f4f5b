/// Where a resolved setting came from, for `--check`, the run's info line and every error
/// about a value (so the operator knows which file or variable to fix).
public struct ConfigSource: Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable { case flag, environment, profile, services, imds, defaultValue }
    private let kind: Kind
    /// The flag, variable or key name.
    public let name: String
    /// The profile or services section, for `profile` and `services`.
    public let section: String

    public static func flag(_ name: String) -> ConfigSource { ConfigSource(kind: .flag, name: name, section: "") }
    public static func environment(_ name: String) -> ConfigSource { ConfigSource(kind: .environment, name: name, section: "") }
    public static func profile(_ profile: String, key: String) -> ConfigSource { ConfigSource(kind: .profile, name: key, section: profile) }
    public static func services(_ section: String, key: String) -> ConfigSource { ConfigSource(kind: .services, name: key, section: section) }
    public static let imds = ConfigSource(kind: .imds, name: "instance metadata", section: "")
    public static let defaultValue = ConfigSource(kind: .defaultValue, name: "default", section: "")

    public var isDefault: Bool { kind == .defaultValue }
    public var isFlag: Bool { kind == .flag }
    public var isEnvironment: Bool { kind == .environment }
    public var isProfile: Bool { kind == .profile }

    public var description: String {
        switch kind {
        case .flag: return name
        case .environment: return name
        case .profile: return "profile \(section) \(name)"
        case .services: return "[services \(section)] \(name)"
        case .imds: return name
        case .defaultValue: return "default"
        }
    }
}

/// A resolved value and where it came from.
public struct Setting<Value: Sendable>: Sendable {
    public var value: Value
    public var source: ConfigSource

    public init(_ value: Value, _ source: ConfigSource) {
        self.value = value
        self.source = source
    }
}

extension Setting: Equatable where Value: Equatable {}

/// `retry_mode`. `legacy` is accepted, as the SDKs do, and behaves as `standard` here: the
/// program has one backoff, the standard one.
public enum RetryMode: String, Sendable, CaseIterable {
    case legacy, standard, adaptive
}

/// `sts_regional_endpoints`: `legacy` sends the old global regions to `sts.amazonaws.com`.
public enum STSEndpointsMode: String, Sendable, CaseIterable {
    case legacy, regional
}

/// `ec2_metadata_service_endpoint_mode` (case-insensitive, as botocore reads it).
public enum IMDSEndpointMode: String, Sendable, CaseIterable {
    case ipv4 = "ipv4", ipv6 = "ipv6"
}

/// A configuration that cannot be used: a malformed shared file or setting (exit 2), or a
/// profile that was asked for and is defined nowhere (exit 3, as the SDKs' `ProfileNotFound`).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable { case file, setting, profileNotFound }
    private let code: Code
    public let description: String

    private init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    public static func file(_ error: SharedConfigError) -> ConfigurationError { ConfigurationError(.file, error.description) }

    /// `value` is quoted only for settings that are never secret.
    public static func setting(_ source: ConfigSource, _ value: String, expected: String) -> ConfigurationError {
        let shown = value.count > 40 ? String(value.prefix(40)) + "…" : value
        return ConfigurationError(.setting, "\(source) is \"\(ControlCharacters.escape(shown))\": expected \(expected)")
    }

    public static func invalid(_ description: String) -> ConfigurationError { ConfigurationError(.setting, description) }

    public static func profileNotFound(_ name: String, source: ConfigSource, files: [String]) -> ConfigurationError {
        ConfigurationError(.profileNotFound, "profile \"\(name)\" (from \(source)) is not defined in \(files.joined(separator: " or "))")
    }

    /// The SDKs' `ProfileNotFound`: exit 3, with the credential failures.
    public var isProfileNotFound: Bool { code == .profileNotFound }
}
