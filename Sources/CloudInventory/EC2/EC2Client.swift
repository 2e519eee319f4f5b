@_spi(Bytes) import AWSCore

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

    /// The most pages one slice may take: 10,000 pages of 1000 is ten million instances, far
    /// past any account's limit, yet at the request budget (10/s) it ends a server that pages
    /// forever with fresh tokens in about 17 minutes (repeated tokens end at the first repeat).
    public static let maxPages = 10_000

    /// Pages through DescribeInstances, handing each page to `onPage` as it arrives, rendered
    /// from the XML (`RenderedPage`), so memory stays at one page however large the fleet.
    /// Each instance document is the CLI's `Reservations[].Instances[]` entry plus `Region`,
    /// `ReservationId` and `OwnerId`. `contents` says what each page carries: JSON, text/csv
    /// rows, content hashes for storage. An instance EC2 lists on two pages is handed over
    /// once. Returns the number handed over.
    @discardableResult
    public func describeInstances(pageSize: Int = EC2Client.pageSize, selection: PollSelection = PollSelection(),
                                  contents: RenderedPage.Contents = [.json, .rows],
                                  onPage: (RenderedPage) throws -> Void) throws -> Int {
        try paginate(pageSize: pageSize, selection: selection, fetch: { (parameters, seen) throws(AWSError) in
            try fetchPage(parameters, seen: &seen, contents: contents)
        }, onPage: onPage)
    }

    /// Follows `NextToken` with `MaxResults` until EC2 stops returning one. A token seen
    /// before in this slice (a cycle, however long) or a page past `maxPages` is an error:
    /// pagination always ends, and a slice that did not end properly marks nothing vanished.
    /// `seen` holds the instance ids handed over so far, for `fetch` to drop repeats; each
    /// page's storage is recycled once `onPage` has it written.
    private func paginate(pageSize: Int, selection: PollSelection, fetch: ([(String, String)], inout InstanceIdSet) throws(AWSError) -> RenderedPage,
                          onPage: (RenderedPage) throws -> Void) throws -> Int {
        var nextToken: String?
        var tokens = Set<String>()
        var seen = InstanceIdSet()
        var total = 0
        var pages = 0
        repeat {
            guard pages < Self.maxPages else {
                throw AWSError.malformed("ec2:DescribeInstances", "more than \(Self.maxPages) pages: pagination does not end")
            }
            var parameters = Self.parameters(pageSize: pageSize, selection: selection)
            if let nextToken { parameters.append(("NextToken", nextToken)) }
            var page = try fetch(parameters, &seen)
            let (count, token) = (page.count, page.nextToken)
            pages += 1
            total += count
            try onPage(page)
            ByteBufferPool.shared.recycle(&page.json)
            if let token, !tokens.insert(token).inserted {
                throw AWSError.malformed("ec2:DescribeInstances", "page \(pages) repeats an earlier NextToken: pagination would never end")
            }
            nextToken = token
        } while nextToken != nil
        return total
    }

    /// One request's parameters before its `NextToken`. EC2 refuses `MaxResults` together
    /// with `InstanceId.N` (and then answers every listed instance at once), so a poll by ids
    /// sends no page size.
    static func parameters(pageSize: Int, selection: PollSelection) -> [(String, String)] {
        let page = selection.instanceIds.isEmpty ? [("MaxResults", String(pageSize))] : []
        return page + selection.queryParameters
    }

    /// One page, rendered. The response body dies here, before the page goes to the sink.
    private func fetchPage(_ parameters: [(String, String)], seen: inout InstanceIdSet,
                           contents: RenderedPage.Contents) throws(AWSError) -> RenderedPage {
        var body = try query.call("DescribeInstances", parameters)
        defer { ByteBufferPool.shared.recycle(&body) }
        var page: RenderedPage
        do {
            page = try ShapeDecoder.renderInstancesPage(body, region: region, contents: contents)
        } catch {
            throw AWSError.malformed("ec2:DescribeInstances", error.description)
        }
        let repeats = page.dropRepeats(seen: &seen)
        if repeats > 0 {
            query.logger.notice("EC2 listed instances twice; each is kept once", metadata: ["region": "\(region)", "repeats": "\(repeats)"])
        }
        return page
    }

    struct InstancesPage {
        var instances: [JSONValue]
        var nextToken: String?
    }

    /// EC2 always sends `<reservationSet/>`, even for no instances. A body without it (a
    /// self-closed response, another service's answer in EC2's namespace) is no proof that the
    /// region is empty, so it fails the slice instead of vanishing every stored instance.
    static func missingReservations(at offset: Int) -> XMLError {
        XMLError.malformed("no <reservationSet> in the response", at: offset)
    }

    /// One page as values, by the same walk as the rendered page (`TreeVisitor`): the
    /// reference the rendered page is held to.
    static func decodeInstancesPage(_ body: [UInt8], region: String) throws(AWSError) -> InstancesPage {
        var decoder = ShapeDecoder(body)
        var tree = TreeVisitor(region: region)
        do throws(XMLError) {
            let token = try decoder.walkPage(into: &tree)
            return InstancesPage(instances: tree.instances, nextToken: token)
        } catch {
            throw AWSError.malformed("ec2:DescribeInstances", error.description)
        }
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
        let regions: [RegionInfo] = (document["Regions"]?.arrayValue ?? []).compactMap { r in
            guard let name = r["RegionName"]?.stringValue else { return nil }
            return RegionInfo(name: name, endpoint: r["Endpoint"]?.stringValue ?? "",
                              optInStatus: r["OptInStatus"]?.stringValue ?? "opt-in-not-required")
        }
        // Every account has enabled regions: none means the answer is not what it claims to
        // be, and polling no region would report an empty inventory as complete.
        guard regions.contains(where: \.isEnabled) else {
            throw AWSError.malformed("ec2:DescribeRegions", "the response lists no enabled region")
        }
        return regions
    }
}
