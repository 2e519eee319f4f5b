@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Testing

/// The pieces of `--org-role` that need no peer: account selection, role names and ARNs,
/// the endpoint per partition, and the readers of JSON-protocol answers.
@Suite struct OrganizationUnitTests {
    typealias Account = OrganizationsClient.Account

    @Test func stateDecidesWhenPresentElseStatus() {
        let listed = [
            Account(id: "000000000001", status: "ACTIVE", state: "ACTIVE"),
            Account(id: "000000000002", status: "ACTIVE", state: "PENDING_CLOSURE"),
            Account(id: "000000000003", status: "SUSPENDED"),
            Account(id: "000000000004", state: "ACTIVE"),
            Account(id: "000000000005", status: "ACTIVE"),
            Account(id: "000000000006"),
            Account(id: "000000000007", state: "CLOSED"),
        ]
        let listing = OrganizationListing(listed: listed, skip: ["000000000004", "000000000003", "999999999999"])
        #expect(listing.polled == ["000000000001", "000000000005"])
        #expect(listing.skipped == ["000000000004"])
        #expect(listing.inactive.map(\.id) == ["000000000002", "000000000003", "000000000006", "000000000007"])
        #expect(listing.unknownSkips == ["999999999999"])
        #expect(listing.summary.contains("000000000006 (unknown)"))
    }

    @Test func roleNamesAndArns() {
        #expect(OrganizationPolling.problem(withRoleName: "inventory-reader") == nil)
        #expect(OrganizationPolling.problem(withRoleName: "ops/team/inventory+reader=,.@_-") == nil)
        #expect(OrganizationPolling.problem(withRoleName: String(repeating: "r", count: 64)) == nil)
        #expect(OrganizationPolling.problem(withRoleName: "arn:aws:iam::123456789012:role/x")?.contains("is an ARN") == true)
        for bad in ["", "/x", "x/", "a//b", "white space", "ünï", String(repeating: "r", count: 65), "a:b"] {
            #expect(OrganizationPolling.problem(withRoleName: bad) != nil, "\(bad)")
        }
        #expect(OrganizationPolling.roleArn(partition: "aws-us-gov", account: "123456789012", name: "ops/r")
            == "arn:aws-us-gov:iam::123456789012:role/ops/r")
        #expect(OrganizationPolling.partition(ofArn: "arn:aws-cn:sts::123456789012:assumed-role/r/s") == "aws-cn")
        #expect(OrganizationPolling.partition(ofArn: "arn:aws:iam::123456789012:user/u") == "aws")
        #expect(OrganizationPolling.partition(ofArn: "not-an-arn") == nil)
        #expect(OrganizationPolling.partition(ofArn: "arn:gcp:x") == nil)
    }

    /// botocore's endpoint data: one global endpoint per partition, signed for its home region.
    @Test(arguments: [
        ("aws", "https://organizations.us-east-1.amazonaws.com", "us-east-1"),
        ("aws-cn", "https://organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"),
        ("aws-us-gov", "https://organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
    ])
    func endpointPerPartition(partition: String, url: String, region: String) {
        let endpoint = OrganizationsClient.endpoint(partition: partition, environment: Environment([:]))
        #expect(endpoint.url == url)
        #expect(endpoint.region == region)
        #expect(endpoint.service == "organizations")
    }

    @Test func endpointOverridesKeepThePartitionsSigningRegion() {
        let specific = OrganizationsClient.endpoint(partition: "aws-cn", environment: Environment([
            "AWS_ENDPOINT_URL_ORGANIZATIONS": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"]))
        #expect(specific.url == "http://127.0.0.1:1")
        #expect(specific.region == "cn-northwest-1")
        let general = OrganizationsClient.endpoint(partition: "aws", environment: Environment(["AWS_ENDPOINT_URL": "http://127.0.0.1:2"]))
        #expect(general.url == "http://127.0.0.1:2")
    }

    @Test func jsonErrorCodesAsBotocoreReadsThem() {
        #expect(AWSJSONClient.errorCode("AWSOrganizationsNotInUseException") == "AWSOrganizationsNotInUseException")
        #expect(AWSJSONClient.errorCode("com.amazonaws.organizations#AccessDeniedException") == "AccessDeniedException")
        #expect(AWSJSONClient.errorCode("TooManyRequestsException:http://internal.amazon.com/") == "TooManyRequestsException")
        let response = HTTPResponse(status: 400, headers: [("x-amzn-RequestId", "rid")],
                                    body: Array(#"{"__type":"a.b#TooManyRequestsException","Message":"slow down"}"#.utf8))
        let error = AWSJSONClient.error(from: response, operation: "organizations:ListAccounts")
        #expect(error.errorCode == "TooManyRequestsException")
        #expect(error.isThrottling && error.isRetryable)
        #expect(error.message == "slow down" && error.requestId == "rid")
        let html = AWSJSONClient.error(from: HTTPResponse(status: 502, headers: [], body: Array("<html>".utf8)), operation: "o")
        #expect(html.errorCode == "HTTP502" && html.isRetryable)
        let header = AWSJSONClient.error(from: HTTPResponse(status: 400, headers: [("X-Amzn-ErrorType", "ThrottlingException:http://x")], body: []),
                                         operation: "o")
        #expect(header.errorCode == "ThrottlingException")
    }

    /// Only a JSON object without `__type` is a success.
    @Test func onlyAnObjectWithoutTypeIsASuccess() {
        func verify(_ body: String) -> AWSError? {
            do {
                _ = try AWSJSONClient.verify(HTTPResponse(status: 200, headers: [], body: Array(body.utf8)), operation: "o")
                return nil
            } catch { return error }
        }
        #expect(verify(#"{"Accounts":[]}"#) == nil)
        #expect(verify("")?.description.contains("unreadable response") == true)
        #expect(verify("[]")?.description.contains("expected a JSON object") == true)
        #expect(verify(#"{"Accounts":["#)?.description.contains("unreadable response") == true)
        #expect(verify(#"{"__type":"InternalFailure","message":"m"}"#)?.errorCode == "InternalFailure")
        #expect(verify(String(repeating: "[", count: 10_000)) != nil)
    }

    @Test func pagesAreReadStrictly() throws {
        func page(_ text: String) throws(AWSError) -> (accounts: [Account], nextToken: String?) {
            guard case let .object(members)? = try? JSONValue.parse(Array(text.utf8)) else { throw AWSError.malformed("o", "test input") }
            return try OrganizationsClient.page(members, operation: "o")
        }
        let ok = try page(#"{"Accounts":[{"Id":"123456789012","Name":"n","Status":"ACTIVE","State":"ACTIVE"}],"NextToken":"t"}"#)
        #expect(ok.accounts == [Account(id: "123456789012", name: "n", status: "ACTIVE", state: "ACTIVE")])
        #expect(ok.nextToken == "t")
        #expect(try page(#"{"Accounts":[],"NextToken":null}"#).nextToken == nil)
        for bad in [#"{}"#, #"{"Accounts":{}}"#, #"{"Accounts":[{"Name":"x"}]}"#, #"{"Accounts":[{"Id":"12345678901"}]}"#,
                    #"{"Accounts":[{"Id":"../../x"}]}"#, #"{"Accounts":[{"Id":123456789012}]}"#, #"{"Accounts":[],"NextToken":5}"#,
                    #"{"Accounts":[],"NextToken":""}"#] {
            #expect(throws: AWSError.self, "\(bad)") { try page(bad) }
        }
    }
}
