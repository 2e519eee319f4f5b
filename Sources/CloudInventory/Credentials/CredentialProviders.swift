import Foundation
import Synchronization

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optional `AWS_SESSION_TOKEN`, as the SDKs
/// read them. For operator runs; hosts use the instance role.
public struct EnvironmentCredentialProvider: CredentialProvider {
    public let environment: Environment

    public init(environment: Environment) {
        self.environment = environment
    }

    public func credentials() throws -> Credentials? {
        let key = environment["AWS_ACCESS_KEY_ID"]
        let secret = environment["AWS_SECRET_ACCESS_KEY"]
        switch (key, secret) {
        case (nil, nil):
            return nil
        case let (key?, secret?):
            return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"], source: "environment")
        case (_?, nil):
            throw CredentialError.invalidConfiguration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, _?):
            throw CredentialError.invalidConfiguration("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        }
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
                               expiration: object["Expiration"]?.stringValue.flatMap(UTCTime.parse), source: "imds:\(role)")
        }
    }
}

/// The SDKs' default chain, cut to what a host needs: environment, then IMDS. The first
/// provider that is configured wins; a configured but broken one is an error, not a skip,
/// so a typo in an operator's environment is reported instead of silently using the role.
public final class CredentialChain: CredentialProvider {
    public let providers: [any CredentialProvider]
    private let resolved = Mutex<(any CredentialProvider)?>(nil)

    public init(_ providers: [any CredentialProvider]) {
        self.providers = providers
    }

    /// The default chain for `environment`. IMDS is left out when `AWS_EC2_METADATA_DISABLED=true`.
    public static func standard(environment: Environment, imds: IMDSClient?) -> CredentialChain {
        var providers: [any CredentialProvider] = [EnvironmentCredentialProvider(environment: environment)]
        if let imds, !environment.isTrue("AWS_EC2_METADATA_DISABLED") {
            providers.append(IMDSCredentialProvider(imds: imds))
        }
        return CredentialChain(providers)
    }

    public func credentials() throws -> Credentials? {
        if let p = resolved.withLock({ $0 }) { return try p.credentials() }
        for provider in providers {
            if let c = try provider.credentials() {
                resolved.withLock { $0 = provider }
                return c
            }
        }
        throw CredentialError.unavailable("no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on EC2 with an instance role (and AWS_EC2_METADATA_DISABLED unset)")
    }
}
