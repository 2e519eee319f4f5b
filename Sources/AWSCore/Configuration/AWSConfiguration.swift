/// Everything the AWS SDKs' configuration resolves for one run, built once: the environment,
/// the shared files, the selected profile, and every setting with where it came from.
/// Precedence is the SDKs': flag > environment > profile > default. The credential chain,
/// the endpoint resolver, the retry policy, the HTTP and IMDS clients all read this one value,
/// so no two parts of a run can disagree about the profile or the region.
public struct AWSConfiguration: Sendable {
    /// What the command line sets (nil/empty: not given).
    public struct Overrides: Sendable {
        public var profile: String?
        /// `--region`, already split and checked; its first entry is the home region.
        public var regions: [String]
        public var maxAttempts: Int?

        public init(profile: String? = nil, regions: [String] = [], maxAttempts: Int? = nil) {
            self.profile = profile
            self.regions = regions
            self.maxAttempts = maxAttempts
        }
    }

    public let environment: Environment
    public let shared: SharedConfiguration
    /// The selected profile's name and what selected it (`--profile`, `AWS_DEFAULT_PROFILE`,
    /// `AWS_PROFILE`, or the default `default`).
    public let profileName: Setting<String>
    /// The profile as botocore's `scoped_config` sees it: config file section updated by the
    /// credentials file's section. Empty when neither file defines it (only for `default`).
    public let profile: ConfigSection
    /// True when either file defines the selected profile.
    public let profileExists: Bool

    /// nil: not configured anywhere; the region then comes from IMDS (`RegionResolver`).
    public internal(set) var region: Setting<String>?
    public internal(set) var maxAttempts: Setting<Int>
    public internal(set) var retryMode: Setting<RetryMode>
    public internal(set) var caBundle: Setting<String>?
    public internal(set) var useFIPSEndpoint: Setting<Bool>
    public internal(set) var useDualStackEndpoint: Setting<Bool>
    public internal(set) var stsRegionalEndpoints: Setting<STSEndpointsMode>
    public internal(set) var ignoreConfiguredEndpointURLs: Setting<Bool>
    public internal(set) var imdsEndpoint: Setting<String>?
    public internal(set) var imdsEndpointMode: Setting<IMDSEndpointMode>
    public internal(set) var imdsTimeoutSeconds: Setting<Double>
    public internal(set) var imdsAttempts: Setting<Int>
    /// Lines worth a warning on stderr (both profile variables set and different, an
    /// unreadable shared file).
    public internal(set) var warnings: [String] = []

    public static let maxAttemptsRange = 1...100
    public static let defaultMaxAttempts = 3

    /// Reads the shared files named by `environment` and resolves every setting. Throws on a
    /// malformed file or setting, and on a profile that was asked for and exists nowhere.
    public static func resolve(environment: Environment, overrides: Overrides = Overrides()) throws(ConfigurationError) -> AWSConfiguration {
        let (shared, warnings): (SharedConfiguration, [String])
        do {
            (shared, warnings) = try SharedConfiguration.load(environment: environment)
        } catch {
            throw .file(error)
        }
        return try resolve(environment: environment, shared: shared, overrides: overrides, warnings: warnings)
    }

    /// The same, over shared files already read (tests, and callers that read them once).
    public static func resolve(environment: Environment, shared: SharedConfiguration, overrides: Overrides = Overrides(),
                               warnings: [String] = []) throws(ConfigurationError) -> AWSConfiguration {
        var allWarnings = warnings
        let name = selectProfile(environment: environment, flag: overrides.profile, warnings: &allWarnings)
        let section = shared.profile(name.value)
        // botocore's get_scoped_config: the profile nobody named may be absent; one named by
        // the flag or the environment must exist, `default` too.
        if section == nil, !name.source.isDefault {
            throw .profileNotFound(name.value, source: name.source, files: [shared.configPath, shared.credentialsPath])
        }
        var reader = SettingReader(environment: environment, profileName: name.value, profile: section ?? ConfigSection())
        var configuration = try AWSConfiguration(environment: environment, shared: shared, profileName: name, profile: section ?? ConfigSection(),
                                             profileExists: section != nil, reader: &reader, overrides: overrides)
        configuration.warnings = allWarnings
        return configuration
    }

    private init(environment: Environment, shared: SharedConfiguration, profileName: Setting<String>, profile: ConfigSection,
                 profileExists: Bool, reader: inout SettingReader, overrides: Overrides) throws(ConfigurationError) {
        self.environment = environment
        self.shared = shared
        self.profileName = profileName
        self.profile = profile
        self.profileExists = profileExists
        if let first = overrides.regions.first {
            region = Setting(first, .flag("--region"))
        } else {
            region = try reader.region()
        }
        if let flag = overrides.maxAttempts {
            maxAttempts = Setting(flag, .flag("--max-attempts"))
        } else {
            maxAttempts = try reader.integer(env: "AWS_MAX_ATTEMPTS", key: "max_attempts", range: Self.maxAttemptsRange, default: Self.defaultMaxAttempts)
        }
        retryMode = try reader.choice(env: "AWS_RETRY_MODE", key: "retry_mode", default: .standard, caseSensitive: true)
        caBundle = reader.string(env: "AWS_CA_BUNDLE", key: "ca_bundle")
        useFIPSEndpoint = try reader.boolean(env: "AWS_USE_FIPS_ENDPOINT", key: "use_fips_endpoint")
        useDualStackEndpoint = try reader.boolean(env: "AWS_USE_DUALSTACK_ENDPOINT", key: "use_dualstack_endpoint")
        stsRegionalEndpoints = try reader.choice(env: "AWS_STS_REGIONAL_ENDPOINTS", key: "sts_regional_endpoints", default: .regional, caseSensitive: true)
        ignoreConfiguredEndpointURLs = try reader.boolean(env: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", key: "ignore_configured_endpoint_urls")
        imdsEndpoint = try reader.imdsEndpoint()
        imdsEndpointMode = try reader.choice(env: "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", key: "ec2_metadata_service_endpoint_mode",
                                             default: .ipv4, caseSensitive: false)
        imdsTimeoutSeconds = try reader.seconds(env: "AWS_METADATA_SERVICE_TIMEOUT", key: "metadata_service_timeout", default: 1)
        imdsAttempts = try reader.integer(env: "AWS_METADATA_SERVICE_NUM_ATTEMPTS", key: "metadata_service_num_attempts", range: 1...10, default: 3)
    }

    /// botocore's order: `AWS_DEFAULT_PROFILE`, then `AWS_PROFILE`; a warning when both are
    /// set and differ (the AWS CLI silently takes the first, which surprises people).
    static func selectProfile(environment: Environment, flag: String?, warnings: inout [String]) -> Setting<String> {
        if let flag { return Setting(flag, .flag("--profile")) }
        // Set but empty counts as set, as in botocore: the profile "" then does not exist.
        let defaultProfile = environment.values["AWS_DEFAULT_PROFILE"]
        let profile = environment.values["AWS_PROFILE"]
        if let defaultProfile, let profile, defaultProfile != profile {
            warnings.append("AWS_DEFAULT_PROFILE (\(defaultProfile)) and AWS_PROFILE (\(profile)) differ; using AWS_DEFAULT_PROFILE, as the AWS CLI does")
        }
        if let defaultProfile { return Setting(defaultProfile, .environment("AWS_DEFAULT_PROFILE")) }
        if let profile { return Setting(profile, .environment("AWS_PROFILE")) }
        return Setting("default", .defaultValue)
    }

    /// The IMDS client's configuration from these settings.
    public var imdsConfiguration: IMDSClient.Configuration {
        var c = IMDSClient.Configuration()
        if let endpoint = imdsEndpoint?.value {
            c.endpoint = endpoint
        } else if imdsEndpointMode.value == .ipv6 {
            c.endpoint = IMDSClient.Configuration.ipv6Endpoint
        }
        c.timeout = .milliseconds(Int((imdsTimeoutSeconds.value * 1000).rounded()))
        c.maxAttempts = imdsAttempts.value
        return c
    }

    /// The HTTP client's configuration (the CA bundle).
    public var httpConfiguration: HTTPClient.Configuration {
        HTTPClient.Configuration(caBundle: caBundle?.value, caBundleSource: caBundle.map { "\($0.source)" })
    }

    /// The retry policy from `max_attempts` and `retry_mode`.
    public var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts.value, mode: retryMode.value)
    }
}
