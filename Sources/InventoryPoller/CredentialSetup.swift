import AWSCore
import CloudInventory
import Foundation

extension InventoryPollerCommand {
    /// The run's credential chain, botocore's order, over the run's one `AWSConfiguration`:
    /// its profile (a `--profile` flag is botocore's explicit profile, which turns the
    /// environment's keys and web identity off), its endpoints for STS and the SSO portal,
    /// and its region for STS (else the instance's region, asked only when STS is called).
    func credentialChain(_ context: RunEnvironment) throws -> CredentialChain {
        let configuration = context.configuration
        let imds = context.imds
        let settings = CredentialSettings(
            environment: configuration.environment, configuration: configuration.shared,
            profile: configuration.profileName.value, profileIsExplicit: configuration.profileName.source.isFlag,
            region: configuration.region?.value,
            regionFallback: { try? RegionResolver.resolve(explicit: [], configuration: configuration, imds: imds).regions.first },
            imds: imds, http: context.http,
            endpoints: { service, region in try configuration.endpoint(service: service, region: region) },
            logger: context.logger, run: context.run)
        return CredentialChain.standard(settings)
    }
}
