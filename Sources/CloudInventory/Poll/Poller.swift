import Foundation
import Logging
import Synchronization

/// One (account, region) pair: the unit that is polled, succeeds or fails on its own.
public struct SliceID: Sendable, Hashable, CustomStringConvertible {
    public var account: String
    public var region: String

    public init(account: String, region: String) {
        self.account = account
        self.region = region
    }

    public var description: String { "\(account)/\(region)" }
}

/// What a poll found in one slice. A failed slice has an error; later stages (the database's
/// vanish logic) only trust `.complete` slices.
public struct SliceOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        case complete = "ok"
        case failed = "error"
    }

    public var slice: SliceID
    public var status: Status
    public var instanceCount: Int
    public var errorCode: String?
    public var errorMessage: String?

    public init(slice: SliceID, status: Status, instanceCount: Int, errorCode: String? = nil, errorMessage: String? = nil) {
        self.slice = slice
        self.status = status
        self.instanceCount = instanceCount
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    public var region: String { slice.region }

    public var json: JSONValue {
        var members = [
            JSONMember("Account", .string(slice.account)),
            JSONMember("Region", .string(slice.region)),
            JSONMember("Status", .string(status.rawValue)),
            JSONMember("InstanceCount", .int(Int64(instanceCount))),
        ]
        if let errorCode { members.append(JSONMember("ErrorCode", .string(errorCode))) }
        if let errorMessage { members.append(JSONMember("Error", .string(errorMessage))) }
        return .object(members)
    }
}

/// The identity and time a poll is stamped with. Known before the first instance arrives.
public struct PollHeader: Sendable {
    public var pollId: String
    /// Whole seconds: what is printed is what is stored.
    public var polledAt: Date
    public var identity: CallerIdentity
    public var slices: [SliceID]

    public var regions: [String] {
        var seen = Set<String>()
        return slices.map(\.region).filter { seen.insert($0).inserted }
    }

    public var accounts: [String] {
        var seen = Set<String>()
        return slices.map(\.account).filter { seen.insert($0).inserted }
    }

    public var context: PollContext {
        PollContext(pollId: pollId, account: identity.account, arn: identity.arn, polledAt: polledAt)
    }
}

/// Receives a poll as it happens, page by page, so nothing needs the whole fleet in memory.
/// Calls arrive in order, one at a time: `begin`, any number of `instances` (pages of
/// different slices interleave), then `end`.
public protocol PollSink {
    mutating func begin(_ header: PollHeader) throws
    mutating func instances(_ page: [JSONValue], slice: SliceID) throws
    /// A page already rendered as JSON (the poller's fast path for JSON output). By default
    /// it is parsed back into values and handed to `instances`.
    mutating func rendered(_ page: RenderedPage, slice: SliceID) throws
    mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws
}

extension PollSink {
    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws {
        try instances(page.values(), slice: slice)
    }
}

/// Hands every event to two sinks in turn: stdout formatting and storage, say.
public struct TeeSink<A: PollSink, B: PollSink>: PollSink {
    public var first: A
    public var second: B

    public init(_ first: A, _ second: B) {
        self.first = first
        self.second = second
    }

    public mutating func begin(_ header: PollHeader) throws {
        try first.begin(header)
        try second.begin(header)
    }

    public mutating func instances(_ page: [JSONValue], slice: SliceID) throws {
        try first.instances(page, slice: slice)
        try second.instances(page, slice: slice)
    }

    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws {
        try first.rendered(page, slice: slice)
        try second.rendered(page, slice: slice)
    }

    public mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws {
        try first.end(header, outcomes: outcomes)
        try second.end(header, outcomes: outcomes)
    }
}

/// A sink that may be absent: storage, when no database is configured.
extension Optional: PollSink where Wrapped: PollSink {
    public mutating func begin(_ header: PollHeader) throws { try self?.begin(header) }
    public mutating func instances(_ page: [JSONValue], slice: SliceID) throws { try self?.instances(page, slice: slice) }
    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws { try self?.rendered(page, slice: slice) }
    public mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws { try self?.end(header, outcomes: outcomes) }
}

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
        public var sessionName: String = AssumeRoleCredentialProvider.sessionName(host: ProcessInfo.processInfo.hostName)
        public var concurrency: Int = 8
        public var retry: RetryPolicy = RetryPolicy()
        public var requestTimeout: Duration = .seconds(30)
        /// DescribeInstances `MaxResults` (EC2 allows 5 to 1000).
        public var pageSize: Int = EC2Client.pageSize
        /// Hand pages to the sink pre-rendered as JSON. Only worth it when every sink writes
        /// JSON (no database): the others would parse it back.
        public var renderJSON: Bool = false

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

    private struct Account {
        var id: String
        var provider: any CredentialProvider
        var failure: AWSError?
    }

    /// Runs the poll into `sink`. Throws only when nothing could be polled at all (no
    /// credentials, STS failed); a failing slice is reported in its outcome instead.
    public func run<Sink: PollSink>(into sink: inout Sink, http: HTTPClient) throws -> [SliceOutcome] {
        precondition(!configuration.regions.isEmpty, "at least one region")
        let polledAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let home = configuration.regions[0]
        let identity = try STSClient(query: client(service: "sts", region: home, apiVersion: STSClient.apiVersion,
                                                   credentials: credentials, account: "", http: http)).getCallerIdentity()

        let rolesHTTP = HTTPClient(configuration: .init(environment: environment), logger: logger, cancellation: run.cancellation)
        defer { rolesHTTP.close() }
        var accounts: [Account] = []
        if configuration.assumeRoles.isEmpty {
            accounts = [Account(id: identity.account, provider: credentials)]
        } else {
            let stsForRoles = client(service: "sts", region: home, apiVersion: STSClient.apiVersion, credentials: credentials,
                                     account: identity.account, http: rolesHTTP)
            for arn in configuration.assumeRoles {
                let provider = try AssumeRoleCredentialProvider(roleArn: arn, externalId: configuration.externalId,
                                                                sessionName: configuration.sessionName, sts: stsForRoles)
                // One role per account: two would make the same slices twice.
                if accounts.contains(where: { $0.id == provider.account }) {
                    throw CredentialError("two --assume-role ARNs name account \(provider.account)")
                }
                do {
                    _ = try provider.credentials()
                    accounts.append(Account(id: provider.account, provider: provider))
                } catch {
                    let failure = error as? AWSError ?? AWSError.credentials("sts:AssumeRole", "\(error)")
                    logger.error("assume role failed", metadata: ["role": "\(arn)", "error": "\(failure)"])
                    accounts.append(Account(id: provider.account, provider: provider, failure: failure))
                }
            }
        }

        var planned: [SliceID] = []
        var failures: [SliceID: AWSError] = [:]
        for account in accounts {
            var regions = configuration.regions
            if account.failure == nil, configuration.allRegions {
                do {
                    let ec2 = EC2Client(query: client(service: "ec2", region: home, apiVersion: EC2Client.apiVersion,
                                                      credentials: account.provider, account: account.id, http: http))
                    let partition = RegionName.partition(home)
                    regions = try ec2.describeRegions().filter { $0.isEnabled && RegionName.partition($0.name) == partition }.map(\.name).sorted()
                } catch {
                    logger.error("DescribeRegions failed", metadata: ["account": "\(account.id)", "error": "\(error)"])
                    regions = [home]
                    failures[SliceID(account: account.id, region: home)] = error
                }
            }
            for region in regions {
                let slice = SliceID(account: account.id, region: region)
                planned.append(slice)
                if let f = account.failure { failures[slice] = f }
            }
        }

        let slices = planned
        let failed = failures
        logger.info("polling", metadata: ["account": "\(identity.account)", "arn": "\(identity.arn)", "slices": "\(slices.count)"])
        let header = PollHeader(pollId: PollContext.newPollId(account: identity.account, at: polledAt), polledAt: polledAt,
                                identity: identity, slices: slices)
        try sink.begin(header)

        // Workers fetch and decode in parallel; the sink sees one page at a time, under a lock.
        let shared = SharedSink(sink)
        let outcomes = Mutex<[SliceID: SliceOutcome]>([:])
        let next = Mutex(0)
        let providers = Dictionary(accounts.map { ($0.id, $0.provider) }, uniquingKeysWith: { a, _ in a })
        let workerCount = max(1, min(configuration.concurrency, slices.count))
        let group = DispatchGroup()
        for _ in 0..<workerCount {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                let workerHTTP = HTTPClient(configuration: .init(environment: environment), logger: logger, cancellation: run.cancellation)
                defer { workerHTTP.close() }
                while true {
                    let index: Int = next.withLock { i in defer { i += 1 }; return i }
                    guard index < slices.count else { return }
                    let slice = slices[index]
                    let outcome: SliceOutcome
                    if let failure = failed[slice] {
                        outcome = SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: failure.errorCode, errorMessage: failure.description)
                    } else if run.cancellation.isCancelled {
                        outcome = SliceOutcome(slice: slice, status: .failed, instanceCount: 0, errorCode: "Interrupted", errorMessage: "not polled: the run was interrupted")
                    } else {
                        outcome = poll(slice, credentials: providers[slice.account]!, http: workerHTTP, into: shared)
                    }
                    outcomes.withLock { $0[slice] = outcome }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        sink = shared.take()
        if let error = shared.error { throw error }
        let ordered = outcomes.withLock { o in slices.compactMap { o[$0] } }
        try sink.end(header, outcomes: ordered)
        return ordered
    }

    private func poll(_ slice: SliceID, credentials: any CredentialProvider, http: HTTPClient, into shared: SharedSink<some PollSink>) -> SliceOutcome {
        let ec2 = EC2Client(query: client(service: "ec2", region: slice.region, apiVersion: EC2Client.apiVersion,
                                          credentials: credentials, account: slice.account, http: http))
        var count = 0
        do {
            if configuration.renderJSON {
                try ec2.describeRenderedInstances(pageSize: configuration.pageSize) { page in
                    count += page.count
                    try shared.deliver { try $0.rendered(page, slice: slice) }
                }
            } else {
                try ec2.describeInstances(pageSize: configuration.pageSize) { page in
                    count += page.count
                    try shared.deliver { try $0.instances(page, slice: slice) }
                }
            }
            logger.info("slice polled", metadata: ["slice": "\(slice)", "instances": "\(count)"])
            return SliceOutcome(slice: slice, status: .complete, instanceCount: count)
        } catch let error as AWSError {
            logger.error("slice failed", metadata: ["slice": "\(slice)", "error": "\(error)"])
            return SliceOutcome(slice: slice, status: .failed, instanceCount: count,
                                errorCode: error.isCancelled ? "Interrupted" : error.errorCode, errorMessage: error.description)
        } catch {
            // The sink failed (stdout closed): nothing more can be delivered.
            return SliceOutcome(slice: slice, status: .failed, instanceCount: count, errorCode: "Output", errorMessage: "\(error)")
        }
    }

    /// A Query client for `service` in `region`, sharing this poll's retry policy, budgets and statistics.
    public func client(service: String, region: String, apiVersion: String, credentials: any CredentialProvider, account: String, http: HTTPClient) -> AWSQueryClient {
        AWSQueryClient(
            endpoint: ServiceEndpoint.resolve(service: service, region: region, environment: environment),
            configuration: .init(apiVersion: apiVersion, retry: configuration.retry, timeout: configuration.requestTimeout),
            credentials: credentials, http: http, logger: logger, run: run, account: account)
    }
}

/// Serializes sink access across worker threads. The first sink error is kept and stops
/// delivery; the poll then ends with it.
final class SharedSink<Sink: PollSink>: @unchecked Sendable {
    private let lock = NSLock()
    private var sink: Sink
    private(set) var error: Error?

    init(_ sink: Sink) {
        self.sink = sink
    }

    func deliver(_ body: (inout Sink) throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        if let error { throw error }
        do {
            try body(&sink)
        } catch {
            self.error = error
            throw error
        }
    }

    func take() -> Sink {
        lock.lock()
        defer { lock.unlock() }
        return sink
    }
}

/// Picks the regions to poll, in the SDKs' order: explicit list, `AWS_REGION`,
/// `AWS_DEFAULT_REGION`, then the instance's own region from IMDS.
public enum RegionResolver {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let description: String
        /// True when the region was simply not given anywhere, false when it was given but is
        /// not a region name.
        public let missing: Bool
    }

    public static func resolve(explicit: [String], environment: Environment, imds: IMDSClient?) throws(Error) -> [String] {
        var regions = explicit.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        if regions.isEmpty, let r = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] {
            regions = [r]
        }
        var imdsProblem = "IMDS is disabled"
        if regions.isEmpty, let imds, !environment.isTrue("AWS_EC2_METADATA_DISABLED") {
            do {
                let r = try imds.get("meta-data/placement/region").trimmingCharacters(in: .whitespacesAndNewlines)
                if !r.isEmpty { regions = [r] }
            } catch {
                imdsProblem = error.description
            }
        }
        guard !regions.isEmpty else {
            throw Error(description: "no region: pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (\(imdsProblem))", missing: true)
        }
        var seen = Set<String>()
        regions = regions.filter { seen.insert($0).inserted }
        if let bad = regions.first(where: { !RegionName.isValid($0) }) {
            throw Error(description: "\"\(bad)\" is not an AWS region name (e.g. us-east-1)", missing: false)
        }
        return regions
    }
}
