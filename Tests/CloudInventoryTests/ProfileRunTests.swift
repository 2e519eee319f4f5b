import Foundation
import Testing

/// The poller binary with shared files, against moto, the strict IMDS server and the TLS
/// front: the profile's region and CA bundle are used, `--check` and the info line say where
/// things came from, a missing profile is exit 3 and a malformed setting exit 2, one line each.
@Suite struct ProfileRunTests {
    /// The world's environment with the shared files moved to a fresh directory.
    static func environment(_ world: World, config: String, credentials: String = "", endpoint: String? = nil) -> [String: String] {
        let dir = Harness.temporaryDirectory()
        let configPath = dir.appendingPathComponent("config").path
        let credentialsPath = dir.appendingPathComponent("credentials").path
        _ = FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8))
        _ = FileManager.default.createFile(atPath: credentialsPath, contents: Data(credentials.utf8))
        var env = world.pollerEnvironment(endpoint: endpoint)
        env["AWS_CONFIG_FILE"] = configPath
        env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsPath
        return env
    }

    static func failureLines(_ result: ProcessResult) -> [Substring] {
        result.stderr.split(separator: "\n").filter { $0.contains("inventory-poller:") }
    }

    @Test func theProfilesRegionIsPolledAndTheInfoLineSaysWhereFrom() async throws {
        let world = try await World.shared()
        var env = Self.environment(world, config: "[default]\nregion = eu-west-1\n[profile ops]\nregion = ap-southeast-2\n")
        env["AWS_PROFILE"] = "ops"
        let result = try world.poll(["--format", "ndjson", "--log-level", "info"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == world.counts["ap-southeast-2"]!)
        let info = result.stderr.split(separator: "\n").filter { $0.contains("configuration") }
        #expect(info.count == 1, "\(result.stderr)")
        #expect(info.first?.contains("ops (AWS_PROFILE)") == true && info.first?.contains("profile ops region") == true, "\(info)")
    }

    @Test func checkNamesTheProfileRegionSourceAndEndpoints() async throws {
        let world = try await World.shared()
        let env = Self.environment(world, config: "[profile ops]\nregion = ap-southeast-2\nmax_attempts = 2\n")
        let result = try world.poll(["--check", "--profile", "ops"], environment: env)
        #expect(result.lines.contains { $0.hasPrefix("[ok]   profile") && $0.contains("ops (from --profile; no credential settings") }, "\(result.stdout)")
        // A profile with only `region` goes on down the chain, to the instance role here.
        #expect(result.lines.contains { $0.hasPrefix("[ok]   credentials") && $0.contains("instance metadata") }, "\(result.stdout)")
        #expect(result.lines.contains { $0.contains("region") && $0.contains("ap-southeast-2 (from profile ops region)") }, "\(result.stdout)")
        #expect(result.lines.contains { $0.contains("endpoint") && $0.contains("ec2: \(world.motoURL)") && $0.contains("AWS_ENDPOINT_URL") },
                "\(result.stdout)")
        #expect(result.lines.contains { $0.contains("endpoint") && $0.contains("sts: ") }, "\(result.stdout)")
    }

    @Test func aProfileThatDoesNotExistIsExit3WithOneLine() async throws {
        let world = try await World.shared()
        var env = Self.environment(world, config: "[profile ops]\nregion = ap-southeast-2\n")
        for (arguments, variable) in [(["--profile", "nosuch"], nil), ([], "AWS_PROFILE"), ([], "AWS_DEFAULT_PROFILE")] as [([String], String?)] {
            if let variable { env[variable] = "nosuch" }
            let result = try world.poll(arguments + ["--region", "ap-southeast-2"], environment: env)
            #expect(result.status == 3, "\(result.stderr)")
            #expect(result.lines.isEmpty)
            let lines = Self.failureLines(result)
            #expect(lines.count == 1 && lines[0].contains("\"nosuch\"") && lines[0].contains(env["AWS_CONFIG_FILE"]!), "\(result.stderr)")
            if let variable { env[variable] = nil }
        }
    }

    @Test(arguments: [
        ("[default]\nmax_attempts = abc\n", "profile default max_attempts"),
        ("[default]\nretry_mode = fast\n", "profile default retry_mode"),
        ("[default]\nuse_fips_endpoint = maybe\n", "profile default use_fips_endpoint"),
        ("[default]\nregion = nowhere\n", "profile default region"),
        ("[default]\nservices = missing\n", "missing"),
        ("[default]\nregion = us-east-1\nregion = eu-west-1\n", "appears twice"),
        ("region = us-east-1\n", "before the first [section]"),
    ])
    func aMalformedSettingOrFileIsExit2WithOneLine(config: String, named: String) async throws {
        let world = try await World.shared()
        var env = Self.environment(world, config: config)
        // No endpoint variable, so the services section is consulted; every case fails before
        // any AWS call.
        env["AWS_ENDPOINT_URL"] = nil
        let result = try world.poll([], environment: env)
        #expect(result.status == 2, "\(result.stderr)")
        let lines = Self.failureLines(result)
        #expect(lines.count == 1 && lines[0].contains(named), "\(result.stderr)")
        #expect(result.lines.isEmpty)
    }

    @Test func theProfilesCABundleIsTrustedOverHTTPS() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        let env = Self.environment(world, config: "[default]\nca_bundle = \(front.caBundle)\n", endpoint: front.url(front.good))
        let result = try world.poll(["--region", "ap-southeast-2", "--format", "ndjson"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == world.counts["ap-southeast-2"]!)
        let missing = Self.environment(world, config: "[default]\nca_bundle = /nonexistent/ca.pem\n", endpoint: front.url(front.good))
        let refused = try world.poll(["--region", "ap-southeast-2"], environment: missing)
        #expect(refused.status == 2 && Self.failureLines(refused).first?.contains("profile default ca_bundle") == true, "\(refused.stderr)")
    }

    /// `retry_mode = adaptive`: after a throttle, sends wait for the shared token bucket
    /// (counted from the log); in standard mode none does. The same requests reach the proxy.
    @Test func adaptiveRetryModeRateLimitsAfterAThrottle() async throws {
        let world = try await World.shared()
        var waits: [String: Int] = [:]
        for mode in ["standard", "adaptive"] {
            let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "eu-west-1", "times": 2, "fault": "throttle"]])
            let env = Self.environment(world, config: "[default]\nretry_mode = \(mode)\n", endpoint: proxy.url)
            let result = try world.poll(["--region", "eu-west-1", "--format", "ndjson", "--log-level", "debug", "--max-attempts", "3"], environment: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.count == world.counts["eu-west-1"]!)
            waits[mode] = result.stderr.split(separator: "\n").filter { $0.contains("client-side rate limit") }.count
        }
        #expect(waits["standard"] == 0)
        #expect((waits["adaptive"] ?? 0) >= 1, "\(waits)")
    }

    /// The strict IMDS server on the IPv6 loopback, named in the profile as `http://[::1]:port`:
    /// credentials and region come through it. Skipped where the host has no `::1`.
    @Test func anIPv6IMDSEndpointFromTheProfileIsUsed() async throws {
        let world = try await World.shared()
        let credentials = String(decoding: try JSONSerialization.data(withJSONObject: world.roleCredentials), as: UTF8.self)
        let server: PythonServer
        do {
            server = try await PythonServer.start("imds_ipv6.py", ["--credentials", credentials, "--region", "ap-southeast-2"])
        } catch {
            return  // no IPv6 loopback here
        }
        defer { server.stop() }
        var env = Self.environment(world, config: "[default]\nec2_metadata_service_endpoint = http://[::1]:\(try server.port)\n")
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = nil
        let result = try world.poll(["--format", "ndjson", "--log-level", "info"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == world.counts["ap-southeast-2"]!)
        #expect(result.stderr.contains("region_from=instance metadata"), "\(result.stderr)")
    }

    @Test func theIMDSEndpointComesFromTheProfile() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS()
        var env = Self.environment(world, config: "[default]\nec2_metadata_service_endpoint = \(imds.url)\nec2_metadata_service_endpoint_mode = ipv6\n")
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = nil
        let result = try world.poll(["--region", "ap-southeast-2", "--format", "ndjson"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try world.requests(imds).contains { $0.0 == "PUT" })
    }
}
