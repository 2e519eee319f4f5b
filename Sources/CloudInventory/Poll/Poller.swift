import Foundation
import Logging

/// What a poll found in one region. A failed region has an error and no instances counted as
/// complete; later stages (the database's vanish logic) only trust `.complete` regions.
public struct RegionOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        case complete = "ok"
        case failed = "error"
    }

    public var region: String
    public var status: Status
    public var instanceCount: Int
    public var errorCode: String?
    public var errorMessage: String?

    public var json: JSONValue {
        var members = [
            JSONMember("Region", .string(region)),
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
    public var regions: [String]

    public var context: PollContext {
        PollContext(pollId: pollId, account: identity.account, arn: identity.arn, polledAt: polledAt)
    }
}

/// Receives a poll as it happens, page by page, so nothing needs the whole fleet in memory.
/// Calls arrive in order: `begin`, then any number of `instances`, then `end`.
public protocol PollSink {
    mutating func begin(_ header: PollHeader) throws
    mutating func instances(_ page: [JSONValue], region: String) throws
    mutating func end(_ header: PollHeader, outcomes: [RegionOutcome]) throws
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

    public mutating func instances(_ page: [JSONValue], region: String) throws {
        try first.instances(page, region: region)
        try second.instances(page, region: region)
    }

    public mutating func end(_ header: PollHeader, outcomes: [RegionOutcome]) throws {
        try first.end(header, outcomes: outcomes)
        try second.end(header, outcomes: outcomes)
    }
}

/// One poll: who am I (STS), then every page of DescribeInstances in every region.
public struct Poller: Sendable {
    public struct Configuration: Sendable {
        public var regions: [String]
        public var retry: RetryPolicy = RetryPolicy()
        public var requestTimeout: Duration = .seconds(30)
        /// DescribeInstances `MaxResults` (EC2 allows 5 to 1000).
        public var pageSize: Int = EC2Client.pageSize

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

    public init(configuration: Configuration, credentials: any CredentialProvider, environment: Environment, logger: Logger) {
        self.configuration = configuration
        self.credentials = credentials
        self.environment = environment
        self.logger = logger
    }

    /// Runs the poll into `sink`. Throws only when nothing could be polled at all (no
    /// credentials, STS failed); a failing region is reported in its outcome instead.
    public func run<Sink: PollSink>(into sink: inout Sink, http: HTTPClient) throws -> [RegionOutcome] {
        precondition(!configuration.regions.isEmpty, "at least one region")
        let polledAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let stsRegion = configuration.regions[0]
        let sts = STSClient(query: client(service: "sts", region: stsRegion, apiVersion: STSClient.apiVersion, http: http))
        let identity = try sts.getCallerIdentity()
        logger.info("polling", metadata: ["account": "\(identity.account)", "arn": "\(identity.arn)", "regions": "\(configuration.regions.joined(separator: ","))"])
        let header = PollHeader(pollId: PollContext.newPollId(account: identity.account, at: polledAt),
                                polledAt: polledAt, identity: identity, regions: configuration.regions)
        try sink.begin(header)
        var outcomes: [RegionOutcome] = []
        for region in configuration.regions {
            let ec2 = EC2Client(query: client(service: "ec2", region: region, apiVersion: EC2Client.apiVersion, http: http))
            var count = 0
            do {
                try ec2.describeInstances(pageSize: configuration.pageSize) { page in
                    count += page.count
                    try sink.instances(page, region: region)
                }
                outcomes.append(RegionOutcome(region: region, status: .complete, instanceCount: count))
                logger.info("region polled", metadata: ["region": "\(region)", "instances": "\(count)"])
            } catch let error as AWSError {
                if error.isCredentialFailure { throw error }
                logger.error("region failed", metadata: ["region": "\(region)", "error": "\(error)"])
                outcomes.append(RegionOutcome(region: region, status: .failed, instanceCount: count,
                                              errorCode: error.errorCode, errorMessage: error.description))
            }
        }
        try sink.end(header, outcomes: outcomes)
        return outcomes
    }

    func client(service: String, region: String, apiVersion: String, http: HTTPClient) -> AWSQueryClient {
        AWSQueryClient(
            endpoint: ServiceEndpoint.resolve(service: service, region: region, environment: environment),
            configuration: .init(apiVersion: apiVersion, retry: configuration.retry, timeout: configuration.requestTimeout),
            credentials: credentials, http: http, logger: logger)
    }
}

/// Picks the regions to poll, in the SDKs' order: explicit list, `AWS_REGION`,
/// `AWS_DEFAULT_REGION`, then the instance's own region from IMDS.
public enum RegionResolver {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let description: String
        /// True when the region was simply not given anywhere (a configuration error, exit 2),
        /// false when it was given but is not a region name.
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

/// A sink that may be absent: storage, when no database is configured.
extension Optional: PollSink where Wrapped: PollSink {
    public mutating func begin(_ header: PollHeader) throws { try self?.begin(header) }
    public mutating func instances(_ page: [JSONValue], region: String) throws { try self?.instances(page, region: region) }
    public mutating func end(_ header: PollHeader, outcomes: [RegionOutcome]) throws { try self?.end(header, outcomes: outcomes) }
}
