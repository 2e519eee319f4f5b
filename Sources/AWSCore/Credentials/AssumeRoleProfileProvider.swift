import Foundation
import Synchronization

/// A profile with `role_arn` (and no `web_identity_token_file`): STS AssumeRole with the
/// credentials of its `source_profile` or of its `credential_source`, as botocore's
/// `AssumeRoleProvider` does.
///
/// - `source_profile` chains: a source that itself has `role_arn` (and no static keys) is
///   assumed first. A profile seen twice is a cycle and refused, except a profile naming
///   itself that has static keys (botocore's one allowed loop). Any other source profile is
///   read through the profile's own sources (web identity, SSO, files, process) without the
///   environment's variables.
/// - `credential_source` is `Environment`, `Ec2InstanceMetadata` or `EcsContainer`.
/// - `external_id`, `role_session_name` (default `botocore-session-<unix time>`) and
///   `duration_seconds` (ignored when not an integer) go into the AssumeRole call;
///   `mfa_serial` is refused (botocore would prompt for a code on the terminal).
///
/// The plan is resolved once, at the first call; the assumed credentials are cached and
/// refreshed by one `CachingCredentialProvider`. Every failure is a `CredentialError`:
/// a configured role that cannot be had never falls through to the next source.
final class AssumeRoleProfileProvider: CredentialProvider {
    static let credentialSources = ["Environment", "Ec2InstanceMetadata", "EcsContainer"]

    private let settings: CredentialSettings
    private let profile: String
    private let plan = Mutex<(any CredentialProvider)?>(nil)

    init(settings: CredentialSettings, profile: String) {
        self.settings = settings
        self.profile = profile
    }

    static func isAssumeRole(_ section: ConfigSection) -> Bool {
        section.has("role_arn") && !section.has("web_identity_token_file")
    }

    static func hasStaticKeys(_ section: ConfigSection) -> Bool {
        section.has("aws_access_key_id") || section.has("aws_secret_access_key")
    }

    func credentials() throws -> Credentials? {
        guard let section = settings.profileSection(profile), Self.isAssumeRole(section) else { return nil }
        let provider: any CredentialProvider
        if let planned = plan.withLock({ $0 }) {
            provider = planned
        } else {
            var visited = [profile]
            provider = try resolve(profile, visited: &visited)
            plan.withLock { $0 = provider }
        }
        return try provider.credentials()
    }

    /// The cached assume-role source for `name`, validating its settings as botocore does.
    private func resolve(_ name: String, visited: inout [String]) throws -> any CredentialProvider {
        let section = settings.profileSection(name) ?? ConfigSection()
        guard let roleArn = section["role_arn"] else {
            throw CredentialError.invalidConfiguration("profile \(name): role_arn is not a plain value")
        }
        // botocore prompts for the code on the terminal; an unattended run has no one to ask.
        if section.has("mfa_serial") {
            throw CredentialError.unavailable("profile \(name) requires an MFA code (mfa_serial), which an unattended run cannot prompt for")
        }
        let sourceProfile = section["source_profile"]
        let credentialSource = section["credential_source"]
        let source: any CredentialProvider
        let description: String
        switch (sourceProfile, credentialSource) {
        case (_?, _?):
            throw CredentialError.invalidConfiguration("profile \(name) has both source_profile and credential_source")
        case (nil, nil):
            throw CredentialError.invalidConfiguration("profile \(name) has role_arn but neither source_profile nor credential_source")
        case let (nil, named?):
            source = try namedSource(named, profile: name)
            description = "assume-role via \(Self.words(named)) (profile \(name))"
        case let (base?, nil):
            source = try sourceProfileProvider(base, parent: name, visited: &visited)
            description = "assume-role (profile \(name), source profile \(base))"
        }
        let request = STSClient.RoleRequest(
            roleArn: roleArn, sessionName: section["role_session_name"] ?? STSClient.defaultSessionName(),
            externalId: section["external_id"], durationSeconds: section["duration_seconds"].flatMap(Self.pythonInt))
        return CachingCredentialProvider(Fetcher(sts: try settings.sts(credentials: source), request: request,
                                                 profile: name, description: description))
    }

    /// The source profile's credentials: its own assume-role, or its other sources.
    private func sourceProfileProvider(_ base: String, parent: String, visited: inout [String]) throws -> any CredentialProvider {
        guard let section = settings.profileSection(base) else {
            throw CredentialError.unavailable("the source_profile \"\(base)\" referenced in profile \(parent) does not exist")
        }
        if visited.contains(base), base != parent || !Self.hasStaticKeys(section) {
            throw CredentialError.unavailable("source_profile cycle: " + (visited + [base]).joined(separator: " -> "))
        }
        visited.append(base)
        if Self.hasStaticKeys(section) || !Self.isAssumeRole(section) {
            let chain = ProfileCredentialProviders.chain(settings: settings, profile: base, environmentVariables: false)
            return SourceProfileCredentials(chain: CredentialChain(chain), profile: base)
        }
        return try resolve(base, visited: &visited)
    }

    /// `credential_source`: only the three botocore knows.
    private func namedSource(_ name: String, profile: String) throws -> any CredentialProvider {
        switch name {
        case "Environment":
            return NamedSource(provider: EnvironmentCredentialProvider(environment: settings.environment), name: name, profile: profile)
        case "Ec2InstanceMetadata":
            guard let imds = settings.imds else {
                throw CredentialError.unavailable("profile \(profile): credential_source Ec2InstanceMetadata, but instance metadata is not available")
            }
            return NamedSource(provider: IMDSCredentialProvider(imds: imds), name: name, profile: profile)
        case "EcsContainer":
            return NamedSource(provider: ContainerCredentialProvider(settings: settings), name: name, profile: profile)
        default:
            throw CredentialError.invalidConfiguration("profile \(profile): credential_source \"\(name.prefix(64))\" is not one of "
                + Self.credentialSources.joined(separator: ", "))
        }
    }

    static func words(_ credentialSource: String) -> String {
        switch credentialSource {
        case "Environment": return "environment"
        case "Ec2InstanceMetadata": return "instance metadata"
        default: return "container"
        }
    }

    /// Python's `int(text)` for the values a config file holds: optional sign, digits, blanks.
    static func pythonInt(_ text: String) -> Int? {
        Int(text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: ""))
    }

    /// One AssumeRole call with the source's current credentials.
    private struct Fetcher: CredentialProvider {
        let sts: STSClient
        let request: STSClient.RoleRequest
        let profile: String
        let description: String

        func credentials() throws -> Credentials? {
            do {
                return try sts.assumeRole(request, source: description)
            } catch where error.isCancelled {
                throw CredentialError.cancelled("assume-role for profile \(profile) interrupted: the run is stopping")
            } catch {
                throw CredentialError.unavailable("profile \(profile): cannot assume role \(request.roleArn): \(error)")
            }
        }
    }
}

/// A `credential_source`: it must deliver, or the profile fails.
private struct NamedSource: CredentialProvider {
    let provider: any CredentialProvider
    let name: String
    let profile: String

    func credentials() throws -> Credentials? {
        guard let c = try provider.credentials() else {
            throw CredentialError.unavailable("no credentials found in credential_source \(name) referenced in profile \(profile)")
        }
        return c
    }
}

/// A `source_profile`'s own sources: it must have credentials, or the profile fails.
private struct SourceProfileCredentials: CredentialProvider {
    let chain: CredentialChain
    let profile: String

    func credentials() throws -> Credentials? {
        for provider in chain.providers {
            if let c = try provider.credentials() { return c }
        }
        throw CredentialError.unavailable("the source profile \"\(profile)\" must have credentials")
    }
}
