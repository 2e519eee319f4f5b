@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// The fast paths against the reference path (the value tree): the same bytes for JSON, the
/// same values for storage, and content hashes that do not depend on the order of elements.
@Suite struct FastPathTests {
    /// Two instances; `reordered` sends the same instances with elements in another order, at
    /// the top level and inside nested structures.
    static func page(reordered: Bool) -> [UInt8] {
        let first = reordered
            ? "<instanceType>t3.micro</instanceType><tagSet><item><value>web</value><key>Name</key></item></tagSet><instanceState><name>running</name><code>16</code></instanceState><instanceId>i-1</instanceId><placement><tenancy>default</tenancy><availabilityZone>eu-west-1a</availabilityZone></placement>"
            : "<instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState><instanceType>t3.micro</instanceType><placement><availabilityZone>eu-west-1a</availabilityZone><tenancy>default</tenancy></placement><tagSet><item><key>Name</key><value>web</value></item></tagSet>"
        let second = reordered
            ? "<ebsOptimized>true</ebsOptimized><amiLaunchIndex>0</amiLaunchIndex><instanceId>i-2</instanceId>"
            : "<instanceId>i-2</instanceId><amiLaunchIndex>0</amiLaunchIndex><ebsOptimized>true</ebsOptimized>"
        let owner = reordered ? "<ownerId>111</ownerId><reservationId>r-1</reservationId>" : "<reservationId>r-1</reservationId><ownerId>111</ownerId>"
        return Array("""
        <DescribeInstancesResponse><reservationSet><item>\(owner)<instancesSet><item>\(first)</item><item>\(second)</item></instancesSet></item></reservationSet></DescribeInstancesResponse>
        """.utf8)
    }

    @Test func renderedHashesEqualTheTreesAndIgnoreElementOrder() throws {
        var hashes: [[String]] = []
        for reordered in [false, true] {
            let bytes = Self.page(reordered: reordered)
            let tree = try EC2Client.decodeInstancesPage(bytes, region: "eu-west-1").instances
            let rendered = try ShapeDecoder.renderInstancesPage(bytes, region: "eu-west-1", contents: [.json, .rows, .hashes])
            #expect(rendered.hashes == tree.map(InventoryStore.contentHash))
            #expect(rendered.stateNames == ["running", nil])
            #expect(rendered.rows == tree.map(InstanceRow.init))
            #expect(rendered.rows[0].cells == ["eu-west-1", "i-1", "running", "t3.micro", "eu-west-1a", "", "", "web"])
            #expect(try (0..<rendered.count).map { try rendered.value(at: $0) } == tree)
            let fromValues = RenderedPage(values: tree, nextToken: nil, hashing: true)
            #expect(fromValues.json == rendered.json)
            #expect(fromValues.hashes == rendered.hashes)
            hashes.append(rendered.hashes)
        }
        #expect(hashes[0] == hashes[1])
        #expect(Set(hashes[0]).count == 2)
    }

    /// The bench's world (1000 instances with every field the replay server sends): the
    /// rendered JSON is byte-equal to the tree's, the values and their BSON equal.
    @Test func theRenderedPageEqualsTheTreeOnTheBenchWorld() throws {
        let bench = Harness.repoRoot.appendingPathComponent("bench").path
        let script = "import sys; sys.path.insert(0, '\(bench)'); import replay_server; sys.stdout.buffer.write(replay_server.render_pages(1000)[0][0])"
        let result = try runProcess(Harness.python, Harness.pythonArguments(["-c", script]), environment: Harness.baseEnvironment())
        #expect(result.status == 0, "\(result.stderr)")
        let bytes = Array(result.stdout.utf8)
        let tree = try EC2Client.decodeInstancesPage(bytes, region: "us-east-1").instances
        let rendered = try ShapeDecoder.renderInstancesPage(bytes, region: "us-east-1", contents: [.json, .rows, .hashes])
        #expect(rendered.count == 1000)
        #expect(String(decoding: RenderedPage(values: tree, nextToken: nil, hashing: false).json, as: UTF8.self)
            == String(decoding: rendered.json, as: UTF8.self))
        #expect(rendered.hashes == tree.map(InventoryStore.contentHash))
        #expect(rendered.rows == tree.map(InstanceRow.init))
        #expect(rendered.rows.allSatisfy { $0.id != nil && $0.zone != nil && $0.name != nil })
        let rows = try ShapeDecoder.renderInstancesPage(bytes, region: "us-east-1", contents: [.rows])
        #expect(rows.rows == rendered.rows && rows.json.isEmpty && rows.states == rendered.states && rows.instanceIds == rendered.instanceIds)
        // Without `.rows` (json and storage): the same page, but no cells made.
        let plain = try ShapeDecoder.renderInstancesPage(bytes, region: "us-east-1", contents: [.json, .hashes])
        #expect(plain.json == rendered.json && plain.spans == rendered.spans && plain.hashes == rendered.hashes)
        #expect(plain.instanceIds == rendered.instanceIds && plain.stateNames == rendered.stateNames && plain.states == rendered.states)
        #expect(plain.rows.isEmpty)
        try Self.expectFirstSightingsEqualTheTrees(rendered, tree)
        for i in 0..<rendered.count {
            #expect(BSONValue(try rendered.value(at: i)) == BSONValue(tree[i]))
        }
    }

    /// The row's edge cases: control characters in a cell, the first of two `Name` tags, one
    /// without a value, `key`/`value` met outside a tag, no tags at all.
    @Test func renderedRowsEqualTheTreesOnEdgeCases() throws {
        let instances = [
            "<instanceId>i-1</instanceId><tagSet><item><key>env</key><value>x</value></item><item><value>a&#x9;b&#xA;c&#x85;d\u{2028}</value><key>Name</key></item><item><key>Name</key><value>second</value></item></tagSet>",
            "<tagSet><item><key>Name</key></item><item><key>Name</key><value>later</value></item></tagSet><instanceId>i-2</instanceId>",
            "<instanceId>i-3</instanceId><placement><groupName>Name</groupName></placement><privateIpAddress>10.0.0.1</privateIpAddress><ipAddress>203.0.113.1</ipAddress>",
            "<instanceState><code>0</code></instanceState>",
        ]
        let body = Array("""
        <DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId><instancesSet>\(instances.map { "<item>\($0)</item>" }.joined())</instancesSet></item></reservationSet></DescribeInstancesResponse>
        """.utf8)
        let tree = try EC2Client.decodeInstancesPage(body, region: "eu-west-1").instances
        let rendered = try ShapeDecoder.renderInstancesPage(body, region: "eu-west-1")
        #expect(rendered.rows == tree.map(InstanceRow.init))
        #expect(try ShapeDecoder.renderInstancesPage(body, region: "eu-west-1", contents: [.rows]).rows == rendered.rows)
        #expect(rendered.rows.map(\.name) == ["a\tb\nc\u{85}d\u{2028}", nil, nil, nil])
        #expect(rendered.rows[2].privateIp == "10.0.0.1" && rendered.rows[2].publicIp == "203.0.113.1")
    }

    /// Strings escaped straight from the body (one plain ASCII run) and those made into a
    /// String first (entities, CDATA, runs split by a comment, non-ASCII, invalid UTF-8) give
    /// the tree's bytes.
    @Test(arguments: ["plain", "a &amp; b", "<![CDATA[x<y]]>", "<![CDATA[a]]>b", "a<!-- c -->b", "", "ünï \"q\" \\", "tab\tnl\ncr\r",
                      "bad \u{FFFD}"])
    func everyFormOfAStringRendersAsTheTreeDoes(_ value: String) throws {
        var body = Array("<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><architecture>".utf8)
        body += value == "bad \u{FFFD}" ? [0x62, 0x61, 0x64, 0x20, 0xC3, 0x28] : Array(value.utf8)
        body += Array("</architecture></item></instancesSet></item></reservationSet></DescribeInstancesResponse>".utf8)
        let tree = try EC2Client.decodeInstancesPage(body, region: "eu-west-1").instances
        let rendered = try ShapeDecoder.renderInstancesPage(body, region: "eu-west-1", contents: [.json, .rows, .hashes])
        #expect(String(decoding: rendered.json, as: UTF8.self) == String(decoding: RenderedPage(values: tree, nextToken: nil, hashing: false).json, as: UTF8.self))
        #expect(rendered.hashes == tree.map(InventoryStore.contentHash))
        try Self.expectFirstSightingsEqualTheTrees(rendered, tree)
    }

    /// A new instance's insert written straight from the rendered JSON is byte-equal to the
    /// one the value path builds from the tree (`InstanceUpdate.newInstance`).
    static func expectFirstSightingsEqualTheTrees(_ rendered: RenderedPage, _ tree: [JSONValue]) throws {
        let order = PollOrder(milliseconds: 1_764_000_000_123, pollId: "p-1")
        let pending: [BSONValue] = [["_id": "e-1", "Type": "appeared"]]
        try #require(rendered.count == tree.count && rendered.spans.count == tree.count && rendered.hashes.count == tree.count)
        for (i, instance) in tree.enumerated() {
            guard case let .object(members) = instance else { Issue.record("instance \(i) is not an object"); continue }
            let update = InstanceUpdate(account: "123456789012", members: members, hash: rendered.hashes[i], order: order)
            guard case let .updateOne(_, expected, _) = update.newInstance(key: "k", pending: pending) else { Issue.record("not an updateOne"); continue }
            let encoded = try InstanceUpdate.firstSighting(json: rendered.json, span: rendered.spans[i], account: "123456789012",
                                                           hash: rendered.hashes[i], order: order, pending: pending)
            #expect(encoded == expected.encoded(), "instance \(i)")
            var fromValues = BSONWriter()
            InstanceUpdate.firstSighting(members: members, account: "123456789012", hash: rendered.hashes[i], order: order,
                                         pending: pending, to: &fromValues)
            #expect(fromValues.bytes == expected.encoded(), "instance \(i), from values")
        }
    }

    /// The canonical form orders an object's keys by their UTF-8 bytes, whatever the keys:
    /// shared prefixes longer than eight bytes, NULs, non-ASCII, empty.
    @Test func canonicalOrderIsTheKeysByteOrder() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "b", "A", "\u{0}", "é", "😀", "NetworkInterface", "z"]
        for _ in 0..<200 {
            let keys = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            }
            let object = JSONValue.object(keys.enumerated().map { JSONMember($0.element, .int(Int64($0.offset))) })
            guard case let .object(sorted) = object.canonical else { Issue.record("not an object"); return }
            #expect(sorted.map { Array($0.key.utf8) } == keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
            let nested = JSONValue.array([object, .object([JSONMember("z", object), JSONMember("a", .array([object]))])])
            var direct: [UInt8] = [], viaTree: [UInt8] = []
            nested.writeCanonical(to: &direct)
            nested.canonical.write(to: &viaTree)
            #expect(direct == viaTree)
        }
    }

    /// Rows only, a page is checked as rendering checks it: what the renderer refuses (and
    /// hands to the exact path) is refused here too.
    @Test(arguments: ["<amiLaunchIndex>x</amiLaunchIndex>", "<architecture>a &bogus b</architecture>",
                      "<architecture>a</architecture><architecture>b</architecture>", "<instanceId>i-1<b/></instanceId>"])
    func rowsOnlyRefusesWhatRenderingRefuses(_ instance: String) {
        let body = Array("<DescribeInstancesResponse><reservationSet><item><instancesSet><item>\(instance)</item></instancesSet></item></reservationSet></DescribeInstancesResponse>".utf8)
        #expect(throws: XMLError.self) { try ShapeDecoder.renderInstancesPage(body, region: "eu-west-1") }
        #expect(throws: XMLError.self) { try ShapeDecoder.renderInstancesPage(body, region: "eu-west-1", contents: [.rows]) }
    }

    /// Every DescribeInstances page of the test world, in every region, fetched here with the
    /// role's credentials and read both ways: rendered as the poller renders it for `format`
    /// (the page contents `Run` asks for) and decoded into the value tree. Each format's output
    /// is byte-equal: json the page's bytes against the instances written one by one, ndjson
    /// each line as `FormattingSink.rendered` splices it from the page against the line the
    /// value path writes, text and csv the row's cells (one `TableWriter` turns cells into
    /// bytes on both paths). In process, so the binary carries no switch to the tree path.
    @Test(arguments: ["text", "ndjson", "csv", "json"])
    func theRenderedPollEqualsTheTreesOnTheWorld(_ format: String) async throws {
        let world = try await World.shared()
        let logger = Logger(label: "fast-path-test")
        let http = HTTPClient(logger: logger)
        defer { http.close() }
        let role = world.roleCredentials
        let credentials = StaticProvider(Credentials(accessKeyId: role["AccessKeyId"]!, secretAccessKey: role["SecretAccessKey"]!,
                                                     sessionToken: role["Token"]))
        let contents: RenderedPage.Contents = format == "text" || format == "csv" ? [.rows] : [.json]
        var compared = 0
        for region in world.regions {
            let ec2 = EC2Client(query: AWSQueryClient(endpoint: ServiceEndpoint(service: "ec2", region: region, url: world.motoURL),
                                                      configuration: .init(apiVersion: EC2Client.apiVersion), credentials: credentials,
                                                      http: http, logger: logger))
            var token: String?
            var instances = 0
            repeat {
                var parameters = EC2Client.parameters(pageSize: EC2Client.pageSize, selection: PollSelection())
                if let token { parameters.append(("NextToken", token)) }
                let body = try ec2.query.call("DescribeInstances", parameters)
                let tree = try EC2Client.decodeInstancesPage(body, region: region)
                // The poller renders every page of the world (no fallback to the tree for any).
                let page = try ShapeDecoder.renderInstancesPage(body, region: region, contents: contents)
                try #require(page.count == tree.instances.count && page.nextToken == tree.nextToken, "\(region)")
                let (rendered, reference) = try Self.formatted(format, page, tree.instances, account: world.account)
                #expect(rendered == reference, "\(region), page after \(token ?? "none")")
                compared += rendered.count
                instances += page.count
                token = tree.nextToken
            } while token != nil
            #expect(instances == world.counts[region], "\(region)")
        }
        #expect(compared > 100 * world.counts.values.reduce(0, +))
    }

    /// One page of a poll's output in `format` from the rendered page (as
    /// `FormattingSink.rendered` writes it) and from the tree (as `FormattingSink.instances`
    /// writes it), without the poll's header and footer, which the two paths share. text and
    /// csv: each row's cells as a JSON array, a row a line (every cell compared, whatever its bytes).
    static func formatted(_ format: String, _ page: RenderedPage, _ tree: [JSONValue], account: String) throws -> ([UInt8], [UInt8]) {
        var rendered: [UInt8] = [], reference: [UInt8] = []
        let polledAt = "2026-12-07T12:00:00Z"
        switch format {
        case "json":
            rendered = page.json
            for (i, instance) in tree.enumerated() {
                if i > 0 { reference.append(UInt8(ascii: ",")) }
                instance.write(to: &reference)
            }
        case "ndjson":
            try #require(page.spans.count == page.count)
            let prefix = Array("{\"PolledAt\":\(JSONValue.string(polledAt).serialized()),\"Account\":\(JSONValue.string(account).serialized())".utf8)
            for span in page.spans {
                let members = page.json[(span.lowerBound + 1)..<span.upperBound]
                rendered += prefix + (members.count > 1 ? [UInt8(ascii: ",")] : []) + members + [UInt8(ascii: "\n")]
            }
            for instance in tree {
                guard case let .object(members) = instance else { Issue.record("an instance is not an object"); continue }
                JSONValue.object([JSONMember("PolledAt", .string(polledAt)), JSONMember("Account", .string(account))] + members)
                    .write(to: &reference)
                reference.append(UInt8(ascii: "\n"))
            }
        default:
            try #require(page.rows.count == page.count)
            let line = { (cells: [String], to: inout [UInt8]) in
                JSONValue.array(cells.map { .string($0) }).write(to: &to)
                to.append(UInt8(ascii: "\n"))
            }
            for row in page.rows { line([polledAt, account] + row.cells, &rendered) }
            for instance in tree { line([polledAt, account] + InstanceRow(instance).cells, &reference) }
        }
        return (rendered, reference)
    }

    /// A later poll of the same instances, sent with their elements reordered, is "unchanged":
    /// no event, no instance write beyond moving `LastSeen`.
    @Test func aReorderedInstanceIsUnchangedInTheDatabase() throws {
        let mongo = try TestMongo(.mock)
        let logger = Logger(label: "fast-path-test")
        let store = InventoryStore(client: try MongoClient(uri: MongoURI(mongo.uri), logger: logger), database: mongo.database, logger: logger)
        defer { store.close() }
        let slice = SliceID(account: "111", region: "eu-west-1")
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        for (n, reordered) in [false, true].enumerated() {
            let at = now.addingTimeInterval(Double(n))
            let poll = PollContext(pollId: PollContext.newPollId(account: "111", at: at), account: "111", arn: "arn:test", polledAt: at)
            let page = try ShapeDecoder.renderInstancesPage(Self.page(reordered: reordered), region: "eu-west-1", contents: [.json, .rows, .hashes])
            try store.write(rendered: page, slice: slice, poll: poll)
        }
        let events = try store.client.find(store.database, InventoryStore.events, filter: [:])
        #expect(events.compactMap { $0["Type"]?.stringValue } == ["appeared", "appeared"])
        let instances = try store.client.find(store.database, InventoryStore.instances, filter: [:])
        #expect(instances.count == 2)
        for doc in instances {
            #expect(doc["LastChanged"] == doc["FirstSeen"])
            #expect(doc["LastSeen"] != doc["FirstSeen"])
        }
    }

    /// A page whose new instance can be neither encoded nor read back fails with nothing
    /// written: no `appeared` event without its instance, and not the page's other instances.
    @Test func anUnreadableNewInstanceFailsThePageWithNothingWritten() throws {
        let mongo = try TestMongo(.mock)
        let logger = Logger(label: "fast-path-test")
        let store = InventoryStore(client: try MongoClient(uri: MongoURI(mongo.uri), logger: logger), database: mongo.database, logger: logger)
        defer { store.close() }
        let good = #"{"InstanceId":"i-1","State":{"Name":"running"}}"#, bad = #"{"InstanceId":"i-2","State":{"Name":"#
        var page = RenderedPage(json: Array((good + "," + bad).utf8), count: 2, states: ["running": 2], nextToken: nil,
                                instanceIds: ["i-1", "i-2"])
        page.spans = [0..<good.utf8.count, (good.utf8.count + 1)..<(good.utf8.count + 1 + bad.utf8.count)]
        page.stateNames = ["running", "running"]
        page.hashes = ["h1", "h2"]
        let at = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let poll = PollContext(pollId: PollContext.newPollId(account: "111", at: at), account: "111", arn: "arn:test", polledAt: at)
        #expect(throws: MongoError.self) {
            try store.write(rendered: page, slice: SliceID(account: "111", region: "eu-west-1"), poll: poll)
        }
        #expect(try store.client.find(store.database, InventoryStore.events, filter: [:]).isEmpty)
        #expect(try store.client.find(store.database, InventoryStore.instances, filter: [:]).isEmpty)
    }

    /// New instances are written in bulks of `newPerBulk`, each after its own events. An
    /// unreadable instance in a later bulk leaves the earlier bulks written whole and nothing
    /// of its own: every event still has its instance, and every instance its event.
    @Test func anUnreadableInstanceInALaterBulkLeavesNoEventWithoutItsInstance() throws {
        let mongo = try TestMongo(.mock)
        let logger = Logger(label: "fast-path-test")
        let store = InventoryStore(client: try MongoClient(uri: MongoURI(mongo.uri), logger: logger), database: mongo.database, logger: logger)
        defer { store.close() }
        let goods = InventoryStore.newPerBulk + 40
        var json: [UInt8] = [], spans: [Range<Int>] = [], ids: [String] = []
        for n in 0...goods {
            if n > 0 { json.append(UInt8(ascii: ",")) }
            let text = n < goods ? #"{"InstanceId":"i-\#(n)","State":{"Name":"running"}}"# : #"{"InstanceId":"i-bad","State":{"Name":"#
            spans.append(json.count..<(json.count + text.utf8.count))
            json += Array(text.utf8)
            ids.append(n < goods ? "i-\(n)" : "i-bad")
        }
        var page = RenderedPage(json: json, count: ids.count, states: ["running": ids.count], nextToken: nil, instanceIds: ids)
        page.spans = spans
        page.stateNames = Array(repeating: "running", count: ids.count)
        page.hashes = ids.map { "h-" + $0 }
        let at = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let poll = PollContext(pollId: PollContext.newPollId(account: "111", at: at), account: "111", arn: "arn:test", polledAt: at)
        #expect(throws: MongoError.self) {
            try store.write(rendered: page, slice: SliceID(account: "111", region: "eu-west-1"), poll: poll)
        }
        let events = try store.client.find(store.database, InventoryStore.events, filter: [:]).compactMap { $0["InstanceId"]?.stringValue }
        let instances = try store.client.find(store.database, InventoryStore.instances, filter: [:]).compactMap { $0["InstanceId"]?.stringValue }
        #expect(Set(events) == Set(instances))
        #expect(Set(instances) == Set(ids.prefix(InventoryStore.newPerBulk)))
    }
}
