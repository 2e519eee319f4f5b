import Foundation
import Logging
import Synchronization

/// One poll: who am I (STS), which accounts (AssumeRole) and regions (DescribeRegions), then
/// every page of DescribeInstances in every slice, with bounded parallelism.
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
        /// Hand pages to the sink rendered from the XML (`RenderedPage`), with `pageContents`.
        public var renderJSON: Bool = false
        /// With `renderJSON`: what each page carries (JSON, text/csv rows, the content hashes
        /// storage needs). Leave out what no sink reads: each costs time on every instance.
        public var pageContents: RenderedPage.Contents = [.json, .rows]
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
    /// credentials, STS failed); a failing slice is reported in its outcome instead.
    public func run<Sink: PollSink>(into sink: inout Sink, http: HTTPClient) throws -> [SliceOutcome] {
        precondition(!configuration.regions.isEmpty, "at least one region")
        let polledAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        // AssumeRole providers refresh from the workers' threads through this client; it lives
        // exactly as long as the poll.
        let roleHTTP = HTTPClient(configuration: configuration.aws?.httpConfiguration ?? .init(environment: environment), logger: logger, run: run)
        defer { roleHTTP.close() }
        let plan = try SlicePlanner(poller: self, http: http, roleHTTP: roleHTTP).plan()
        var metadata: Logger.Metadata = ["account": "\(plan.identity.account)", "arn": "\(plan.identity.arn)", "slices": "\(plan.slices.count)"]
        if !configuration.selection.isEmpty { metadata["selection"] = "\(configuration.selection.summary)" }
        logger.info("polling", metadata: metadata)
        let header = PollHeader(pollId: PollContext.newPollId(account: plan.identity.account, at: polledAt), polledAt: polledAt,
                                identity: plan.identity, slices: plan.slices,
                                selection: configuration.selection.isEmpty ? nil : configuration.selection)
        run.statistics.planned(slices: plan.slices.count)
        try sink.begin(header)
        let shared = SharedSink(sink)
        let outcomes = pollSlices(plan, into: shared)
        sink = shared.take()
        if let error = shared.error { throw error }
        try sink.end(header, outcomes: outcomes)
        return outcomes
    }

    /// Workers fetch and decode in parallel; the sink sees one page at a time, under a lock.
    /// Returns the outcomes in the plan's order.
    private func pollSlices(_ plan: SlicePlan, into shared: any PageDelivery) -> [SliceOutcome] {
        let slices = plan.slices
        let outcomes = Mutex<[SliceID: SliceOutcome]>([:])
        let next = Mutex(0)
        let providers = Dictionary(plan.accounts.map { ($0.id, $0.provider) }, uniquingKeysWith: { a, _ in a })
        let workerCount = max(1, min(configuration.concurrency, slices.count))
        let group = DispatchGroup()
        for _ in 0..<workerCount {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                let workerHTTP = HTTPClient(configuration: configuration.aws?.httpConfiguration ?? .init(environment: environment), logger: logger, run: run)
                defer { workerHTTP.close() }
                while true {
                    let index: Int = next.withLock { i in defer { i += 1 }; return i }
                    guard index < slices.count else { return }
                    let slice = slices[index]
                    let outcome = self.outcome(of: slice, plan: plan, credentials: providers[slice.account]!, http: workerHTTP, into: shared)
                    outcomes.withLock { $0[slice] = outcome }
                    run.statistics.sliceDone()
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return outcomes.withLock { o in slices.compactMap { o[$0] } }
    }

    /// A slice planned as failed, or not started because the run was stopped, is not polled.
    private func outcome(of slice: SliceID, plan: SlicePlan, credentials: any CredentialProvider, http: HTTPClient,
                         into shared: any PageDelivery) -> SliceOutcome {
        if let failure = plan.failures[slice] {
            return SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: failure.errorCode, errorMessage: failure.description)
        }
        if run.cancellation.isCancelled {
            return SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: "Interrupted", errorMessage: "not polled: the run was interrupted")
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
            if configuration.renderJSON {
                try ec2.describeRenderedInstances(pageSize: configuration.pageSize, selection: configuration.selection,
                                                  contents: configuration.pageContents) { page in
                    count += page.count
                    run.statistics.received(instances: page.count)
                    try shared.deliver(rendered: page, slice: slice)
                }
            } else {
                try ec2.describeInstances(pageSize: configuration.pageSize, selection: configuration.selection) { page in
                    count += page.count
                    run.statistics.received(instances: page.count)
                    try shared.deliver(page, slice: slice)
                }
            }
            logger.info("slice polled", metadata: ["slice": "\(slice)", "instances": "\(count)"])
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
