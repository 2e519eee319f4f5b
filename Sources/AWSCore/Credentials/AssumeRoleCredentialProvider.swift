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

    /// Renewals through `sts`, one at a time (its HTTP client is shared).
    public convenience init(roleArn: String, externalId: String?, sessionName: String, sts: AWSQueryClient,
                            refreshMargin: TimeInterval = CachingCredentialProvider.defaultRefreshMargin) throws(CredentialError) {
        try self.init(roleArn: roleArn, externalId: externalId, sessionName: sessionName, refreshMargin: refreshMargin) { request in
            try STSClient(query: sts).assumeRole(request, source: "assume-role:\(request.roleArn)")
        }
    }

    /// Renewals on a client borrowed from `clients` for the call, made into an STS client by
    /// `sts`: the accounts of an organization renew side by side, never queued behind one
    /// another on one connection.
    public convenience init(roleArn: String, externalId: String?, sessionName: String, clients: HTTPClientPool,
                            sts: @escaping @Sendable (HTTPClient) -> AWSQueryClient,
                            refreshMargin: TimeInterval = CachingCredentialProvider.defaultRefreshMargin) throws(CredentialError) {
        try self.init(roleArn: roleArn, externalId: externalId, sessionName: sessionName, refreshMargin: refreshMargin) { request in
            try clients.withClient { http in
                try STSClient(query: sts(http)).assumeRole(request, source: "assume-role:\(request.roleArn)")
            }
        }
    }

    private init(roleArn: String, externalId: String?, sessionName: String, refreshMargin: TimeInterval,
                 assume: @escaping @Sendable (STSClient.RoleRequest) throws -> Credentials?) throws(CredentialError) {
        guard let arn = RoleARN(roleArn) else {
            throw CredentialError.invalidConfiguration(RoleARN.notARole(roleArn))
        }
        self.roleArn = roleArn
        self.externalId = externalId
        self.sessionName = sessionName
        self.account = arn.account
        let request = STSClient.RoleRequest(roleArn: roleArn, sessionName: sessionName, externalId: externalId, durationSeconds: 3600)
        self.cache = CachingCredentialProvider(Fetcher(request: request, assume: assume), refreshMargin: refreshMargin)
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
        let request: STSClient.RoleRequest
        let assume: @Sendable (STSClient.RoleRequest) throws -> Credentials?
        func credentials() throws -> Credentials? { try assume(request) }
    }
}
