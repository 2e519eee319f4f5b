@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Foundation
import Testing

/// An element EC2 repeats inside a structure (an instance, or an `item` of one of its lists)
/// is read by the one walk as botocore's `EC2QueryParser` reads it, and the same by all three
/// visitors: the JSON (with rows and hashes), the rows alone, and the value tree. Where
/// botocore raises, or keeps XML elements no JSON holds, every visitor throws.
@Suite struct RepeatedElementTests {
    static let region = "eu-west-1"

    /// Each case is one instance's elements, after its id; a second, plain instance follows it,
    /// so a walk read again from a repeat is seen to leave its neighbour alone.
    static let cases: [String] = [
        // Inside the instance: a scalar of each kind, a structure, a list.
        "<architecture>x86_64</architecture><architecture>arm64</architecture>",
        "<ebsOptimized>true</ebsOptimized><ebsOptimized>true</ebsOptimized>",
        "<amiLaunchIndex>1</amiLaunchIndex><amiLaunchIndex>2</amiLaunchIndex>",
        "<launchTime>2024-05-01T10:00:00.000Z</launchTime><launchTime>2024-05-02T10:00:00.000Z</launchTime>",
        "<instanceState><code>16</code><name>running</name></instanceState><instanceType>t3.micro</instanceType><instanceState><code>80</code><name>stopped</name></instanceState>",
        "<tagSet><item><key>Name</key><value>web</value></item></tagSet><instanceType>t3.micro</instanceType><tagSet><item><key>b</key><value>2</value></item></tagSet>",
        "<tagSet><item><key>a</key><value>1</value></item></tagSet><tagSet/><tagSet><item><key>c</key><value>3</value></item></tagSet>",
        // Inside an item: a scalar, a structure, a list, a boolean.
        "<tagSet><item><key>Name</key><key>other</key><value>1</value></item></tagSet>",
        "<networkInterfaceSet><item><attachment><deviceIndex>0</deviceIndex></attachment><status>in-use</status><attachment><deviceIndex>1</deviceIndex></attachment></item></networkInterfaceSet>",
        "<networkInterfaceSet><item><groupSet><item><groupId>sg-1</groupId></item></groupSet><groupSet><item><groupId>sg-2</groupId></item></groupSet></item></networkInterfaceSet>",
        "<networkInterfaceSet><item><sourceDestCheck>true</sourceDestCheck><macAddress>m</macAddress><sourceDestCheck>false</sourceDestCheck></item></networkInterfaceSet>",
        // Deeper: a structure repeated inside a structure inside an item.
        "<networkInterfaceSet><item><attachment><deviceIndex>0</deviceIndex><enaSrdSpecification><enaSrdEnabled>true</enaSrdEnabled></enaSrdSpecification><enaSrdSpecification><enaSrdEnabled>false</enaSrdEnabled></enaSrdSpecification></attachment></item></networkInterfaceSet>",
        // No repeat at all: the plain walk, for contrast.
        "<instanceType>t3.micro</instanceType><placement><availabilityZone>eu-west-1a</availabilityZone></placement>",
    ]

    static func page(_ instance: String) -> String {
        "<DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId><ownerId>111</ownerId><instancesSet>"
            + "<item><instanceId>i-1</instanceId>\(instance)</item>"
            + "<item><instanceId>i-2</instanceId><instanceState><code>16</code><name>running</name></instanceState></item>"
            + "</instancesSet></item></reservationSet></DescribeInstancesResponse>"
    }

    /// botocore's answer for each page: its instances, or nil where it fails.
    static func botocore(_ pages: [String]) throws -> [JSONValue?] {
        let input = try JSONSerialization.data(withJSONObject: pages)
        let result = try runPython("xml_oracle.py", [region], stdin: input)
        try #require(result.status == 0, "\(result.stderr)")
        let answers = try JSONValue.parse(Array(result.stdout.utf8)).arrayValue ?? []
        try #require(answers.count == pages.count)
        return answers.map { $0["error"] == nil ? $0["instances"] : nil }
    }

    @Test func everyVisitorReadsARepeatedElementAsBotocoreDoes() throws {
        let pages = Self.cases.map(Self.page)
        let answers = try Self.botocore(pages)
        for (page, answer) in zip(pages, answers) {
            let body = Array(page.utf8)
            guard let expected = answer else {
                #expect(throws: AWSError.self, "\(page)") { try EC2Client.decodeInstancesPage(body, region: Self.region) }
                #expect(throws: XMLError.self, "\(page)") { try ShapeDecoder.renderInstancesPage(body, region: Self.region, contents: [.json, .rows, .hashes]) }
                #expect(throws: XMLError.self, "\(page)") { try ShapeDecoder.renderInstancesPage(body, region: Self.region, contents: [.rows]) }
                continue
            }
            // The tree: botocore's values (key order aside: botocore's is the model's).
            let tree = try EC2Client.decodeInstancesPage(body, region: Self.region).instances
            #expect(JSONValue.array(tree).canonical == expected.canonical, "\(page)")
            // The JSON: the tree's bytes; its rows and hashes the tree's.
            let rendered = try ShapeDecoder.renderInstancesPage(body, region: Self.region, contents: [.json, .rows, .hashes])
            #expect(String(decoding: rendered.json, as: UTF8.self)
                == String(decoding: RenderedPage(values: tree, nextToken: nil, hashing: false).json, as: UTF8.self), "\(page)")
            #expect(rendered.rows == tree.map(InstanceRow.init), "\(page)")
            #expect(rendered.hashes == tree.map(InventoryStore.contentHash), "\(page)")
            #expect(rendered.instanceIds == ["i-1", "i-2"] && rendered.stateNames.count == 2)
            // The rows alone: the same rows, ids and states.
            let rows = try ShapeDecoder.renderInstancesPage(body, region: Self.region, contents: [.rows])
            #expect(rows.rows == rendered.rows && rows.states == rendered.states && rows.instanceIds == rendered.instanceIds, "\(page)")
        }
        // Each rule was met: a kept first structure, empty items for a list, false, an error.
        #expect(answers.contains(where: { $0 == nil }))
        let firsts: [JSONValue] = answers.compactMap { $0?.arrayValue?.first }
        #expect(firsts.contains { $0["Tags"] == .array([.object([]), .object([])]) })
        #expect(firsts.contains { $0["EbsOptimized"] == .bool(false) })
        #expect(firsts.contains { $0["State"]?["Name"] == .string("running") && $0["InstanceType"] != nil })
    }

    /// DescribeRegions is read by the same walk: a repeated list there is botocore's too.
    @Test func theDocumentWalkReadsRepeatsAlike() throws {
        let body = Array("<DescribeRegionsResponse><regionInfo><item><regionName>a</regionName></item></regionInfo><regionInfo/></DescribeRegionsResponse>".utf8)
        var decoder = ShapeDecoder(body)
        let value = try decoder.decodeDocument(as: EC2Model.describeRegionsResult).value
        #expect(value["Regions"] == .array([.object([]), .object([])]))
    }
}
