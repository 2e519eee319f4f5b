@testable import AWSCore
@testable import CloudInventory
import Foundation
import Testing

/// Endpoints held to botocore: for every partition (a listed region and one botocore does not
/// list but the partition's regex matches), FIPS × dual-stack, every service the program
/// calls, and STS in legacy and regional mode, botocore's client sends its request to a host
/// and signs it for a region; the program must resolve the same.
@Suite struct EndpointOracleTests {
    struct Case: Sendable {
        let service: String
        let region: String
        let fips: Bool
        let dualStack: Bool
        let stsMode: STSEndpointsMode

        var json: [String: Any] {
            ["service": service, "region": region, "fips": fips, "dualstack": dualStack, "sts_mode": stsMode.rawValue]
        }
    }

    static var cases: [Case] {
        var regions: [String] = []
        for partition in EndpointTable.partitions {
            let listed = partition.regions.sorted().filter { RegionName.isValid($0) }
            regions += listed.prefix(1)
            // One the table does not list: the template path.
            if let first = listed.first {
                let parts = first.split(separator: "-")
                regions.append((parts.dropLast(2) + ["newzone", "7"]).joined(separator: "-"))
            }
        }
        regions += ["us-west-2", "eu-north-1", "ca-west-1"]  // a legacy-global STS region and two that are not
        var cases: [Case] = []
        for region in regions {
            for service in ["ec2", "sts", "organizations", "sso", "sso-oidc"] {
                for fips in [false, true] {
                    for dualStack in [false, true] {
                        for mode in service == "sts" ? STSEndpointsMode.allCases : [.regional] {
                            cases.append(Case(service: service, region: region, fips: fips, dualStack: dualStack, stsMode: mode))
                        }
                    }
                }
            }
        }
        return cases
    }

    @Test func everyPartitionVariantAndServiceResolvesAsBotocoreDoes() throws {
        let cases = Self.cases
        let input = try JSONSerialization.data(withJSONObject: cases.map(\.json))
        let result = try runPython("config_oracle.py", ["endpoints"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let answers = try parseJSON(result.stdout) as! [[String: Any]]
        #expect(answers.count == cases.count)
        var compared = 0
        for (c, answer) in zip(cases, answers) {
            var env = ["AWS_STS_REGIONAL_ENDPOINTS": c.stsMode.rawValue, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
            if c.fips { env["AWS_USE_FIPS_ENDPOINT"] = "true" }
            if c.dualStack { env["AWS_USE_DUALSTACK_ENDPOINT"] = "true" }
            let configuration = try AWSConfiguration.resolve(environment: Environment(env))
            let label = "\(c.service) \(c.region) fips=\(c.fips) dualstack=\(c.dualStack) sts=\(c.stsMode)"
            if let error = answer["error"] as? String {
                #expect(throws: ConfigurationError.self, "\(label): botocore refuses (\(error))") {
                    try configuration.endpoint(service: c.service, region: c.region)
                }
                continue
            }
            let ours = try configuration.endpoint(service: c.service, region: c.region)
            #expect(ours.host == answer["host"] as? String, "\(label): botocore \(answer)")
            if let region = answer["signing_region"] as? String, let name = answer["signing_name"] as? String {
                #expect(ours.signingRegion == region && ours.signingName == name, "\(label): botocore \(answer), ours \(ours)")
            }
            compared += 1
        }
        #expect(compared > 250)
    }

    @Test func regionsMapToPartitionsByBotocoresRules() {
        #expect(RegionName.partition("us-east-1") == "aws")
        #expect(RegionName.partition("cn-northwest-1") == "aws-cn")
        #expect(RegionName.partition("us-gov-east-1") == "aws-us-gov")
        #expect(RegionName.partition("us-iso-west-1") == "aws-iso")
        #expect(RegionName.partition("us-isob-east-1") == "aws-iso-b")
        #expect(RegionName.partition("eu-isoe-west-1") == "aws-iso-e")
        #expect(RegionName.partition("us-isof-south-1") == "aws-iso-f")
        #expect(RegionName.partition("eusc-de-east-1") == "aws-eusc")
        #expect(RegionName.partition("xx-nowhere-1") == "aws")  // no regex matches: the first partition
    }
}
