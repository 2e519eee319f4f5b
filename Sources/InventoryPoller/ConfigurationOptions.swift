@_spi(Bytes) import AWSCore
import ArgumentParser
import CloudInventory
import Logging

/// The AWS SDKs' configuration flags of a poll (`--profile`). Everything else the SDKs read
/// comes from the environment and the shared files: see `AWSConfiguration`.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Profile of ~/.aws/config and ~/.aws/credentials to use (else AWS_DEFAULT_PROFILE, AWS_PROFILE, default).",
                                            valueName: "name"),
            completion: .custom { _, _, prefix in ProfileNames.all(environment: .process).filter { $0.hasPrefix(prefix) } })
    var profile: String?

    func validate() throws {
        if let profile, profile.isEmpty { throw ValidationError("--profile must not be empty") }
    }
}

extension InventoryPollerCommand {
    /// The run's AWS configuration: the shared files read once, the profile selected, every
    /// setting resolved with its source. Warnings (both profile variables set and different,
    /// an unreadable file) go to the log.
    func resolveConfiguration(environment: Environment, logger: Logger) throws(ConfigurationError) -> AWSConfiguration {
        let regions = (try? RegionResolver.explicit(region)) ?? []
        let configuration = try AWSConfiguration.resolve(
            environment: environment,
            overrides: .init(profile: awsOptions.profile, regions: regions, maxAttempts: maxAttempts))
        for warning in configuration.warnings { logger.warning("\(warning)") }
        return configuration
    }

    /// The endpoints a run in `region` will use, checked before any network call (a
    /// malformed endpoint URL or a missing `[services]` section is exit 2).
    /// With `--org-role`, Organizations too, in its partition's home region.
    func plannedEndpoints(_ configuration: AWSConfiguration, region: String) throws(ConfigurationError) -> [ServiceEndpoint] {
        var endpoints = try ["ec2", "sts"].map { service throws(ConfigurationError) in try configuration.endpoint(service: service, region: region) }
        if organization.orgRole != nil {
            let home = OrganizationsClient.homeRegion(partition: RegionName.partition(region))
            endpoints.append(try configuration.endpoint(service: "organizations", region: home))
        }
        return endpoints
    }

    /// The one info line at the start of a run, and `--check`'s detail: profile, region and
    /// endpoints with where each came from.
    static func describe(_ configuration: AWSConfiguration, regionSource: ConfigSource, endpoints: [ServiceEndpoint]) -> Logger.Metadata {
        let profile = configuration.profileName
        var metadata: Logger.Metadata = [
            "profile": "\(profile.value) (\(profile.source)\(configuration.profileExists ? "" : ", not in the shared files"))",
            "region_from": "\(regionSource)",
            "retry": "\(configuration.retryMode.value), \(configuration.maxAttempts.value) attempts",
        ]
        for endpoint in endpoints { metadata[endpoint.service] = "\(endpoint.host) (\(endpoint.source))" }
        return metadata
    }
}
