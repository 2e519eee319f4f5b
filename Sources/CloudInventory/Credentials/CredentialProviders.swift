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
            throw CredentialError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, _?):
            throw CredentialError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        }
    }
}

/// The instance role's temporary credentials from IMDSv2, cached until five minutes before
/// they expire so a long run keeps working across the hourly rotation.
public final class IMDSCredentialProvider: CredentialProvider {
    private let imds: IMDSClient
    private let cache = Mutex<Credentials?>(nil)
    private let refreshMargin: TimeInterval = 300

    public init(imds: IMDSClient) {
        self.imds = imds
    }

    public func credentials() throws -> Credentials? {
        if let cached = cache.withLock({ $0 }), let exp = cached.expiration, exp.timeIntervalSinceNow > refreshMargin {
            return cached
        }
        let fresh = try fetch()
        cache.withLock { $0 = fresh }
        return fresh
    }

    private func fetch() throws -> Credentials {
        let roles: String
        do {
            roles = try imds.get("meta-data/iam/security-credentials/")
        } catch let error where error.kind == .notFound {
            throw CredentialError("no IAM role is attached to this instance (IMDS has no security-credentials)")
        } catch {
            throw CredentialError(error.description)
        }
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw CredentialError("no IAM role is attached to this instance (IMDS lists no role)")
        }
        let body: String
        do {
            body = try imds.get("meta-data/iam/security-credentials/" + role)
        } catch {
            throw CredentialError(error.description)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw CredentialError("IMDS returned unreadable credentials for role \(role)")
        }
        let code = object["Code"] as? String ?? "missing"
        guard code == "Success" else {
            let message = (object["Message"] as? String).map { ": \($0)" } ?? ""
            throw CredentialError("IMDS could not provide credentials for role \(role): Code \(code)\(message)")
        }
        guard let key = object["AccessKeyId"] as? String, let secret = object["SecretAccessKey"] as? String else {
            throw CredentialError("IMDS credentials for role \(role) lack AccessKeyId or SecretAccessKey")
        }
        return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: object["Token"] as? String,
                           expiration: (object["Expiration"] as? String).flatMap(UTCTime.parse), source: "imds:\(role)")
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
        throw CredentialError("no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on EC2 with an instance role (and AWS_EC2_METADATA_DISABLED unset)")
    }
}
