import CloudInventory
import Foundation

extension InventoryPollerCommand {
    /// The run's credential chain, botocore's order, over the shared files and the selected
    /// profile. A malformed shared file is a usage error (exit 2).
    ///
    /// Until the command resolves one `AWSConfiguration` for the whole run, the profile is
    /// `AWS_DEFAULT_PROFILE` > `AWS_PROFILE` > `default`, and STS's region is the first
    /// `--region`, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, the instance's region.
    func credentialChain(_ context: RunEnvironment) throws -> CredentialChain {
        let environment = context.environment
        let shared: SharedConfiguration
        do {
            shared = try SharedConfiguration.load(environment: environment).0
        } catch {
            throw UsageError("\(error)")
        }
        let profile = environment["AWS_DEFAULT_PROFILE"] ?? environment["AWS_PROFILE"] ?? "default"
        let flagRegion = region.lazy.flatMap { $0.split(separator: ",") }.first.map(String.init)
        let stsRegion = flagRegion ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? shared.profile(profile)?["region"]
        let imds = context.imds
        let settings = CredentialSettings(environment: environment, configuration: shared, profile: profile, region: stsRegion,
                                          regionFallback: { try? RegionResolver.resolve(explicit: [], environment: environment, imds: imds).first },
                                          imds: context.imds, http: context.http, logger: context.logger, run: context.run)
        return CredentialChain.standard(settings)
    }
}
