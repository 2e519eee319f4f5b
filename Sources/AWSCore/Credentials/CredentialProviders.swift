import Foundation
import Synchronization

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (or the older
/// `AWS_SECURITY_TOKEN`) and `AWS_CREDENTIAL_EXPIRATION`, as botocore's `EnvProvider` reads
/// them: no key id is "not configured" (even with a secret set); a key id without a secret is
/// the operator's mistake (exit 2).
public struct EnvironmentCredentialProvider: CredentialProvider {
    public let environment: Environment

    public init(environment: Environment) {
        self.environment = environment
    }

    public func credentials() throws -> Credentials? {
        guard let key = environment["AWS_ACCESS_KEY_ID"] else { return nil }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"] else {
            throw CredentialError.invalidConfiguration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        var expiration: Date?
        if let text = environment["AWS_CREDENTIAL_EXPIRATION"] {
            guard let date = UTCTime.parse(text) else {
                throw CredentialError.invalidConfiguration("AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time")
            }
            expiration = date
        }
        return Credentials(accessKeyId: key, secretAccessKey: secret,
                           sessionToken: environment["AWS_SECURITY_TOKEN"] ?? environment["AWS_SESSION_TOKEN"],
                           expiration: expiration, source: "environment")
    }
}

/// The instance role's temporary credentials from IMDSv2, through one shared
/// `CachingCredentialProvider`: refreshed five minutes before they expire (so a long run
/// keeps working across the hourly rotation), once for all workers, and kept for the run
/// when IMDS gives no `Expiration`.
public final class IMDSCredentialProvider: CredentialProvider {
    private let cache: CachingCredentialProvider

    public init(imds: IMDSClient, refreshMargin: TimeInterval = CachingCredentialProvider.defaultRefreshMargin) {
        cache = CachingCredentialProvider(Fetcher(imds: imds), refreshMargin: refreshMargin)
    }

    public func credentials() throws -> Credentials? {
        try cache.credentials()
    }

    /// One uncached read of the role's credentials.
    private struct Fetcher: CredentialProvider {
        let imds: IMDSClient

        func credentials() throws -> Credentials? {
            let roles = try read("meta-data/iam/security-credentials/")
            guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
                throw CredentialError.unavailable("no IAM role is attached to this instance (IMDS lists no role)")
            }
            let body = try read("meta-data/iam/security-credentials/" + role)
            return try Self.decode(body, role: role)
        }

        private func read(_ path: String) throws(CredentialError) -> String {
            do {
                return try imds.get(path)
            } catch where error.isNotFound && path.hasSuffix("/") {
                throw .unavailable("no IAM role is attached to this instance (IMDS has no security-credentials)")
            } catch where error.isCancelled {
                throw .cancelled(error.description)
            } catch {
                throw .unavailable(error.description)
            }
        }

        /// The credentials document, read with the project's total JSON parser.
        static func decode(_ body: String, role: String) throws(CredentialError) -> Credentials {
            guard let object = try? JSONValue.parse(Array(body.utf8)), case .object = object else {
                throw .unavailable("IMDS returned unreadable credentials for role \(role)")
            }
            let code = object["Code"]?.stringValue ?? "missing"
            guard code == "Success" else {
                let message = object["Message"]?.stringValue.map { ": \($0)" } ?? ""
                throw .unavailable("IMDS could not provide credentials for role \(role): Code \(code)\(message)")
            }
            guard let key = object["AccessKeyId"]?.stringValue, let secret = object["SecretAccessKey"]?.stringValue else {
                throw .unavailable("IMDS credentials for role \(role) lack AccessKeyId or SecretAccessKey")
            }
            return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["Token"]?.stringValue,
                               expiration: object["Expiration"]?.stringValue.flatMap(UTCTime.parse), source: "instance metadata (role \(role))")
        }
    }
}
