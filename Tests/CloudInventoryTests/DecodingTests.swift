@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

@Suite struct XMLScannerTests {
    @Test func decodesEntitiesCDATAAndCharacterReferences() throws {
        let xml = #"<?xml version="1.0" encoding="UTF-8"?><!-- c --><a x="1>2"><b>&lt;x&gt; &amp; &quot;q&quot; &apos;a&apos; &#233;&#x1F680;</b><c><![CDATA[<raw & text>]]></c><d/></a>"#
        let read = try QueryResponse.fields(Array(xml.utf8), [["b"], ["c"], ["d"], ["e"]])
        #expect(read.root == "a")
        #expect(read.values == ["<x> & \"q\" 'a' é🚀", "<raw & text>", "", nil])
    }

    @Test(arguments: [
        "<a><b>text</b>",                // truncated: no closing root
        "<a><b>text</a></b>",            // mismatched
        "<a><b>&bogus;</b></a>",         // unknown entity
        "<a><b>&#xZZ;</b></a>",          // bad character reference
        "<a><b>x<c/></b></a>",           // an element inside a value
        "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>",  // declarations are refused
        "<a><b",                         // truncated tag
        "",                              // empty
    ])
    func malformedInputIsAnErrorNotACrash(_ xml: String) {
        #expect(throws: XMLError.self) { try QueryResponse.fields(Array(xml.utf8), [["b"]]) }
    }

    @Test func truncatedDescribeInstancesPageIsAMalformedError() throws {
        let page = #"<DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-1</instanceId><tagSet><item><key>k</key>"#
        #expect(throws: AWSError.self) { try EC2Client.decodeInstancesPage(Array(page.utf8), region: "us-east-1") }
        // Cut at every byte: always an error, never a trap.
        let full = #"<DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId><ownerId>1</ownerId><instancesSet><item><instanceId>i-1</instanceId><amiLaunchIndex>0</amiLaunchIndex></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"#
        let bytes = Array(full.utf8)
        #expect(try EC2Client.decodeInstancesPage(bytes, region: "r").instances.count == 1)
        for cut in 0..<bytes.count {
            #expect(throws: AWSError.self) { try EC2Client.decodeInstancesPage(Array(bytes[..<cut]), region: "r") }
        }
    }

    @Test func shapesGiveCLITypesAndNames() throws {
        let page = """
        <DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>req</requestId>
          <reservationSet><item>
            <reservationId>r-1</reservationId><ownerId>123456789012</ownerId>
            <instancesSet><item>
              <instanceId>i-1</instanceId>
              <instanceState><code>16</code><name>running</name></instanceState>
              <launchTime>2024-05-01T10:00:00.000Z</launchTime>
              <ebsOptimized>false</ebsOptimized>
              <placement><availabilityZone>us-east-1a</availabilityZone></placement>
              <tagSet><item><key>Name</key><value/></item></tagSet>
              <somethingNew>ignored</somethingNew>
            </item></instancesSet>
          </item></reservationSet>
          <nextToken>abc+/=</nextToken>
        </DescribeInstancesResponse>
        """
        let decoded = try EC2Client.decodeInstancesPage(Array(page.utf8), region: "us-east-1")
        #expect(decoded.nextToken == "abc+/=")
        let instance = try #require(decoded.instances.first)
        #expect(instance["InstanceId"] == .string("i-1"))
        #expect(instance["State"] == .object([JSONMember("Code", .int(16)), JSONMember("Name", "running")]))
        #expect(instance["LaunchTime"] == .string("2024-05-01T10:00:00+00:00"))
        #expect(instance["EbsOptimized"] == .bool(false))
        #expect(instance["Placement"]?["AvailabilityZone"] == .string("us-east-1a"))
        #expect(instance["Tags"] == .array([.object([JSONMember("Key", "Name"), JSONMember("Value", "")])]))
        #expect(instance["Region"] == .string("us-east-1"))
        #expect(instance["ReservationId"] == .string("r-1"))
        #expect(instance["OwnerId"] == .string("123456789012"))
    }

    @Test func ec2AndSTSErrorsBecomeTypedErrors() {
        let ec2 = #"<?xml version="1.0"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors><RequestID>req-1</RequestID></Response>"#
        let e1 = QueryResponse.error(from: HTTPResponse(status: 403, headers: [], body: Array(ec2.utf8)), operation: "ec2:DescribeInstances")
        #expect(e1.errorCode == "UnauthorizedOperation")
        #expect(e1.message == "You are not authorized")
        #expect(e1.requestId == "req-1")
        #expect(!e1.isRetryable)
        let sts = #"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>req-2</RequestId></ErrorResponse>"#
        let e2 = QueryResponse.error(from: HTTPResponse(status: 400, headers: [], body: Array(sts.utf8)), operation: "sts:GetCallerIdentity")
        #expect(e2.errorCode == "Throttling")
        #expect(e2.requestId == "req-2")
        #expect(e2.isRetryable && e2.isThrottling)
        let garbage = QueryResponse.error(from: HTTPResponse(status: 503, headers: [], body: Array("<html".utf8)), operation: "ec2:X")
        #expect(garbage.isRetryable)
    }
}

@Suite struct ValueTests {
    @Test func timestamps() throws {
        let d = try #require(UTCTime.parse("2015-08-30T12:36:00Z"))
        #expect(UTCTime.amzDate(d) == "20150830T123600Z")
        #expect(UTCTime.iso8601(d) == "2015-08-30T12:36:00Z")
        #expect(UTCTime.cliTimestamp(d) == "2015-08-30T12:36:00+00:00")
        #expect(UTCTime.cliTimestamp(try #require(UTCTime.parse("2015-08-30T14:36:00.250+02:00"))) == "2015-08-30T12:36:00.250000+00:00")
        #expect(UTCTime.parse("2015-13-30T12:36:00Z") == nil)
        #expect(UTCTime.parse("yesterday") == nil)
    }

    @Test func percentEncoding() {
        #expect(PercentEncoding.encode("a b+c/d=e&f%g~h_i.j-k") == "a%20b%2Bc%2Fd%3De%26f%25g~h_i.j-k")
        #expect(PercentEncoding.encode("é東") == "%C3%A9%E6%9D%B1")
        #expect(PercentEncoding.formBody([("NextToken", "a+b/c= d")]) == "NextToken=a%2Bb%2Fc%3D+d")
    }

    @Test func jsonEscaping() {
        let v = JSONValue.object([JSONMember("k\"", .string("a\\b\n\u{01}é")), JSONMember("n", .int(-5)), JSONMember("b", .bool(true)), JSONMember("z", .null)])
        #expect(v.serialized() == #"{"k\"":"a\\b\n\u0001é","n":-5,"b":true,"z":null}"#)
    }

    @Test func credentialsNeverPrintSecrets() {
        let c = Credentials(accessKeyId: "AKIA1", secretAccessKey: "s3cr3t", sessionToken: "t0k3n", source: "environment")
        #expect(!"\(c)".contains("s3cr3t"))
        #expect(!"\(c)".contains("t0k3n"))
    }
}

@Suite struct ConfigurationTests {
    @Test func endpointOverridesFollowTheSDKs() {
        let none = Environment([:])
        #expect(ServiceEndpoint.resolve(service: "ec2", region: "eu-west-1", environment: none).url == "https://ec2.eu-west-1.amazonaws.com")
        #expect(ServiceEndpoint.resolve(service: "sts", region: "cn-north-1", environment: none).url == "https://sts.cn-north-1.amazonaws.com.cn")
        let global = Environment(["AWS_ENDPOINT_URL": "http://127.0.0.1:5000/"])
        #expect(ServiceEndpoint.resolve(service: "ec2", region: "eu-west-1", environment: global).url == "http://127.0.0.1:5000")
        #expect(ServiceEndpoint.resolve(service: "ec2", region: "eu-west-1", environment: global).host == "127.0.0.1:5000")
        let specific = Environment(["AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_EC2": "http://b:2", "AWS_ENDPOINT_URL_STS": "http://c:3"])
        #expect(ServiceEndpoint.resolve(service: "ec2", region: "x", environment: specific).url == "http://b:2")
        #expect(ServiceEndpoint.resolve(service: "sts", region: "x", environment: specific).url == "http://c:3")
    }

    @Test func regionPrecedence() throws {
        let env = Environment(["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"])
        #expect(try RegionResolver.resolve(explicit: ["us-east-1,ap-southeast-2", "us-east-1"], environment: env, imds: nil) == ["us-east-1", "ap-southeast-2"])
        #expect(try RegionResolver.resolve(explicit: [], environment: env, imds: nil) == ["eu-west-1"])
        #expect(try RegionResolver.resolve(explicit: [], environment: Environment(["AWS_DEFAULT_REGION": "us-west-2"]), imds: nil) == ["us-west-2"])
        #expect(throws: RegionResolver.Error.self) { try RegionResolver.resolve(explicit: ["us-east"], environment: env, imds: nil) }
        #expect(throws: RegionResolver.Error.self) { try RegionResolver.resolve(explicit: [], environment: Environment([:]), imds: nil) }
        #expect(RegionName.isValid("us-gov-west-1") && !RegionName.isValid("US-EAST-1") && !RegionName.isValid("us-east-1a"))
    }

    /// One parser for role ARNs, in the CLI's check and in the provider alike.
    @Test func roleARNs() throws {
        let pathWithColon = try #require(RoleARN("arn:aws-us-gov:iam::123456789012:role/team:a/poller"))
        #expect(pathWithColon.account == "123456789012" && pathWithColon.partition == "aws-us-gov")
        #expect(RoleARN("arn:aws:iam::123456789012:role/poller")?.account == "123456789012")
        for bad in ["arn:aws:iam::12345678901٢:role/x", "arn:AWS:iam::123456789012:role/x", "arn:aws:iam:us-east-1:123456789012:role/x",
                    "arn:aws:iam::123456789012:user/x", "arn:aws:sts::123456789012:role/x", "arn:aws:iam::123456789012:role/", "arn:aws:iam"] {
            #expect(RoleARN(bad) == nil, "\(bad)")
        }
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        let sts = AWSQueryClient(endpoint: ServiceEndpoint(service: "sts", region: "us-east-1", url: "http://127.0.0.1:9"),
                                 configuration: .init(apiVersion: STSClient.apiVersion), credentials: CredentialChain([]),
                                 http: http, logger: Logger(label: "test"))
        #expect(try AssumeRoleCredentialProvider(roleArn: pathWithColon.description, externalId: nil, sessionName: "s", sts: sts).account == "123456789012")
        #expect(throws: CredentialError.self) { try AssumeRoleCredentialProvider(roleArn: "arn:aws:iam::123:role/x", externalId: nil, sessionName: "s", sts: sts) }
    }

    @Test func environmentCredentials() throws {
        let full = EnvironmentCredentialProvider(environment: Environment(["AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"]))
        #expect(try full.credentials()?.sessionToken == "t")
        #expect(try EnvironmentCredentialProvider(environment: Environment([:])).credentials() == nil)
        #expect(throws: CredentialError.self) { try EnvironmentCredentialProvider(environment: Environment(["AWS_ACCESS_KEY_ID": "AKIA"])).credentials() }
        // The chain takes the environment first and never reaches IMDS.
        let chain = CredentialChain.standard(environment: Environment(["AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"]), imds: nil)
        #expect(try chain.credentials()?.source == "environment")
        #expect(throws: CredentialError.self) { try CredentialChain.standard(environment: Environment([:]), imds: nil).credentials() }
    }

    @Test func retryDelaysAreJitteredAndCapped() {
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(20))
        for attempt in 1...12 {
            let d = policy.delay(beforeRetry: attempt)
            #expect(d >= .zero && d <= .seconds(20))
        }
    }
}

@Suite struct TimestampRenderingTests {
    /// The text fast path and the date path must render every EC2 form identically.
    @Test(arguments: ["2024-05-01T10:00:00.000Z", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.123Z",
                      "2024-05-01T10:00:00.123456Z", "1999-12-31T23:59:59.999Z"])
    func fastPathMatchesTheDatePath(_ text: String) throws {
        let viaDate = UTCTime.cliTimestamp(try #require(UTCTime.parse(text)))
        #expect(UTCTime.cliTimestamp(utcText: text) == viaDate)
    }

    @Test func otherFormsFallBack() {
        #expect(UTCTime.cliTimestamp(utcText: "2024-05-01T12:00:00+02:00") == nil)
        #expect(UTCTime.cliTimestamp(utcText: "yesterday") == nil)
    }
}

@Suite struct JSONWriterTests {
    /// Strings long enough for the word-at-a-time path, with something to escape at every
    /// offset, must read back as themselves.
    @Test func escapesAtEveryOffsetRoundTrip() throws {
        for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "🚀"] {
            for offset in 0..<20 {
                let s = String(repeating: "a", count: offset) + special + String(repeating: "b", count: 19 - offset)
                let text = JSONValue.array([.string(s)]).serialized()
                let back = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String]
                #expect(back == [s], "offset \(offset) \(special.unicodeScalars.first!.value)")
                #expect(try JSONValue.parse(Array(text.utf8)) == .array([.string(s)]))
            }
        }
    }
}

@Suite struct RenderedPathTests {
    /// The rendered fast path and the value tree must give the same bytes for the same page:
    /// reservations with several instances, entities, empty values, ids after the instances.
    @Test func renderedPageEqualsTheValueTree() throws {
        let page = """
        <?xml version="1.0"?><DescribeInstancesResponse><requestId>x</requestId><reservationSet>
        <item><reservationId>r-1</reservationId><ownerId>111</ownerId><instancesSet>
          <item><instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState>
            <launchTime>2024-05-01T10:00:00.000Z</launchTime><ebsOptimized>true</ebsOptimized>
            <tagSet><item><key>a&amp;b</key><value/></item><item><key>q"uote</key><value>&lt;x&gt; é 🚀</value></item></tagSet>
            <networkInterfaceSet><item><groupSet><item><groupId>sg-1</groupId></item></groupSet><attachment><deviceIndex>0</deviceIndex></attachment></item></networkInterfaceSet>
            <unknownNewField><deep>1</deep></unknownNewField></item>
          <item><instanceId>i-2</instanceId><instanceState><code>80</code><name>stopped</name></instanceState><blockDeviceMapping/></item>
        </instancesSet></item>
        <item><instancesSet><item><instanceId>i-3</instanceId></item></instancesSet><ownerId>222</ownerId><reservationId>r-2</reservationId></item>
        </reservationSet><nextToken>abc+/=</nextToken></DescribeInstancesResponse>
        """
        let bytes = Array(page.utf8)
        let tree = try EC2Client.decodeInstancesPage(bytes, region: "eu-west-1")
        let rendered = try ShapeDecoder.renderInstancesPage(bytes, region: "eu-west-1")
        var expected: [UInt8] = []
        for (i, instance) in tree.instances.enumerated() {
            if i > 0 { expected.append(UInt8(ascii: ",")) }
            instance.write(to: &expected)
        }
        #expect(String(decoding: rendered.json, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(rendered.count == 3)
        #expect(rendered.states == ["running": 1, "stopped": 1, "unknown": 1])
        #expect(rendered.nextToken == tree.nextToken)
        #expect(try rendered.values() == tree.instances)
    }
}
