@testable import AWSCore
@testable import CloudInventory
import Foundation
import Testing

/// The response checks and the clock correction on their own, without a server.
@Suite struct QueryResponseTests {
    static let ns = "http://ec2.amazonaws.com/doc/2016-11-15/"

    func verify(_ xml: String, status: Int = 200) throws(AWSError) {
        try QueryResponse.verify(HTTPResponse(status: status, headers: [], body: Array(xml.utf8)), action: "DescribeInstances",
                                 namespace: Self.ns, operation: "ec2:DescribeInstances")
    }

    @Test(arguments: [
        #"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet/></DescribeInstancesResponse>"#,
        #"<?xml version="1.0"?><DescribeInstancesResponse xmlns='http://ec2.amazonaws.com/doc/2016-11-15'/>"#,
        "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
        #"<DescribeInstancesResponse  xmlns = "http://ec2.amazonaws.com/doc/2016-11-15/" x="1"></DescribeInstancesResponse>"#,
        // Another EC2 API version's namespace, as botocore reads it.
        #"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2014-06-15/"><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>"#,
        #"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2009-11-30"><reservationSet/></DescribeInstancesResponse>"#,
    ])
    func theOperationsOwnResponseIsAccepted(_ xml: String) throws {
        try verify(xml)
    }

    @Test(arguments: [
        "", "   ", "<html><body>portal</body></html>", "<!DOCTYPE html><html/>", "not xml at all",
        "<DescribeRegionsResponse/>", #"<DescribeInstancesResponse xmlns="http://example.com/"/>"#,
        #"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/"/>"#,
        #"<DescribeInstancesResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"/>"#,
        #"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2014-06-15/x/"/>"#,
        #"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2014-06-15/"/>"#,
        "<Response><Errors/></Response>", "<ErrorResponse/>", "<describeinstancesresponse/>",
    ])
    func anythingElseIsMalformed(_ xml: String) {
        do {
            try verify(xml)
            Issue.record("accepted \(xml)")
        } catch {
            #expect(error.errorCode == nil, "\(error)")
            #expect(error.description.contains("unreadable response"))
        }
    }

    @Test func aTwoHundredErrorDocumentKeepsItsCode() {
        let xml = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>r</RequestID></Response>"
        do {
            try verify(xml)
            Issue.record("accepted")
        } catch {
            #expect(error.errorCode == "RequestLimitExceeded")
            #expect(error.httpStatus == 200)
            #expect(error.isRetryable)
        }
    }

    @Test func fieldsStreamAnyDepthAndRejectElementsInValues() throws {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        let doc = "<R><X><Code>C</Code><Other>\(deep)</Other></X><Id>1</Id></R>"
        let values = try QueryResponse.fields(Array(doc.utf8), [["X", "Code"], ["Id"], ["Missing"]]).values
        #expect(values == ["C", "1", nil])
        #expect(throws: XMLError.self) { try QueryResponse.fields(Array("<R><Id>1<b/></Id></R>".utf8), [["Id"]]) }
        #expect(try QueryResponse.fields(Array("<R><Id>1<b/>2</Id></R>".utf8), [["Id"]], lenient: true).values == ["12"])
        #expect(throws: XMLError.self) { try QueryResponse.fields(Array("<R><Id>1</Id>".utf8), [["Id"]]) }
        #expect(throws: XMLError.self) { try QueryResponse.fields(Array("<R><Id>1</Od></R>".utf8), [["Id"]]) }
    }

    @Test func httpDates() throws {
        let d = try #require(UTCTime.parseHTTPDate("Wed, 25 Nov 2026 17:25:23 GMT"))
        #expect(UTCTime.iso8601(d) == "2026-11-25T17:25:23Z")
        for bad in ["", "Wed, 25 Nov 2026 17:25:23 UTC", "Wed, 25 Foo 2026 17:25:23 GMT", "Wed, 32 Nov 2026 17:25:23 GMT",
                    "2026-11-25T17:25:23Z", "Wed, 25 Nov 2026 17:25 GMT"] {
            #expect(UTCTime.parseHTTPDate(bad) == nil, "\(bad)")
        }
    }

    @Test func theClockIsCorrectedOnlyForARealSkew() {
        let host = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = SigningClock(host: { host })
        // Clocks in agreement: no correction, no retry.
        var r = clock.correct(serverDate: host.addingTimeInterval(30), signedAt: host, offsetUsed: 0)
        #expect(!r.retry && r.changed == nil && clock.offset == 0)
        // An hour off: learned, retried, reported once.
        r = clock.correct(serverDate: host.addingTimeInterval(3600), signedAt: host, offsetUsed: 0)
        #expect(r.retry && r.changed == 3600 && clock.offset == 3600)
        #expect(clock.now().date == host.addingTimeInterval(3600))
        // A second slice signed with the old offset: retried, not reported again.
        r = clock.correct(serverDate: host.addingTimeInterval(3601), signedAt: host, offsetUsed: 0)
        #expect(r.retry && r.changed == nil)
        // Signed with the corrected clock and still refused: not skew, no retry.
        r = clock.correct(serverDate: host.addingTimeInterval(3600), signedAt: host.addingTimeInterval(3600), offsetUsed: 3600)
        #expect(!r.retry && r.changed == nil)
    }
}
