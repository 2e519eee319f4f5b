@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Foundation
import Testing

/// The AWS SDKs' configuration: profile selection, each setting's precedence (flag >
/// environment > profile > default) and source, malformed values, and the shared-file parser
/// held to botocore's configloader over a few hundred random files.
@Suite struct AWSConfigurationTests {
    /// A config file (and optionally a credentials file) in a fresh directory, and the
    /// environment that names them.
    static func files(config: String, credentials: String = "", environment: [String: String] = [:]) -> Environment {
        let dir = Harness.temporaryDirectory()
        let configPath = dir.appendingPathComponent("config").path
        let credentialsPath = dir.appendingPathComponent("credentials").path
        _ = FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8))
        _ = FileManager.default.createFile(atPath: credentialsPath, contents: Data(credentials.utf8))
        var env = environment
        env["AWS_CONFIG_FILE"] = configPath
        env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsPath
        return Environment(env)
    }

    static let profiles = """
        [default]
        region = eu-west-1
        [profile prod]
        region = ap-southeast-2
        max_attempts = 7
        retry_mode = adaptive
        use_fips_endpoint = true
        use_dualstack_endpoint = TRUE
        sts_regional_endpoints = legacy
        ca_bundle = /etc/prod-ca.pem
        ec2_metadata_service_endpoint_mode = IPv6
        metadata_service_timeout = 4
        metadata_service_num_attempts = 2
        """

    @Test func profileSelectionFollowsBotocoresOrder() throws {
        let both = AWSConfigurationTests.files(config: AWSConfigurationTests.profiles, environment: ["AWS_DEFAULT_PROFILE": "prod", "AWS_PROFILE": "default"])
        let c = try AWSConfiguration.resolve(environment: both)
        #expect(c.profileName == Setting("prod", .environment("AWS_DEFAULT_PROFILE")))
        #expect(c.warnings.count == 1 && c.warnings[0].contains("AWS_PROFILE"), "\(c.warnings)")
        let flag = try AWSConfiguration.resolve(environment: both, overrides: .init(profile: "default"))
        #expect(flag.profileName == Setting("default", .flag("--profile")) && flag.region?.value == "eu-west-1")
        let profileOnly = try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: AWSConfigurationTests.profiles, environment: ["AWS_PROFILE": "prod"]))
        #expect(profileOnly.profileName.source == .environment("AWS_PROFILE") && profileOnly.warnings.isEmpty)
        let none = try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: ""))
        #expect(none.profileName == Setting("default", .defaultValue) && !none.profileExists && none.region == nil)
    }

    /// A variable set to "" is set, as botocore reads these: the profile "" does not exist,
    /// an empty file variable names no file, an empty AWS_DEFAULT_REGION is no region name.
    @Test func emptyVariablesAreSetAsInBotocore() throws {
        let base = AWSConfigurationTests.files(config: "[default]\nregion = eu-west-1\n")
        for name in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] {
            var env = base
            env.values[name] = ""
            let error = #expect(throws: ConfigurationError.self) { try AWSConfiguration.resolve(environment: env) }
            #expect(error?.isProfileNotFound == true, "\(name)")
        }
        var noFile = base
        noFile.values["AWS_CONFIG_FILE"] = ""
        #expect(try AWSConfiguration.resolve(environment: noFile).region == nil, "no config file read, so no region")
        var emptyRegion = base
        emptyRegion.values["AWS_DEFAULT_REGION"] = ""
        let error = #expect(throws: ConfigurationError.self) { try AWSConfiguration.resolve(environment: emptyRegion) }
        #expect(error?.description.contains("AWS_DEFAULT_REGION") == true)
        emptyRegion.values["AWS_REGION"] = "us-west-2"
        #expect(try AWSConfiguration.resolve(environment: emptyRegion).region?.value == "us-west-2")
    }

    @Test func aProfileAskedForAndDefinedNowhereIsProfileNotFound() throws {
        let env = AWSConfigurationTests.files(config: AWSConfigurationTests.profiles, environment: ["AWS_PROFILE": "staging"])
        let error = #expect(throws: ConfigurationError.self) { try AWSConfiguration.resolve(environment: env) }
        #expect(error?.isProfileNotFound == true)
        #expect(error?.description.contains("\"staging\"") == true && error?.description.contains("AWS_PROFILE") == true)
        // `default` may be absent when nobody named it; named, it must exist (botocore's
        // get_scoped_config: "even if it's the default profile").
        #expect(try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: "")).profileExists == false)
        let namedDefault = #expect(throws: ConfigurationError.self) {
            try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: ""), overrides: .init(profile: "default"))
        }
        #expect(namedDefault?.isProfileNotFound == true)
        // A profile only in the credentials file exists.
        let credentialsOnly = AWSConfigurationTests.files(config: "", credentials: "[staging]\nregion = us-west-2\n", environment: ["AWS_PROFILE": "staging"])
        #expect(try AWSConfiguration.resolve(environment: credentialsOnly).region == Setting("us-west-2", .profile("staging", key: "region")))
    }

    @Test func everySettingComesFromTheProfileWithItsSource() throws {
        let c = try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: AWSConfigurationTests.profiles), overrides: .init(profile: "prod"))
        let from = { (key: String) in ConfigSource.profile("prod", key: key) }
        #expect(c.region == Setting("ap-southeast-2", from("region")))
        #expect(c.maxAttempts == Setting(7, from("max_attempts")))
        #expect(c.retryMode == Setting(.adaptive, from("retry_mode")) && c.retryPolicy.rateLimiter != nil)
        #expect(c.useFIPSEndpoint == Setting(true, from("use_fips_endpoint")))
        #expect(c.useDualStackEndpoint == Setting(true, from("use_dualstack_endpoint")))
        #expect(c.stsRegionalEndpoints == Setting(.legacy, from("sts_regional_endpoints")))
        #expect(c.caBundle == Setting("/etc/prod-ca.pem", from("ca_bundle")) && c.httpConfiguration.caBundle == "/etc/prod-ca.pem")
        #expect(c.imdsEndpointMode == Setting(.ipv6, from("ec2_metadata_service_endpoint_mode")))
        #expect(c.imdsConfiguration.endpoint == "http://[fd00:ec2::254]")
        #expect(c.imdsConfiguration.timeout == .seconds(4) && c.imdsConfiguration.maxAttempts == 2)
    }

    @Test func theEnvironmentBeatsTheProfileAndTheFlagBeatsBoth() throws {
        let env = AWSConfigurationTests.files(config: AWSConfigurationTests.profiles, environment: [
            "AWS_PROFILE": "prod", "AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1", "AWS_MAX_ATTEMPTS": "5",
            "AWS_RETRY_MODE": "legacy", "AWS_USE_FIPS_ENDPOINT": "false", "AWS_USE_DUALSTACK_ENDPOINT": "false",
            "AWS_STS_REGIONAL_ENDPOINTS": "regional", "AWS_CA_BUNDLE": "/env-ca.pem",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1338/", "AWS_METADATA_SERVICE_TIMEOUT": "2",
            "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "4",
        ])
        let c = try AWSConfiguration.resolve(environment: env)
        #expect(c.region == Setting("us-east-2", .environment("AWS_REGION")))
        #expect(c.maxAttempts == Setting(5, .environment("AWS_MAX_ATTEMPTS")))
        #expect(c.retryMode.value == .legacy && c.retryPolicy.rateLimiter == nil)
        #expect(!c.useFIPSEndpoint.value && !c.useDualStackEndpoint.value && c.stsRegionalEndpoints.value == .regional)
        #expect(c.caBundle == Setting("/env-ca.pem", .environment("AWS_CA_BUNDLE")))
        // An explicit endpoint wins over the IPv6 mode, as in botocore.
        #expect(c.imdsConfiguration.endpoint == "http://127.0.0.1:1338" && c.imdsConfiguration.maxAttempts == 4)
        var defaultRegion = env.values
        defaultRegion["AWS_REGION"] = nil
        #expect(try AWSConfiguration.resolve(environment: Environment(defaultRegion)).region == Setting("us-west-1", .environment("AWS_DEFAULT_REGION")))
        let flags = try AWSConfiguration.resolve(environment: env, overrides: .init(regions: ["sa-east-1"], maxAttempts: 2))
        #expect(flags.region == Setting("sa-east-1", .flag("--region")) && flags.maxAttempts == Setting(2, .flag("--max-attempts")))
    }

    @Test func defaultsAreTheSDKs() throws {
        let c = try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: ""))
        #expect(c.maxAttempts == Setting(3, .defaultValue) && c.retryMode == Setting(.standard, .defaultValue))
        #expect(c.stsRegionalEndpoints.value == .regional && !c.useFIPSEndpoint.value && !c.ignoreConfiguredEndpointURLs.value)
        #expect(c.imdsConfiguration.endpoint == "http://169.254.169.254" && c.caBundle == nil)
    }

    @Test(arguments: [
        ("max_attempts = abc", "profile default max_attempts"), ("max_attempts = 0", "profile default max_attempts"),
        ("retry_mode = fast", "profile default retry_mode"), ("retry_mode = Standard", "profile default retry_mode"),
        ("use_fips_endpoint = maybe", "profile default use_fips_endpoint"), ("sts_regional_endpoints = global", "profile default sts_regional_endpoints"),
        ("region = us east 1", "profile default region"), ("ec2_metadata_service_endpoint_mode = ipv5", "profile default ec2_metadata_service_endpoint_mode"),
        ("metadata_service_timeout = -1", "profile default metadata_service_timeout"),
        ("ec2_metadata_service_endpoint = not a url", "profile default ec2_metadata_service_endpoint"),
    ])
    func aMalformedSettingNamesItselfAndWhereItCameFrom(line: String, source: String) throws {
        let error = #expect(throws: ConfigurationError.self) { try AWSConfiguration.resolve(environment: AWSConfigurationTests.files(config: "[default]\n\(line)\n")) }
        #expect(error?.isProfileNotFound == false)
        #expect(error?.description.hasPrefix(source) == true, "\(String(describing: error))")
        let env = AWSConfigurationTests.files(config: "", environment: ["AWS_USE_DUALSTACK_ENDPOINT": "yes"])
        let fromEnv = #expect(throws: ConfigurationError.self) { try AWSConfiguration.resolve(environment: env) }
        #expect(fromEnv?.description.hasPrefix("AWS_USE_DUALSTACK_ENDPOINT") == true)
    }

    @Test func endpointOverridesFollowBotocoresOrder() throws {
        let config = """
            [profile p]
            endpoint_url = http://profile:1
            services = local
            [services local]
            ec2 =
              endpoint_url = http://services-ec2:2
            sso_oidc =
              endpoint_url = http://services-oidc:3
            """
        let env = AWSConfigurationTests.files(config: config, environment: ["AWS_PROFILE": "p"])
        let c = try AWSConfiguration.resolve(environment: env)
        #expect(try c.endpoint(service: "ec2", region: "us-east-1").url == "http://services-ec2:2")
        #expect(try c.endpoint(service: "sso-oidc", region: "us-east-1").url == "http://services-oidc:3")
        #expect(try c.endpoint(service: "sts", region: "us-east-1").url == "http://profile:1")
        var withEnv = env.values
        withEnv["AWS_ENDPOINT_URL"] = "http://global:4/"
        #expect(try AWSConfiguration.resolve(environment: Environment(withEnv)).endpoint(service: "ec2", region: "us-east-1").url == "http://global:4")
        withEnv["AWS_ENDPOINT_URL_EC2"] = "http://env-ec2:5"
        #expect(try AWSConfiguration.resolve(environment: Environment(withEnv)).endpoint(service: "ec2", region: "us-east-1").url == "http://env-ec2:5")
        withEnv["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        let ignored = try AWSConfiguration.resolve(environment: Environment(withEnv)).endpoint(service: "ec2", region: "us-east-1")
        #expect(ignored.url == "https://ec2.us-east-1.amazonaws.com")
        let missing = AWSConfigurationTests.files(config: "[default]\nservices = nowhere\n")
        let error = #expect(throws: ConfigurationError.self) { try AWSConfiguration.resolve(environment: missing).endpoint(service: "ec2", region: "us-east-1") }
        #expect(error?.description.contains("nowhere") == true)
    }

    @Test func adaptiveModeRateLimitsAfterAThrottle() {
        let flag = CancellationFlag()
        let limiter = AdaptiveRateLimiter()
        for _ in 0..<5 { limiter.acquire(cancellation: flag) }
        #expect(limiter.waitCount == 0 && !limiter.isEnabled)
        limiter.record(throttled: true)
        for _ in 0..<3 { limiter.acquire(cancellation: flag) }
        #expect(limiter.isEnabled && limiter.waitCount >= 1)
        #expect(RetryPolicy(mode: .standard).rateLimiter == nil)
    }

    // MARK: the shared-file parser against botocore's configloader

    @Test func theSharedFileParserAgreesWithBotocore() throws {
        let result = try runPython("config_oracle.py", ["files", "20261125", "400"])
        #expect(result.status == 0, "\(result.stderr)")
        let cases = try parseJSON(result.stdout) as! [[String: Any]]
        #expect(cases.count == 400)
        var agreed = 0
        for entry in cases {
            let bytes = Array(Data(base64Encoded: entry["bytes"] as! String)!)
            let text = String(decoding: bytes, as: UTF8.self)
            let ours: SharedConfiguration?
            do {
                var shared = SharedConfiguration(configPath: "config", credentialsPath: "credentials")
                shared.takeConfigFile(try SharedConfigFile.parse(bytes, path: "config"))
                ours = shared
            } catch {
                ours = nil
            }
            guard entry["ok"] as! Bool else {
                #expect(ours == nil, "botocore refuses (\(entry["error"]!)) but we read:\n\(text)")
                if ours == nil { agreed += 1 }
                continue
            }
            guard let ours else {
                Issue.record("botocore reads it but we refuse:\n\(text)")
                continue
            }
            let same = Self.same(ours.configProfiles, entry["profiles"]) && Self.same(ours.ssoSessions, entry["sso_sessions"])
                && Self.same(ours.services, entry["services"])
            #expect(same, "differs from botocore:\n\(text)\nbotocore: \(entry)")
            if same { agreed += 1 }
        }
        #expect(agreed == cases.count)
    }

    static func same(_ ours: [String: ConfigSection], _ theirs: Any?) -> Bool {
        guard let theirs = theirs as? [String: [String: Any]], Set(theirs.keys) == Set(ours.keys) else { return false }
        for (name, section) in ours {
            var expected: [String: String] = [:]
            var nested: [String: [String: String]] = [:]
            for (key, value) in theirs[name]! {
                if let text = value as? String { expected[key] = text } else if let map = value as? [String: String] { nested[key] = map } else { return false }
            }
            if expected != section.settings || nested != section.subsections { return false }
        }
        return true
    }
}
