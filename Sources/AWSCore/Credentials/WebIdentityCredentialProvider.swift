import Foundation
import Synchronization

/// STS AssumeRoleWithWebIdentity with a token read from a file, as botocore's
/// `AssumeRoleWithWebIdentityProvider`: `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and
/// `AWS_ROLE_SESSION_NAME` from the environment (each one first, when allowed), else the
/// profile's `web_identity_token_file`, `role_arn`, `role_session_name`. No token file is
/// "not configured"; a token file without a role is a configuration error.
///
/// The request is not signed: the token is the proof. The token file is read again at each
/// refresh (EKS rotates it), and at most 64 KiB of it.
final class WebIdentityCredentialProvider: CredentialProvider {
    static let maxTokenBytes = 64 << 10
    private static let variables = ["web_identity_token_file": "AWS_WEB_IDENTITY_TOKEN_FILE",
                                    "role_arn": "AWS_ROLE_ARN", "role_session_name": "AWS_ROLE_SESSION_NAME"]

    private let settings: CredentialSettings
    private let profile: String
    private let environmentVariables: Bool
    private let cache = SourceCache()

    init(settings: CredentialSettings, profile: String, environmentVariables: Bool) {
        self.settings = settings
        self.profile = profile
        self.environmentVariables = environmentVariables
    }

    /// The environment's value when allowed and present (even empty, as botocore), else the profile's.
    private func setting(_ key: String) -> (value: String, fromEnvironment: Bool)? {
        if environmentVariables, let name = Self.variables[key], let value = settings.environment.values[name] {
            return (value, true)
        }
        return settings.profileSection(profile)?[key].map { ($0, false) }
    }

    func credentials() throws -> Credentials? {
        try cache.credentials { () throws -> (any CredentialProvider)? in
            guard let (tokenFile, fromEnvironment) = setting("web_identity_token_file"), !tokenFile.isEmpty else { return nil }
            guard let roleArn = setting("role_arn")?.value, !roleArn.isEmpty else {
                throw CredentialError.invalidConfiguration("web identity is configured (\(fromEnvironment ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "profile \(profile)")) "
                    + "but no role ARN: set the profile's role_arn or AWS_ROLE_ARN")
            }
            let request = STSClient.RoleRequest(roleArn: roleArn, sessionName: setting("role_session_name")?.value ?? STSClient.defaultSessionName())
            let source = fromEnvironment ? "web identity (environment)" : "web identity (profile \(profile))"
            return Fetcher(settings: settings, request: request, tokenFile: tokenFile, source: source)
        }
    }

    private struct Fetcher: CredentialProvider {
        let settings: CredentialSettings
        let request: STSClient.RoleRequest
        let tokenFile: String
        let source: String

        func credentials() throws -> Credentials? {
            let token = try TokenFile.read(tokenFile, limit: WebIdentityCredentialProvider.maxTokenBytes, what: "web identity token file")
            let endpoint = try settings.endpoint("sts", settings.stsRegion)
            do {
                return try STSClient.assumeRoleWithWebIdentity(request, token: token, endpoint: endpoint,
                                                               http: settings.http, source: source)
            } catch where error.isCancelled {
                throw CredentialError.cancelled("web identity: interrupted, the run is stopping")
            } catch {
                throw CredentialError.unavailable("web identity: cannot assume role \(request.roleArn): \(error)")
            }
        }
    }
}

/// Small secret files (web identity tokens, container authorization tokens, the SSO cache):
/// read whole, with a cap, never blocking (a FIFO or device is refused: `SafeFile`), and never
/// quoted in an error.
enum TokenFile {
    static func read(_ path: String, limit: Int, what: String) throws(CredentialError) -> String {
        guard let text = try readIfPresent(path, limit: limit, what: what) else {
            throw .unavailable("\(what) \(path) does not exist")
        }
        return text
    }

    /// `read`, but nil when the file does not exist (the SSO cache before any login).
    static func readIfPresent(_ path: String, limit: Int, what: String) throws(CredentialError) -> String? {
        let data: [UInt8]
        do {
            data = try SafeFile.read(path, maximumBytes: limit)
        } catch {
            if error.isMissing { return nil }
            throw .unavailable("\(what) \(error)")
        }
        guard let text = String(validating: data, as: UTF8.self) else { throw .unavailable("\(what) \(path) is not UTF-8 text") }
        return text
    }
}
