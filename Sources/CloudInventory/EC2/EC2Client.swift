/// EC2 over the Query protocol (`Version=2016-11-15`).
public struct EC2Client: Sendable {
    public static let apiVersion = "2016-11-15"
    /// The largest page EC2 allows; fewer round trips for big fleets.
    public static let pageSize = 1000

    public let query: AWSQueryClient

    public init(query: AWSQueryClient) {
        self.query = query
    }

    public var region: String { query.endpoint.region }

    /// Pages through DescribeInstances, handing each page's instances to `onPage` as they
    /// arrive, so memory stays at one page however large the fleet. Each instance document is
    /// the CLI's `Reservations[].Instances[]` entry plus `Region`, `ReservationId` and `OwnerId`.
    /// Returns the number of instances seen.
    @discardableResult
    public func describeInstances(pageSize: Int = EC2Client.pageSize, onPage: ([JSONValue]) throws -> Void) throws -> Int {
        try paginate(pageSize: pageSize, fetch: fetchPage, next: { ($0.instances.count, $0.nextToken) }) { try onPage($0.instances) }
    }

    /// Like `describeInstances`, but each page arrives already rendered as JSON (the same
    /// documents, byte for byte as `JSONValue.write` would give), skipping the value tree.
    @discardableResult
    public func describeRenderedInstances(pageSize: Int = EC2Client.pageSize, onPage: (RenderedPage) throws -> Void) throws -> Int {
        try paginate(pageSize: pageSize, fetch: fetchRenderedPage, next: { ($0.count, $0.nextToken) }, onPage: onPage)
    }

    /// Follows `NextToken` with `MaxResults` until EC2 stops returning one.
    private func paginate<Page>(pageSize: Int, fetch: ([(String, String)]) throws(AWSError) -> Page,
                                next: (Page) -> (count: Int, token: String?), onPage: (Page) throws -> Void) throws -> Int {
        var nextToken: String?
        var total = 0
        var pages = 0
        repeat {
            var parameters = [("MaxResults", String(pageSize))]
            if let nextToken { parameters.append(("NextToken", nextToken)) }
            let page = try fetch(parameters)
            let (count, token) = next(page)
            pages += 1
            total += count
            try onPage(page)
            if let token, token == nextToken {
                throw AWSError.malformed("ec2:DescribeInstances", "NextToken did not advance after page \(pages)")
            }
            nextToken = token
        } while nextToken != nil
        return total
    }

    private func fetchRenderedPage(_ parameters: [(String, String)]) throws(AWSError) -> RenderedPage {
        let body = try query.call("DescribeInstances", parameters)
        if let page = try? ShapeDecoder.renderInstancesPage(body, region: region) { return page }
        // Anything unusual (a repeated element, malformed XML) takes the exact path, which
        // either handles it or reports the error properly.
        let values = try Self.decodeInstancesPage(body, region: region)
        var json: [UInt8] = []
        var states: [String: Int] = [:]
        for (i, instance) in values.instances.enumerated() {
            if i > 0 { json.append(UInt8(ascii: ",")) }
            instance.write(to: &json)
            states[instance["State"]?["Name"]?.stringValue ?? "unknown", default: 0] += 1
        }
        return RenderedPage(json: json, count: values.instances.count, states: states, nextToken: values.nextToken)
    }

    /// One page, decoded. The response body dies here, before the page goes to the sink.
    private func fetchPage(_ parameters: [(String, String)]) throws(AWSError) -> InstancesPage {
        try Self.decodeInstancesPage(try query.call("DescribeInstances", parameters), region: region)
    }

    struct InstancesPage {
        var instances: [JSONValue]
        var nextToken: String?
    }

    /// Decodes one reservation at a time and flattens it at once, so a page never exists
    /// twice in memory (as reservations and as instances).
    static func decodeInstancesPage(_ body: [UInt8], region: String) throws(AWSError) -> InstancesPage {
        var instances: [JSONValue] = []
        var token: String?
        var decoder = ShapeDecoder(body)
        do {
            try decoder.forEachItem(of: EC2Model.describeInstancesResult, list: "Reservations",
                                    scalar: { name, value in if name == "NextToken" { token = value } }) { reservation in
                let extra = [
                    JSONMember("Region", .string(region)),
                    JSONMember("ReservationId", reservation["ReservationId"] ?? .null),
                    JSONMember("OwnerId", reservation["OwnerId"] ?? .null),
                ]
                for instance in reservation["Instances"]?.arrayValue ?? [] {
                    guard case let .object(members) = instance else { continue }
                    instances.append(.object(members + extra))
                }
            }
        } catch {
            throw AWSError.malformed("ec2:DescribeInstances", error.description)
        }
        return InstancesPage(instances: instances, nextToken: token?.isEmpty == false ? token : nil)
    }

    /// Asks EC2 whether DescribeInstances would be allowed, without doing it (`DryRun`).
    /// EC2 answers `DryRunOperation` when it would; `UnauthorizedOperation` when not.
    public func canDescribeInstances() throws(AWSError) {
        do {
            _ = try query.call("DescribeInstances", [("DryRun", "true"), ("MaxResults", "5")])
        } catch where error.errorCode == "DryRunOperation" {
            return
        }
    }

    public struct RegionInfo: Sendable, Equatable {
        public var name: String
        public var endpoint: String
        public var optInStatus: String
        /// `opt-in-not-required` and `opted-in` regions can be polled; `not-opted-in` cannot.
        public var isEnabled: Bool { optInStatus != "not-opted-in" }
    }

    public func describeRegions() throws(AWSError) -> [RegionInfo] {
        let body = try query.call("DescribeRegions", [("AllRegions", "true")])
        var decoder = ShapeDecoder(body)
        let document: JSONValue
        do {
            document = try decoder.decodeDocument(as: EC2Model.describeRegionsResult).value
        } catch {
            throw AWSError.malformed("ec2:DescribeRegions", error.description)
        }
        return (document["Regions"]?.arrayValue ?? []).compactMap { r in
            guard let name = r["RegionName"]?.stringValue else { return nil }
            return RegionInfo(name: name, endpoint: r["Endpoint"]?.stringValue ?? "",
                              optInStatus: r["OptInStatus"]?.stringValue ?? "opt-in-not-required")
        }
    }
}
