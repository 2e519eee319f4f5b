@_spi(Bytes) import AWSCore
import Foundation
import Logging

/// What a poll will do: who the caller is, which accounts (one per assumed role, one per
/// active account of the organization, or the caller's own), and which (account, region)
/// slices. `--check` plans it whole before anything is polled; a poll plans the accounts up
/// front and each account's slices in the worker pool (`SlicePlanner.prepare`), as it goes.
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
    /// For the planning calls made on the caller's thread (GetCallerIdentity, ListAccounts,
    /// and for `--check` DescribeRegions).
    public let http: HTTPClient
    /// Where AssumeRole borrows a client, also when workers renew credentials later: kept
    /// open by the caller until the poll ends.
    public let roleClients: HTTPClientPool

    /// `roleHTTP` carries every AssumeRole, one at a time (`--check`).
    public init(poller: Poller, http: HTTPClient, roleHTTP: HTTPClient) {
        self.init(poller: poller, http: http, roleClients: HTTPClientPool(fixed: roleHTTP))
    }

    public init(poller: Poller, http: HTTPClient, roleClients: HTTPClientPool) {
        self.poller = poller
        self.http = http
        self.roleClients = roleClients
    }

    var configuration: Poller.Configuration { poller.configuration }
    var home: String { configuration.regions[0] }

    /// What a poll knows before its pool starts: the caller, and the accounts with their
    /// roles not yet assumed. Throws only when nothing can be polled (STS GetCallerIdentity
    /// or Organizations ListAccounts failed, two `--assume-role` ARNs in one account).
    public func start() throws -> (identity: CallerIdentity, accounts: [SlicePlan.Account]) {
        let identity = try self.identity()
        return (identity, try listAccounts(identity: identity).accounts)
    }

    /// The regions an account is planned in before it is prepared: the configured ones, or
    /// with `--all-regions` the home region only (the rest are known after DescribeRegions).
    public var provisionalRegions: [String] { configuration.allRegions ? [home] : configuration.regions }

    /// Whether `prepare` has anything to ask AWS for this account.
    public func needsPreparing(_ account: SlicePlan.Account) -> Bool {
        account.roleArn != nil || configuration.allRegions
    }

    /// Readies one account on a worker's thread: its role assumed (a failure fails its
    /// slices) and, with `--all-regions`, its regions asked through `http`. Returns the
    /// account with its failure or expiration, its regions, and why its slices fail, if so.
    public func prepare(_ account: SlicePlan.Account, http: HTTPClient) -> (account: SlicePlan.Account, regions: [String], failure: AWSError?) {
        var account = account
        // A stopped run asks nothing more: the account stays in its provisional regions,
        // its slices interrupted, without an error line per account.
        if poller.run.cancellation.isCancelled { return (account, provisionalRegions, AWSError.cancelled("sts:AssumeRole")) }
        if account.roleArn != nil { assume(&account) }
        let (regions, failure) = self.regions(for: account, http: http)
        return (account, regions, account.failure ?? failure)
    }

    public func identity() throws -> CallerIdentity {
        try STSClient(query: poller.client(service: "sts", region: home, apiVersion: STSClient.apiVersion,
                                           credentials: poller.credentials, account: "", http: http)).getCallerIdentity()
    }

    /// The caller's own account, one per `--assume-role` ARN, or one per active account of
    /// the organization (`--org-role`); each role assumed once, one after another.
    public func accounts(identity: CallerIdentity) throws -> [SlicePlan.Account] {
        try accountPlan(identity: identity).accounts
    }

    /// The accounts with each role assumed, and with `--org-role` what ListAccounts gave
    /// (for `--check` and the log).
    public func accountPlan(identity: CallerIdentity) throws -> (accounts: [SlicePlan.Account], organization: OrganizationListing?) {
        var (accounts, organization) = try listAccounts(identity: identity)
        for index in accounts.indices where accounts[index].roleArn != nil {
            assume(&accounts[index])
        }
        return (accounts, organization)
    }

    /// The accounts, each with its credential provider; no role is assumed yet.
    public func listAccounts(identity: CallerIdentity) throws -> (accounts: [SlicePlan.Account], organization: OrganizationListing?) {
        if let organization = configuration.organization {
            return try organizationAccounts(identity: identity, organization)
        }
        guard !configuration.assumeRoles.isEmpty else {
            return ([SlicePlan.Account(id: identity.account, provider: poller.credentials)], nil)
        }
        var accounts: [SlicePlan.Account] = []
        for arn in configuration.assumeRoles {
            if let id = RoleARN(arn)?.account, accounts.contains(where: { $0.id == id }) { throw DuplicateAccount(account: id) }
            accounts.append(try role(arn, identity: identity))
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
        let accounts = try listing.polled.map { id throws -> SlicePlan.Account in
            guard id != identity.account else { return SlicePlan.Account(id: id, provider: poller.credentials) }
            return try role(OrganizationPolling.roleArn(partition: partition, account: id, name: organization.roleName), identity: identity)
        }
        return (accounts, listing)
    }

    /// The account of `arn`, its role to be assumed on first use through STS on a client
    /// borrowed from `roleClients` (workers renew through it too).
    private func role(_ arn: String, identity: CallerIdentity) throws -> SlicePlan.Account {
        let provider = try AssumeRoleCredentialProvider(roleArn: arn, externalId: configuration.externalId,
                                                        sessionName: configuration.sessionName, clients: roleClients) { [poller, home] http in
            poller.client(service: "sts", region: home, apiVersion: STSClient.apiVersion, credentials: poller.credentials,
                          account: identity.account, http: http)
        }
        return SlicePlan.Account(id: provider.account, provider: provider, roleArn: arn)
    }

    /// Assumes the account's role once; a failure is kept as the account's, so its slices
    /// fail and the other accounts go on.
    private func assume(_ account: inout SlicePlan.Account) {
        do {
            account.expiration = try account.provider.credentials()?.expiration
        } catch {
            let failure = error as? AWSError ?? AWSError.credentials("sts:AssumeRole", "\(error)")
            poller.logger.error("assume role failed", metadata: ["role": "\(account.roleArn ?? account.id)", "error": "\(failure)"])
            account.failure = failure
        }
    }

    /// The configured regions, or with `--all-regions` every enabled region of the home
    /// region's partition. When DescribeRegions fails, the home region alone, as failed.
    public func regions(for account: SlicePlan.Account, http: HTTPClient? = nil) -> ([String], AWSError?) {
        guard account.failure == nil, configuration.allRegions else { return (configuration.regions, nil) }
        do throws(AWSError) {
            let partition = RegionName.partition(home)
            let regions = try enabledRegions(for: account, http: http).filter { RegionName.partition($0) == partition }.sorted()
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
    public func enabledRegions(for account: SlicePlan.Account, http: HTTPClient? = nil) throws(AWSError) -> [String] {
        try Self.enabled(in: ec2(for: account, http: http).describeRegions())
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

    /// An EC2 client for the account in the home region, on `http` (else the planner's).
    public func ec2(for account: SlicePlan.Account, http: HTTPClient? = nil) -> EC2Client {
        EC2Client(query: poller.client(service: "ec2", region: home, apiVersion: EC2Client.apiVersion,
                                       credentials: account.provider, account: account.id, http: http ?? self.http))
    }
}
