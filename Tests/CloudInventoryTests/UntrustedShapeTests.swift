@testable import AWSCore
@testable import CloudInventory
import Testing

/// Answers that are well-formed XML of the right operation but say less, or more, than EC2
/// ever does: each must either keep every instance or fail the slice, never look complete
/// while dropping something.
@Suite struct UntrustedShapeTests {
    /// A reservation with its instances in two `<instancesSet>` elements: both decoding paths
    /// keep every instance, in the same order.
    @Test func bothPathsKeepEveryInstanceOfARepeatedList() throws {
        let page = """
        <DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId>
        <instancesSet><item><instanceId>i-1</instanceId></item></instancesSet>
        <ownerId>111</ownerId>
        <instancesSet><item><instanceId>i-2</instanceId></item></instancesSet>
        </item></reservationSet></DescribeInstancesResponse>
        """
        let bytes = Array(page.utf8)
        let tree = try EC2Client.decodeInstancesPage(bytes, region: "eu-west-1")
        let rendered = try ShapeDecoder.renderInstancesPage(bytes, region: "eu-west-1")
        #expect(tree.instances.compactMap { $0["InstanceId"]?.stringValue } == ["i-1", "i-2"])
        #expect(try rendered.values() == tree.instances)
    }

    /// No `<reservationSet>` at all is no proof of an empty region: both paths throw, so the
    /// slice fails and nothing is marked vanished. An empty `<reservationSet/>` is an empty page.
    @Test(arguments: [
        "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"/>",
        "<DescribeInstancesResponse><requestId>r</requestId></DescribeInstancesResponse>",
    ])
    func aPageWithoutReservationsIsAnError(_ page: String) {
        let bytes = Array(page.utf8)
        #expect(throws: AWSError.self) { try EC2Client.decodeInstancesPage(bytes, region: "eu-west-1") }
        #expect(throws: XMLError.self) { try ShapeDecoder.renderInstancesPage(bytes, region: "eu-west-1") }
    }

    @Test func anEmptyReservationSetIsAnEmptyPage() throws {
        let bytes = Array("<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>".utf8)
        #expect(try EC2Client.decodeInstancesPage(bytes, region: "eu-west-1").instances.isEmpty)
        #expect(try ShapeDecoder.renderInstancesPage(bytes, region: "eu-west-1").count == 0)
    }

    /// DescribeRegions names become endpoint hosts: a name that is not a region name, or an
    /// endless list, fails the answer; repeats are polled once.
    @Test func regionListsAreCheckedBeforeTheyBecomeSlices() throws {
        func info(_ name: String) -> EC2Client.RegionInfo {
            EC2Client.RegionInfo(name: name, endpoint: "", optInStatus: "opt-in-not-required")
        }
        #expect(try SlicePlanner.enabled(in: [info("us-east-1"), info("us-east-1"), info("eu-west-1")]) == ["us-east-1", "eu-west-1"])
        for bad in ["evil.com#", "../../etc", "us-east-1\nX", "x@attacker.net/", String(repeating: "a", count: 300)] {
            #expect(throws: AWSError.self) { try SlicePlanner.enabled(in: [info("us-east-1"), info(bad)]) }
        }
        #expect(throws: AWSError.self) { try SlicePlanner.enabled(in: (0...SlicePlanner.maxRegions).map { _ in info("us-east-1") }) }
    }
}
