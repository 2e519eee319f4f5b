import AWSCore
import Foundation
import Logging
import Synchronization

/// One poll: who am I (STS), which accounts (ListAccounts), then in a pool of workers each
/// account's role (AssumeRole) and regions (DescribeRegions) and every page of
/// DescribeInstances in every slice, with bounded parallelism.
public struct Poller: Sendable {
    public struct Configuration: Sendable {
        /// Regions to poll. With `allRegions`, the first one is only where DescribeRegions is asked.
        public var regions: [String]
        public var allRegions: Bool = false
        /// Role ARNs to assume, one per account. Empty: poll the caller's own account.
        public var assumeRoles: [String] = []
        public var externalId: String?
        /// `--org-role`: every active account of the organization instead (`assumeRoles` empty).
        public var organization: OrganizationPolling?
        public var sessionName: String = AssumeRoleCredentialProvider.sessionName(host: ProcessInfo.processInfo.hostName)
        public var concurrency: Int = 8
        public var retry: RetryPolicy = RetryPolicy()
        public var requestTimeout: Duration = .seconds(30)
        /// The largest AWS response body taken (`--max-response-mib`).
        public var maxResponseBytes: Int = HTTPRequest.defaultMaxResponseBytes
        /// DescribeInstances `MaxResults` (EC2 allows 5 to 1000).
        public var pageSize: Int = EC2Client.pageSize
        /// What each page carries (JSON, text/csv rows, the content hashes storage needs); by
        /// default everything. Leave out what no sink reads: each costs time on every instance.
        public var pageContents: RenderedPage.Contents = [.json, .rows, .hashes]
        /// `--filter` / `--instance-ids`, applied by EC2. Empty: every instance.
        public var selection = PollSelection()
        /// The run's AWS configuration: endpoints (FIPS, dual-stack, STS mode, overrides) and
        /// the HTTP client's CA bundle. nil: the environment's overrides and defaults only.
        public var aws: AWSConfiguration?

        public init(regions: [String], retry: RetryPolicy = RetryPolicy(), requestTimeout: Duration = .seconds(30), pageSize: Int = EC2Client.pageSize) {
            self.regions = regions
            self.retry = retry
            self.requestTimeout = requestTimeout
            self.pageSize = pageSize
        }
    }

    public let configuration: Configuration
    public let credentials: any CredentialProvider
    public let environment: Environment
    public let logger: Logger
    public let run: RunContext

    public init(configuration: Configuration, credentials: any CredentialProvider, environment: Environment, logger: Logger, run: RunContext = RunContext()) {
        self.configuration = configuration
        self.credentials = credentials
        self.environment = environment
        self.logger = logger
        self.run = run
    }

    /// Runs the poll into `sink`. Throws only when nothing could be polled at all (no
    /// credentials, STS failed, ListAccounts failed); a failing slice is reported in its
    /// outcome instead. GetCallerIdentity and ListAccounts come first; each account's
    /// AssumeRole and DescribeRegions then run in the worker pool beside other accounts'
    /// slices (`SliceScheduler`).
    public func run<Sink: PollSink>(into sink: inout Sink, http: HTTPClient) throws -> [SliceOutcome] {
        precondition(!configuration.regions.isEmpty, "at least one region")
        let polledAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        // AssumeRole borrows clients from this pool, on the workers' threads too; they live
        // exactly as long as the poll.
        let roleClients = HTTPClientPool(configuration: configuration.aws?.httpConfiguration ?? .init(environment: environment),
                                         logger: logger, run: run)
        defer { roleClients.close() }
        let planner = SlicePlanner(poller: self, http: http, roleClients: roleClients)
        var (identity, accounts) = try planner.start()
        if accounts.count == 1 {
            // One account: nothing to overlap, so prepare it now and the header names every slice.
            let (account, regions, failure) = planner.prepare(accounts[0], http: http)
            accounts[0] = account
            accounts[0].failure = failure
            return try poll(PreparedPlan(planner: planner, identity: identity, accounts: accounts, known: [0: regions]),
                            polledAt: polledAt, into: &sink)
        }
        var known: [Int: [String]] = [:]
        for (index, account) in accounts.enumerated() where !planner.needsPreparing(account) { known[index] = configuration.regions }
        return try poll(PreparedPlan(planner: planner, identity: identity, accounts: accounts, known: known), polledAt: polledAt, into: &sink)
    }

    /// The accounts, and the regions of those that need no preparing.
    private struct PreparedPlan: Sendable {
        var planner: SlicePlanner
        var identity: CallerIdentity
        var accounts: [SlicePlan.Account]
        var known: [Int: [String]]

        /// Before any account is prepared: the known slices, and each other account in its
        /// provisional regions (the configured ones; the home region with `--all-regions`).
        var provisionalSlices: [SliceID] {
            accounts.indices.flatMap { i in (known[i] ?? planner.provisionalRegions).map { SliceID(account: accounts[i].id, region: $0) } }
        }

        /// The plan handed to `outcome(of:plan:…)`: the caller and the accounts as listed.
        var slicePlan: SlicePlan { SlicePlan(identity: identity, accounts: accounts, slices: provisionalSlices, failures: [:]) }
    }

    /// `PollHeader.slices` at `begin` holds the slices planned so far: every slice when each
    /// account's regions are known up front, else each unprepared account in its
    /// provisional regions, so an interrupted poll still records every account it meant to
    /// poll. `end` gets the header with every slice planned.
    private func poll<Sink: PollSink>(_ prepared: PreparedPlan, polledAt: Date, into sink: inout Sink) throws -> [SliceOutcome] {
        let identity = prepared.identity
        var metadata: Logger.Metadata = ["account": "\(identity.account)", "arn": "\(identity.arn)", "accounts": "\(prepared.accounts.count)",
                                         "slices": "\(prepared.provisionalSlices.count)"]
        if !configuration.selection.isEmpty { metadata["selection"] = "\(configuration.selection.summary)" }
        logger.info("polling", metadata: metadata)
        var header = PollHeader(pollId: PollContext.newPollId(account: identity.account, at: polledAt), polledAt: polledAt,
                                identity: identity, slices: prepared.provisionalSlices,
                                selection: configuration.selection.isEmpty ? nil : configuration.selection)
        run.statistics.planned(slices: header.slices.count)
        try sink.begin(header)
        let shared = SharedSink(sink)
        let (outcomes, slices) = pollSlices(prepared, into: shared)
        sink = shared.take()
        if let error = shared.error { throw error }
        header.slices = slices
        try sink.end(header, outcomes: outcomes)
        return outcomes
    }

    /// Workers prepare accounts and fetch and decode slices in parallel; the sink sees one
    /// page at a time, under a lock. Returns the outcomes and the slices in the plan's order.
    private func pollSlices(_ prepared: PreparedPlan, into shared: any PageDelivery) -> ([SliceOutcome], [SliceID]) {
        let accounts = prepared.accounts
        let scheduler = SliceScheduler(accounts: accounts.count, prepared: { i in prepared.known[i].map { ($0, accounts[i].failure) } },
                                       account: { accounts[$0].id })
        let plan = prepared.slicePlan
        let outcomes = Mutex<[SliceID: SliceOutcome]>([:])
        let providers = Mutex(accounts.map(\.provider))
        let workerCount = max(1, min(configuration.concurrency, prepared.provisionalSlices.count + accounts.count))
        let group = DispatchGroup()
        for _ in 0..<workerCount {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                let workerHTTP = HTTPClient(configuration: configuration.aws?.httpConfiguration ?? .init(environment: environment), logger: logger, run: run)
                defer { workerHTTP.close() }
                while let work = scheduler.next() {
                    switch work {
                    case let .prepare(index):
                        let (account, regions, failure) = prepared.planner.prepare(accounts[index], http: workerHTTP)
                        providers.withLock { $0[index] = account.provider }
                        scheduler.prepared(index, id: account.id, regions: regions, failure: failure)
                        run.statistics.planned(slices: scheduler.plannedCount(provisional: prepared.planner.provisionalRegions.count))
                    case let .poll(ready):
                        let credentials = providers.withLock { $0[ready.account] }
                        let outcome = self.outcome(of: ready.slice, plan: plan, failure: ready.failure, credentials: credentials,
                                                   http: workerHTTP, into: shared)
                        outcomes.withLock { $0[ready.slice] = outcome }
                        run.statistics.sliceDone()
                    }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        let slices = scheduler.slices
        return (outcomes.withLock { o in slices.compactMap { o[$0] } }, slices)
    }

    /// Every slice passes here on a worker's thread just before it is polled. One whose
    /// account could not be prepared (`failure`), or not started because the run was
    /// stopped, is not polled.
    private func outcome(of slice: SliceID, plan: SlicePlan, failure: AWSError?, credentials: any CredentialProvider, http: HTTPClient,
                         into shared: any PageDelivery) -> SliceOutcome {
        if run.cancellation.isCancelled || failure?.isCancelled == true {
            return SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: "Interrupted", errorMessage: "not polled: the run was interrupted")
        }
        if let failure {
            return SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: failure.errorCode, errorMessage: failure.description)
        }
        let admission: SliceAdmission
        do {
            admission = try shared.admit(slice)
        } catch {
            return SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: "Output", errorMessage: "\(error)")
        }
        if case let .skip(holder) = admission {
            logger.info("slice skipped: another poll holds it in this window", metadata: ["slice": "\(slice)", "heldBy": "\(holder)"])
            return .skipped(slice, heldBy: holder)
        }
        let outcome = poll(slice, credentials: credentials, http: http, into: shared)
        try? shared.sliceEnded(outcome)
        return outcome
    }

    private func poll(_ slice: SliceID, credentials: any CredentialProvider, http: HTTPClient, into shared: any PageDelivery) -> SliceOutcome {
        let ec2 = EC2Client(query: client(service: "ec2", region: slice.region, apiVersion: EC2Client.apiVersion,
                                          credentials: credentials, account: slice.account, http: http))
        var count = 0
        do {
            let unknown = try describe(slice, ec2: ec2, count: &count, into: shared)
            var metadata: Logger.Metadata = ["slice": "\(slice)", "instances": "\(count)"]
            if !unknown.isEmpty {
                run.statistics.unknown(instanceIds: unknown, slice: slice)
                metadata["unknownInstanceIds"] = "\(unknown.joined(separator: ","))"
            }
            logger.info("slice polled", metadata: metadata)
            return SliceOutcome(slice: slice, status: .complete, instanceCount: count)
        } catch let error as AWSError {
            logger.error("slice failed", metadata: ["slice": "\(slice)", "error": "\(error)"])
            return SliceOutcome(slice: slice, status: .failed, instanceCount: count,
                                errorCode: error.isCancelled ? "Interrupted" : error.errorCode, errorMessage: error.description)
        } catch {
            // The sink failed: nothing more can be delivered. (stdout failures never get here:
            // the formatting sink keeps them to itself, so storage goes on.)
            return SliceOutcome(slice: slice, status: .failed, instanceCount: count, errorCode: "Output", errorMessage: "\(error)")
        }
    }

    /// Every page of one DescribeInstances (as many calls as `NextToken` asks) into `shared`.
    func describePages(_ slice: SliceID, ec2: EC2Client, selection: PollSelection, count: inout Int, into shared: any PageDelivery) throws {
        try ec2.describeInstances(pageSize: configuration.pageSize, selection: selection, contents: configuration.pageContents) { page in
            count += page.count
            run.statistics.received(instances: page.count)
            try shared.deliver(rendered: page, slice: slice)
        }
    }

    /// Through the run's configuration (checked for the home region before the poll began),
    /// else the environment's overrides and defaults.
    public func endpoint(service: String, region: String) -> ServiceEndpoint {
        if let aws = configuration.aws, let endpoint = try? aws.endpoint(service: service, region: region) { return endpoint }
        return ServiceEndpoint.resolve(service: service, region: region, environment: environment)
    }

    /// A Query client for `service` in `region`, sharing this poll's retry policy, budgets and statistics.
    public func client(service: String, region: String, apiVersion: String, credentials: any CredentialProvider, account: String, http: HTTPClient) -> AWSQueryClient {
        AWSQueryClient(
            endpoint: endpoint(service: service, region: region),
            configuration: .init(apiVersion: apiVersion, retry: configuration.retry, timeout: configuration.requestTimeout,
                                 maxResponseBytes: configuration.maxResponseBytes),
            credentials: credentials, http: http, logger: logger, run: run, account: account)
    }
}
