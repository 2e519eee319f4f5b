import Foundation
import Logging

/// What a poll will do, decided before the first DescribeInstances: who the caller is, which
/// accounts (one per assumed role, one per active account of the organization, or the
/// caller's own), and which (account, region) slices.
/// A role that cannot be assumed, or DescribeRegions failing under `--all-regions`, does not
/// stop the plan: the affected slices are planned as failed, so they mark nothing vanished.
public struct SlicePlan: Sendable {
    public struct Account: Sendable {
        public var id: String
        public var provider: any CredentialProvider
        /// The role ARN, when this account is reached through `--assume-role` or `--org-role`.
        public var roleArn: String?
        /// Why this account cannot be polled (AssumeRole failed).
        public var failure: AWSError?
        /// When the credentials used for this account expire, if they do.
        public var expiration: Date?
    }

    public var identity: CallerIdentity
    public var accounts: [Account]
    public var slices: [SliceID]
    /// Slices known to fail before polling, with the reason.
    public var failures: [SliceID: AWSError]
}

/// Plans a poll; used by `Poller.run` and by `--check`, so a preflight checks what a poll would do.
public struct SlicePlanner: Sendable {
    /// Two `--assume-role` ARNs in one account would poll the same slices twice.
    public struct DuplicateAccount: Error, Sendable, CustomStringConvertible {
        public let account: String
        public var description: String { "two --assume-role ARNs name account \(account)" }
    }

    public let poller: Poller
    /// For the planning calls (GetCallerIdentity, DescribeRegions), made on the caller's thread.
    public let http: HTTPClient
    /// For AssumeRole, also when workers refresh credentials later: owned by the caller, and
    /// kept open until the poll ends.
    public let roleHTTP: HTTPClient

    public init(poller: Poller, http: HTTPClient, roleHTTP: HTTPClient) {
        self.poller = poller
        self.http = http
        self.roleHTTP = roleHTTP
    }

    var configuration: Poller.Configuration { poller.configuration }
    var home: String { configuration.regions[0] }

    /// Every step in order. Throws only when nothing can be polled (STS GetCallerIdentity or
    /// Organizations ListAccounts failed).
    public func plan() throws -> SlicePlan {
        let identity = try self.identity()
        let accounts = try self.accounts(identity: identity)
        var plan = SlicePlan(identity: identity, accounts: accounts, slices: [], failures: [:])
        for account in accounts {
            let (regions, failure) = self.regions(for: account)
            for region in regions {
                let slice = SliceID(account: account.id, region: region)
                plan.slices.append(slice)
                if let f = account.failure ?? failure { plan.failures[slice] = f }
            }
        }
        return plan
    }

    public func identity() throws -> CallerIdentity {
        try STSClient(query: poller.client(service: "sts", region: home, apiVersion: STSClient.apiVersion,
                                           credentials: poller.credentials, account: "", http: http)).getCallerIdentity()
    }

    /// The caller's own account, one per `--assume-role` ARN, or one per active account of
    /// the organization (`--org-role`); each role assumed once.
    public func accounts(identity: CallerIdentity) throws -> [SlicePlan.Account] {
        try accountPlan(identity: identity).accounts
    }

    /// The accounts, and with `--org-role` what ListAccounts gave (for `--check` and the log).
    public func accountPlan(identity: CallerIdentity) throws -> (accounts: [SlicePlan.Account], organization: OrganizationListing?) {
        if let organization = configuration.organization {
            return try organizationAccounts(identity: identity, organization)
        }
        guard !configuration.assumeRoles.isEmpty else {
            return ([SlicePlan.Account(id: identity.account, provider: poller.credentials)], nil)
        }
        let sts = stsForRoles(identity)
        var accounts: [SlicePlan.Account] = []
        for arn in configuration.assumeRoles {
            if let id = RoleARN(arn)?.account, accounts.contains(where: { $0.id == id }) { throw DuplicateAccount(account: id) }
            accounts.append(try assumed(arn, sts: sts))
        }
        return (accounts, nil)
    }

    /// Every active account ListAccounts gives, less `--skip-account`: the caller's own with
    /// its own credentials, each other through `arn:<caller's partition>:iam::<id>:role/NAME`.
    private func organizationAccounts(identity: CallerIdentity, _ organization: OrganizationPolling) throws
        -> (accounts: [SlicePlan.Account], organization: OrganizationListing?) {
        guard let partition = OrganizationPolling.partition(ofArn: identity.arn) else {
            throw AWSError.malformed("sts:GetCallerIdentity", "Arn \"\(identity.arn.prefix(80))\" is not an ARN")
        }
        let client = OrganizationsClient(json: AWSJSONClient(
            endpoint: poller.endpoint(service: "organizations", region: OrganizationsClient.homeRegion(partition: partition)),
            configuration: .init(targetPrefix: OrganizationsClient.targetPrefix, retry: configuration.retry,
                                 timeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes),
            credentials: poller.credentials, http: http, logger: poller.logger, run: poller.run, account: identity.account))
        let listing: OrganizationListing
        do {
            listing = OrganizationListing(listed: try client.listAccounts(), skip: organization.skipAccounts)
        } catch {
            throw OrganizationError.listing(error, caller: identity.account)
        }
        poller.logger.info("organization", metadata: ["accounts": "\(listing.summary)"])
        if !listing.unknownSkips.isEmpty {
            poller.logger.warning("--skip-account names accounts the organization does not list",
                                  metadata: ["accounts": "\(listing.unknownSkips.joined(separator: ","))"])
        }
        guard !listing.polled.isEmpty else { throw OrganizationError.nothingToPoll(listing) }
        let sts = stsForRoles(identity)
        let accounts = try listing.polled.map { id throws -> SlicePlan.Account in
            guard id != identity.account else { return SlicePlan.Account(id: id, provider: poller.credentials) }
            return try assumed(OrganizationPolling.roleArn(partition: partition, account: id, name: organization.roleName), sts: sts)
        }
        return (accounts, listing)
    }

    /// STS for AssumeRole, on the client that outlives planning (workers refresh through it).
    private func stsForRoles(_ identity: CallerIdentity) -> AWSQueryClient {
        poller.client(service: "sts", region: home, apiVersion: STSClient.apiVersion, credentials: poller.credentials,
                      account: identity.account, http: roleHTTP)
    }

    /// The account of `arn` with its role assumed once; a failure is kept as the account's,
    /// so its slices fail and the other accounts go on.
    private func assumed(_ arn: String, sts: AWSQueryClient) throws -> SlicePlan.Account {
        let provider = try AssumeRoleCredentialProvider(roleArn: arn, externalId: configuration.externalId,
                                                        sessionName: configuration.sessionName, sts: sts)
        var account = SlicePlan.Account(id: provider.account, provider: provider, roleArn: arn)
        do {
            account.expiration = try provider.credentials()?.expiration
        } catch {
            let failure = error as? AWSError ?? AWSError.credentials("sts:AssumeRole", "\(error)")
            poller.logger.error("assume role failed", metadata: ["role": "\(arn)", "error": "\(failure)"])
            account.failure = failure
        }
        return account
    }

    /// The configured regions, or with `--all-regions` every enabled region of the home
    /// region's partition. When DescribeRegions fails, the home region alone, as failed.
    public func regions(for account: SlicePlan.Account) -> ([String], AWSError?) {
        guard account.failure == nil, configuration.allRegions else { return (configuration.regions, nil) }
        do throws(AWSError) {
            let partition = RegionName.partition(home)
            let regions = try enabledRegions(for: account).filter { RegionName.partition($0) == partition }.sorted()
            // An empty list would be a poll of nothing that looks complete.
            guard !regions.isEmpty else {
                throw AWSError.malformed("ec2:DescribeRegions", "no enabled region in partition \(partition)")
            }
            return (regions, nil)
        } catch {
            poller.logger.error("DescribeRegions failed", metadata: ["account": "\(account.id)", "error": "\(error)"])
            return ([home], error)
        }
    }

    /// The most regions a DescribeRegions answer may name; AWS has a few dozen.
    public static let maxRegions = 500

    /// Every region enabled for the account (DescribeRegions, asked in the home region),
    /// once each. A name that is not a region name (it would become an endpoint host) or an
    /// answer past `maxRegions` is a malformed response, not a list to poll.
    public func enabledRegions(for account: SlicePlan.Account) throws(AWSError) -> [String] {
        try Self.enabled(in: ec2(for: account).describeRegions())
    }

    static func enabled(in listed: [EC2Client.RegionInfo]) throws(AWSError) -> [String] {
        guard listed.count <= Self.maxRegions else {
            throw AWSError.malformed("ec2:DescribeRegions", "\(listed.count) regions listed (at most \(Self.maxRegions))")
        }
        if let bad = listed.first(where: { !RegionName.isValid($0.name) }) {
            throw AWSError.malformed("ec2:DescribeRegions", "\"\(bad.name.prefix(64))\" is not a region name")
        }
        var seen = Set<String>()
        return listed.filter(\.isEnabled).map(\.name).filter { seen.insert($0).inserted }
    }

    /// An EC2 client for the account in the home region.
    public func ec2(for account: SlicePlan.Account) -> EC2Client {
        EC2Client(query: poller.client(service: "ec2", region: home, apiVersion: EC2Client.apiVersion,
                                       credentials: account.provider, account: account.id, http: http))
    }
}
