import Foundation
import Logging
import Synchronization

/// Credentials for another account through STS AssumeRole, signed with the base (instance)
/// credentials. Cached by one `CachingCredentialProvider` shared by every worker of the
/// account, and renewed five minutes before they expire, so a long run across many accounts
/// never signs with a dead key and never calls STS once per worker.
public final class AssumeRoleCredentialProvider: CredentialProvider {
    public let roleArn: String
    public let externalId: String?
    public let sessionName: String
    /// The account the role lives in, from its ARN (read by `RoleARN`).
    public let account: String
    private let cache: CachingCredentialProvider
    /// Renew when this close to expiry. Five minutes leaves room for one slow page.
    public var refreshMargin: TimeInterval { cache.refreshMargin }

    public init(roleArn: String, externalId: String?, sessionName: String, sts: AWSQueryClient,
                refreshMargin: TimeInterval = CachingCredentialProvider.defaultRefreshMargin) throws(CredentialError) {
        guard let arn = RoleARN(roleArn) else {
            throw CredentialError.invalidConfiguration(RoleARN.notARole(roleArn))
        }
        self.roleArn = roleArn
        self.externalId = externalId
        self.sessionName = sessionName
        self.account = arn.account
        self.cache = CachingCredentialProvider(Fetcher(roleArn: roleArn, externalId: externalId, sessionName: sessionName, sts: sts),
                                               refreshMargin: refreshMargin)
    }

    /// `inventory-poller-<host>`, trimmed to STS's 64 characters and allowed set.
    public static func sessionName(host: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_")
        return String(("inventory-poller-" + host).filter { allowed.contains($0) }.prefix(64))
    }

    public func credentials() throws -> Credentials? {
        try cache.credentials()
    }

    /// One uncached AssumeRole call.
    private struct Fetcher: CredentialProvider {
        let roleArn: String
        let externalId: String?
        let sessionName: String
        let sts: AWSQueryClient
        /// Key, secret, token, expiry, read in one streaming pass like every other AWS reply,
        /// and the assumed identity's ARN: unused, but read so that, as in GetCallerIdentity,
        /// an identity value holding markup (a hostile 10,000-level nest) is malformed.
        static let paths = ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"].map { ["AssumeRoleResult", "Credentials", $0] }
            + [["AssumeRoleResult", "AssumedRoleUser", "Arn"]]

        func credentials() throws -> Credentials? {
            var parameters = [("RoleArn", roleArn), ("RoleSessionName", sessionName), ("DurationSeconds", "3600")]
            if let externalId { parameters.append(("ExternalId", externalId)) }
            let body = try sts.call("AssumeRole", parameters)
            let values: [String?]
            do {
                values = try QueryResponse.fields(body, Self.paths).values
            } catch {
                throw AWSError.malformed("sts:AssumeRole", error.description)
            }
            guard let key = values[0], let secret = values[1] else {
                throw AWSError.malformed("sts:AssumeRole", "no AssumeRoleResult/Credentials")
            }
            return Credentials(accessKeyId: key, secretAccessKey: secret, sessionToken: values[2],
                               expiration: values[3].flatMap(UTCTime.parse), source: "assume-role:\(roleArn)")
        }
    }
}
