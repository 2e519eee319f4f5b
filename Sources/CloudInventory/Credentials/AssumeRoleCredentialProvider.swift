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
        func credentials() throws -> Credentials? {
            try STSClient(query: sts).assumeRole(STSClient.RoleRequest(roleArn: roleArn, sessionName: sessionName,
                                                                        externalId: externalId, durationSeconds: 3600),
                                                 source: "assume-role:\(roleArn)")
        }
    }
}
