import Foundation

/// The sources botocore reads from one profile, in its order: web identity, SSO, the shared
/// credentials file, `credential_process`, static keys in the config file. The same list
/// serves the selected profile and an assume-role `source_profile` (then without the
/// environment's web-identity variables, as botocore's `disable_env_vars`).
enum ProfileCredentialProviders {
    static func chain(settings: CredentialSettings, profile: String, environmentVariables: Bool) -> [any CredentialProvider] {
        [
            WebIdentityCredentialProvider(settings: settings, profile: profile, environmentVariables: environmentVariables),
            SSOCredentialProvider(settings: settings, profile: profile),
            StaticProfileCredentialProvider(file: .credentials, section: settings.configuration.credentialsProfiles[profile], profile: profile),
            ProcessCredentialProvider(settings: settings, profile: profile),
            StaticProfileCredentialProvider(file: .config, section: settings.configuration.configProfiles[profile], profile: profile),
        ]
    }
}

extension ConfigSection {
    /// Whether the key is present at all, as a plain value or as a nested sub-section
    /// (botocore's `key in profile`).
    func has(_ key: String) -> Bool { settings[key] != nil || subsections[key] != nil }
}

/// `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token` of one profile in one
/// of the two shared files (botocore's `SharedCredentialProvider` and `ConfigProvider`: each
/// reads its own file only). A key id without a secret is the operator's mistake (exit 2).
struct StaticProfileCredentialProvider: CredentialProvider {
    enum File: Sendable {
        case credentials, config
        var name: String { self == .credentials ? "shared credentials file" : "config file" }
    }

    let file: File
    let section: ConfigSection?
    let profile: String

    func credentials() throws -> Credentials? {
        guard let section, section.has("aws_access_key_id") else { return nil }
        return try Self.keys(section, profile: profile, source: "\(file.name) (profile \(profile))")
    }

    /// The keys of a section that has `aws_access_key_id`.
    static func keys(_ section: ConfigSection, profile: String, source: String) throws(CredentialError) -> Credentials {
        guard let key = section["aws_access_key_id"] else {
            throw .invalidConfiguration("profile \(profile): aws_access_key_id is not a plain value")
        }
        guard let secret = section["aws_secret_access_key"] else {
            throw .invalidConfiguration("profile \(profile) has aws_access_key_id but no aws_secret_access_key (\(source))")
        }
        return Credentials(accessKeyId: key, secretAccessKey: secret,
                           sessionToken: (section["aws_security_token"] ?? section["aws_session_token"]).flatMap { $0.isEmpty ? nil : $0 }, source: source)
    }
}
