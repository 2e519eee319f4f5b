import Foundation
import Logging
import Synchronization

/// What the credential chain reads: the environment, the shared files, the selected profile,
/// and the clients its sources talk through. Built once per run by the command.
public struct CredentialSettings: Sendable {
    public var environment: Environment
    public var configuration: SharedConfiguration
    /// The selected profile (`--profile` > `AWS_DEFAULT_PROFILE` > `AWS_PROFILE` > `default`).
    public var profile: String
    /// True when the profile was named on the command line: botocore then skips the
    /// environment's keys and web-identity variables (a session's explicit profile).
    public var profileIsExplicit: Bool
    /// The region STS is called in for assume-role and web identity (botocore: the region of
    /// the run's first client). When nil, `regionFallback` is asked at the first STS call
    /// (the command gives the instance's region from IMDS there); then `us-east-1`.
    public var region: String?
    public var regionFallback: (@Sendable () -> String?)?
    public var imds: IMDSClient?
    public var http: HTTPClient
    /// Where a service lives for a region (`sts`, `sso`), with the operator's overrides.
    public var endpoints: @Sendable (_ service: String, _ region: String) throws -> ServiceEndpoint
    public var logger: Logger
    public var run: RunContext
    /// `~/.aws/sso/cache`, where `aws sso login` leaves its tokens.
    public var ssoCacheDirectory: String

    public init(environment: Environment, configuration: SharedConfiguration, profile: String, profileIsExplicit: Bool = false,
                region: String? = nil, regionFallback: (@Sendable () -> String?)? = nil, imds: IMDSClient?, http: HTTPClient,
                endpoints: (@Sendable (String, String) throws -> ServiceEndpoint)? = nil, logger: Logger, run: RunContext = RunContext()) {
        self.environment = environment
        self.configuration = configuration
        self.profile = profile
        self.profileIsExplicit = profileIsExplicit
        self.region = region
        self.regionFallback = regionFallback
        self.imds = imds
        self.http = http
        // Without the run's configuration: the environment's overrides, then botocore's rules.
        self.endpoints = endpoints ?? { service, region in ServiceEndpoint.resolve(service: service, region: region, environment: environment) }
        self.logger = logger
        self.run = run
        self.ssoCacheDirectory = SharedConfiguration.path("~/.aws/sso/cache", environment: environment)
    }

    /// The profile as botocore's `full_config` has it (config file updated by credentials file).
    func profileSection(_ name: String) -> ConfigSection? { configuration.profile(name) }

    /// The endpoint of `service`; a resolver's failure is the operator's setting (exit 2).
    func endpoint(_ service: String, _ region: String) throws(CredentialError) -> ServiceEndpoint {
        do {
            return try endpoints(service, region)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
    }

    /// STS's region for assume-role and web identity: the run's, else botocore's `us-east-1`.
    var stsRegion: String { region ?? regionFallback?() ?? "us-east-1" }

    /// An STS client signing with `credentials`, in `stsRegion`.
    func sts(credentials: any CredentialProvider) throws(CredentialError) -> STSClient {
        STSClient(query: AWSQueryClient(endpoint: try endpoint("sts", stsRegion), configuration: .init(apiVersion: STSClient.apiVersion),
                                        credentials: credentials, http: http, logger: logger, run: run))
    }
}

/// botocore's default credential chain, in its order:
/// environment keys, an assume-role profile, web identity, SSO, the shared credentials file,
/// `credential_process`, static keys in the config file, container credentials, IMDS.
///
/// The first source that is configured wins; a configured source that fails is an error,
/// never a fall-through to the next (a broken `credential_process` must not silently turn
/// into the instance role). A profile with no credential settings at all goes on down.
public final class CredentialChain: CredentialProvider {
    public let providers: [any CredentialProvider]
    private let resolved = Mutex<(any CredentialProvider)?>(nil)

    public init(_ providers: [any CredentialProvider]) {
        self.providers = providers
    }

    /// The keys that make a profile a credential source of its own (static keys, a role,
    /// web identity, SSO, a process). A profile with none of them goes on down the chain.
    public static let profileCredentialKeys = ["aws_access_key_id", "role_arn", "web_identity_token_file",
                                               "sso_session", "sso_start_url", "credential_process"]

    /// Whether `section` names a credential source (see `profileCredentialKeys`).
    public static func hasCredentialSettings(_ section: ConfigSection) -> Bool {
        profileCredentialKeys.contains { section.has($0) }
    }

    /// The chain botocore builds for `settings`. IMDS is left out when
    /// `AWS_EC2_METADATA_DISABLED=true`.
    public static func standard(_ settings: CredentialSettings) -> CredentialChain {
        var providers: [any CredentialProvider] = []
        if !settings.profileIsExplicit { providers.append(EnvironmentCredentialProvider(environment: settings.environment)) }
        providers.append(AssumeRoleProfileProvider(settings: settings, profile: settings.profile))
        providers += ProfileCredentialProviders.chain(settings: settings, profile: settings.profile,
                                                      environmentVariables: !settings.profileIsExplicit)
        providers.append(ContainerCredentialProvider(settings: settings))
        if let imds = settings.imds, !settings.environment.isTrue("AWS_EC2_METADATA_DISABLED") {
            providers.append(IMDSCredentialProvider(imds: imds))
        }
        return CredentialChain(providers)
    }

    /// The host's chain without shared files or a profile: environment, container, IMDS.
    public static func standard(environment: Environment, imds: IMDSClient?) -> CredentialChain {
        var providers: [any CredentialProvider] = [EnvironmentCredentialProvider(environment: environment)]
        if let imds, !environment.isTrue("AWS_EC2_METADATA_DISABLED") {
            providers.append(IMDSCredentialProvider(imds: imds))
        }
        return CredentialChain(providers)
    }

    public func credentials() throws -> Credentials? {
        if let p = resolved.withLock({ $0 }) { return try p.credentials()?.validated() }
        for provider in providers {
            if let c = try provider.credentials() {
                resolved.withLock { $0 = provider }
                return try c.validated()
            }
        }
        throw CredentialError.unavailable("no credentials found: none of the environment, the profile's settings, "
            + "the shared files, the container endpoint or the instance role provided any")
    }
}
